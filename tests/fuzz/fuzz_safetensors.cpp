// Fuzz target for the safetensors reader: header length, JSON, dtypes, shapes
// and data offsets of one file, then reads of every tensor.
#include "fuzz_format.h"
#include "safetensors/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto format = owf::formats::make_safetensors_format();
  owf::fuzz::open_and_read(*format, data, size);
  return 0;
}
