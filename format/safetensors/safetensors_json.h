// The JSON side of the safetensors adapter: the file header, the shard index
// (model.safetensors.index.json) and the mapping between `__metadata__` and owf
// metadata. Its .cpp is the only file of the adapter that includes a JSON
// library; the interface works on text and plain structs.
//
// A safetensors file is
//   [u64 LE: N] [N bytes: UTF-8 JSON object, padded with spaces] [data section]
// where the object maps tensor names to {"dtype", "shape", "data_offsets":
// [begin, end]} (offsets relative to the data section) and the optional key
// "__metadata__" holds a string -> string map.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "owf/status.h"

namespace owf::formats::safetensors {

// String pairs sorted by key: the `__metadata__` map.
using StringMap = std::vector<std::pair<std::string, std::string>>;

// One tensor entry of a header, as written (not yet checked against the data).
struct HeaderEntry {
  std::string name;
  std::string dtype;  // safetensors spelling, e.g. "F32"
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0;  // data_offsets, relative to the data section
  std::uint64_t end = 0;
};

struct Header {
  StringMap metadata;                // empty when absent or null
  std::vector<HeaderEntry> tensors;  // in header order
};

// Parses header text that starts at file offset `base_offset` of `where`.
// Refuses invalid JSON (naming the offset), duplicate keys at any level,
// nesting deeper than the structure allows, entries that are not
// {dtype, shape, data_offsets}, non-integer or negative dims and offsets.
Result<Header> parse_header(std::string_view text, std::uint64_t base_offset, std::string_view where);

// The header text of `tensors` (in the given order) with `metadata`, not padded.
Result<std::string> header_text(const StringMap& metadata, const std::vector<HeaderEntry>& tensors);

// A shard index: which shard file holds each tensor.
struct Index {
  std::vector<std::pair<std::string, std::string>> weight_map;  // tensor -> shard, sorted by tensor
  std::string metadata_json;  // the index's "metadata" object minus total_size ("{}" if none)
};

Result<Index> parse_index(std::string_view text, std::string_view where);

// The index text Hugging Face writes: {"metadata": {"total_size": N}, "weight_map": {...}}.
Result<std::string> index_text(std::uint64_t total_size,
                               const std::vector<std::pair<std::string, std::string>>& weight_map);

// `__metadata__` -> owf metadata JSON (spec/formats/safetensors.md): every key
// keeps its name; values are strings except those listed in the marker key
// "owf.json_keys", which hold JSON text. `extra_json` (an object, e.g. an index's
// metadata) adds keys the map does not have.
Result<std::string> owf_metadata(const StringMap& metadata, std::string_view extra_json, std::string_view where);

// owf metadata JSON -> `__metadata__`: strings stay strings, other values become
// their JSON text and are listed in "owf.json_keys"; "format": "pt" is added
// when there is no "format" key (transformers refuses files without it).
Result<StringMap> safetensors_metadata(std::string_view owf_json);

}  // namespace owf::formats::safetensors
