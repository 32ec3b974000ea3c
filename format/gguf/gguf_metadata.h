// GGUF key-values <-> owf metadata (spec/formats/gguf.md §4). Every key-value is kept,
// in order and with its exact type, under the owf key "gguf"; the owf standard keys are derived
// from general.architecture, general.license and general.source.url, and mapped back when
// writing, with provenance.parents becoming general.base_model.*. gguf_metadata.cpp is the only
// file of the adapter that sees the JSON library.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf_file.h"
#include "owf/format.h"
#include "owf/status.h"

namespace owf::formats::gguf {

// What a GGUF file holds besides its tensors, enough to write it again byte for byte.
struct FileLayout {
  std::uint32_t version = kWriteVersion;
  std::uint32_t alignment = kDefaultAlignment;
  bool tail_padding = true;  // the file ends with zero padding to the alignment
  std::vector<KeyValue> kvs;
};

// owf metadata JSON text for a GGUF file. Fails only for values JSON cannot carry: a key that is
// not valid UTF-8 (string values that are not are kept as {"hex": ...}).
Result<std::string> owf_metadata_from_gguf(const FileLayout& layout);

// What to write for owf metadata: from its "gguf" section when present (the standard keys
// `architecture`, `license` and `provenance.source.url` replace the matching general.* values
// when they differ), otherwise the standard keys alone, alignment 32. Fails with a message naming
// the JSON path for anything GGUF cannot hold (a value out of its type's range, a duplicate key,
// a general.alignment that is not a u32 power of two).
Result<FileLayout> gguf_layout_from_owf(std::string_view metadata_json);

// `metadata_json` with `edits` applied to its GGUF key-values (spec/formats/gguf.md §4.1): for
// metadata without a "gguf" section, the key-values the writer would derive are the start. An
// existing key keeps its type unless the edit names one; a new key takes the edit's type or one
// inferred from the JSON value (string, bool, u32 / i32 / u64 / i64 by range, f32, arrays of
// these). Plain text is accepted for string keys.
Result<std::string> edit_gguf_keys(std::string_view metadata_json, std::span<const KeyEdit> edits);

// The value of `key` among the GGUF key-values of `metadata_json` as JSON text; nullopt if absent.
Result<std::optional<std::string>> gguf_key(std::string_view metadata_json, std::string_view key);

// The value of general.alignment in `kvs`, checked (u32, a power of two), or the default 32.
// Messages name the key and, for pairs read from a file, its offset.
Result<std::uint32_t> alignment_of(const std::vector<KeyValue>& kvs);

}  // namespace owf::formats::gguf
