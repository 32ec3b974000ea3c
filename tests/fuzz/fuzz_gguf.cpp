// Fuzz target for the GGUF reader: header, key-values, tensor infos, offsets and padding through
// the adapter, then reads of every tensor. For every input that parses it also checks the
// property byte-exact round trips rest on: the key-values, alignment and end padding survive the
// trip through owf metadata JSON unchanged (a difference aborts, which the fuzzer reports).
#include <cstdlib>

#include "fuzz_format.h"
#include "gguf/gguf.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_model.h"

namespace {

std::vector<std::byte> encode(const std::vector<owf::formats::gguf::KeyValue>& kvs) {
  std::vector<std::byte> bytes;
  for (const auto& kv : kvs) owf::formats::gguf::append_key_value(bytes, kv);
  return bytes;
}

void check_metadata_round_trip(const std::uint8_t* data, std::size_t size) {
  namespace gguf = owf::formats::gguf;
  const auto layout = gguf::check_gguf(std::as_bytes(std::span(data, size)));
  if (!layout.ok()) return;
  const auto metadata = gguf::owf_metadata_from_gguf(*layout);
  if (!metadata.ok()) return;  // a key that is not UTF-8 cannot be carried by JSON
  const auto back = gguf::gguf_layout_from_owf(*metadata);
  if (!back.ok() || back->alignment != layout->alignment || back->tail_padding != layout->tail_padding ||
      encode(back->kvs) != encode(layout->kvs)) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto format = owf::formats::make_gguf_format();
  owf::fuzz::open_and_read(*format, data, size);
  check_metadata_round_trip(data, size);
  return 0;
}
