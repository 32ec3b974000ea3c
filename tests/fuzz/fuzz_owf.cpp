// Fuzz target for the .owf reader: opens the input as a file, reads (a bounded
// part of) every tensor and verifies small models. Errors are expected;
// crashes, sanitizer reports and hangs are not.
#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_format.h"
#include "owf/container.h"

namespace {

void open_and_read(const std::uint8_t* data, std::size_t size) {
  owf::fuzz::with_memory_file(data, size, [](const std::string& path) {
    auto reader = owf::Reader::open(path);
    if (reader.ok()) owf::fuzz::read_everything(**reader);
  });
}

std::uint64_t load_u64(const std::uint8_t* p) {
  std::uint64_t value;
  std::memcpy(&value, p, 8);  // the fuzzer runs on little-endian machines, as the format is
  return value;
}

// The input with the header checksum (spec §3, offset 40) and the preamble
// checksum (offset 56) made right, where the preamble locates a header.
std::vector<std::uint8_t> with_checksums_fixed(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> fixed(data, data + size);
  const std::uint64_t header_offset = load_u64(data + 16), header_length = load_u64(data + 24);
  if (header_offset <= size && header_length <= size - header_offset) {
    const std::uint64_t checksum = XXH3_64bits(data + header_offset, header_length);
    std::memcpy(fixed.data() + 40, &checksum, 8);
  }
  const std::uint64_t checksum = XXH3_64bits(fixed.data(), 56);
  std::memcpy(fixed.data() + 56, &checksum, 8);
  return fixed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  open_and_read(data, size);
  // Nearly every mutation of a preamble or header breaks a checksum, which the
  // reader checks first; the same input with them recomputed reaches the parsers behind.
  if (size >= 64) {
    const std::vector<std::uint8_t> fixed = with_checksums_fixed(data, size);
    if (std::memcmp(fixed.data(), data, size) != 0) open_and_read(fixed.data(), fixed.size());
  }
  return 0;
}
