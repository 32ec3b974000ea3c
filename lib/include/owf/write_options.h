// Options of the writers (owf::write, Format::write, the .owf Writer).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "owf/export.h"

namespace OWF_EXPORT owf {

struct CompressionOptions {
  int level = 1;                        // zstd level (1 compresses weights better than 3, and faster)
  std::uint32_t chunk_size = 1u << 20;  // decoded bytes per independently decodable chunk
  bool byte_group = true;               // group byte k of every element, where the dtype allows
  bool lanes = true;                    // with byte_group: each lane compressed or stored on its own (filter 2)
};

// Options shared by every writer; a format ignores what does not apply to it.
struct WriteOptions {
  // The output format by name ("safetensors"); empty chooses it by the output's extension.
  std::string format;
  std::uint32_t alignment = 64;                   // owf: power of two, 8..4096
  std::optional<CompressionOptions> compression;  // owf: zstd chunks; numpy: deflated .npz; absent: raw
  std::uint64_t header_slack = 4096;              // owf: zero bytes reserved for in-place metadata edits
  // owf: also reserve room for a second copy of the header, so that a metadata
  // edit can write its new header beside the old one and switch atomically (spec §8).
  bool header_copy_room = true;
  std::uint64_t max_shard_size = 0;               // formats that shard (safetensors); 0 = one file
  bool overwrite = false;                         // replace an existing output
  unsigned threads = 0;                           // owf: threads compressing and hashing; 0 = online CPUs
  // Called as tensor bytes are written: (bytes done, bytes in total). write_owf
  // passes the model's total; a Writer, which cannot know it, passes 0.
  std::function<void(std::uint64_t, std::uint64_t)> progress;
};

}  // namespace owf
