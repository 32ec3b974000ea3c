// Fuzz target for the .owf reader: opens the input as a file, reads (a bounded
// prefix of) every tensor and runs verify(). Errors are expected; crashes,
// sanitizer reports and hangs are not.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "owf/container.h"

namespace {

// Reading a prefix of each tensor exercises the decoders without letting a
// header that claims terabytes make the fuzzer allocate them.
constexpr std::uint64_t kMaxReadBytes = 1u << 20;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An anonymous in-memory file: Reader::open needs a path, and /proc/self/fd gives one.
  const int fd = ::memfd_create("fuzz_owf", MFD_CLOEXEC);
  if (fd < 0) return 0;
  std::size_t written = 0;
  while (written < size) {
    const ssize_t n = ::write(fd, data + written, size - written);
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  if (written == size) {
    auto reader = owf::Reader::open("/proc/self/fd/" + std::to_string(fd));
    if (reader.ok()) {
      const owf::Reader& model = **reader;
      std::vector<std::byte> buffer;
      for (std::size_t i = 0; i < model.tensors().size(); ++i) {
        buffer.resize(std::min(model.tensors()[i].byte_size, kMaxReadBytes));
        (void)model.read(i, 0, buffer);
        (void)model.view(i);
        (void)model.encoding(i);
      }
      std::vector<owf::Problem> problems;
      model.verify(problems);
    }
  }
  ::close(fd);
  return 0;
}
