// Shared body of the reader fuzz targets (the owf container and the format
// adapters): the input becomes an in-memory file, is opened, and every tensor
// is read and inspected.
// Errors are expected; crashes, sanitizer reports and hangs are not.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "owf/format.h"

namespace owf::fuzz {

// A prefix and the last bytes of each tensor are read: enough to run every
// decoding path without letting a header that claims terabytes allocate them.
constexpr std::uint64_t kMaxReadBytes = 64u << 10;
// verify() reads whole tensors; only small models get it.
constexpr std::uint64_t kMaxVerifyBytes = 1u << 20;

// Writes the input into an anonymous in-memory file and passes its path to
// `use` (openers need a path; /proc/self/fd gives one).
template <typename Use>
void with_memory_file(const std::uint8_t* data, std::size_t size, Use&& use) {
  const int fd = ::memfd_create("owf_fuzz", MFD_CLOEXEC);
  if (fd < 0) return;
  std::size_t written = 0;
  while (written < size) {
    const ssize_t n = ::write(fd, data + written, size - written);
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  if (written == size) use("/proc/self/fd/" + std::to_string(fd));
  ::close(fd);
}

// Reads a bounded prefix and the tail of every tensor, asks for its view,
// encoding and stored size, and verifies small models.
inline void read_everything(const Model& m) {
  std::vector<std::byte> buffer;
  for (std::size_t i = 0; i < m.tensors().size(); ++i) {
    const std::uint64_t byte_size = m.tensors()[i].byte_size;
    buffer.resize(std::min(byte_size, kMaxReadBytes));
    (void)m.read(i, 0, buffer);
    (void)m.read(i, byte_size - buffer.size() / 2, std::span(buffer).first(buffer.size() / 2));
    (void)m.view(i);
    (void)m.encoding(i);
    (void)m.stored_size(i);
  }
  if (m.total_bytes() <= kMaxVerifyBytes) {
    std::vector<Problem> problems;
    m.verify(problems);
  }
}

// Opens the input through `format` and reads everything of what opens.
inline void open_and_read(const Format& format, const std::uint8_t* data, std::size_t size) {
  with_memory_file(data, size, [&format](const std::string& path) {
    auto model = format.open(path, {});
    if (model.ok()) read_everything(**model);
  });
}

}  // namespace owf::fuzz
