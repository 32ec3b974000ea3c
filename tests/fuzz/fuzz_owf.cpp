// Fuzz target for the .owf reader: opens the input as a file, reads (a bounded
// part of) every tensor and verifies small models. Errors are expected;
// crashes, sanitizer reports and hangs are not.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_format.h"
#include "owf/container.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  owf::fuzz::with_memory_file(data, size, [](const std::string& path) {
    auto reader = owf::Reader::open(path);
    if (reader.ok()) owf::fuzz::read_everything(**reader);
  });
  return 0;
}
