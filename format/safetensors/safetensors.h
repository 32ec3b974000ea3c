// safetensors (Hugging Face): single files and shard sets described by a
// `*.safetensors.index.json`. Layout of one file:
//
//   [u64 LE: N] [N bytes: JSON header, space padded] [data section]
//
// The header maps each tensor name to {"dtype", "shape", "data_offsets":
// [begin, end]}, offsets relative to the data section, which the tensors cover
// exactly without gaps or overlaps; "__metadata__" holds string pairs. Data is
// little-endian, C order. spec/formats/safetensors.md gives the mapping to owf.
#pragma once

#include <memory>

#include "owf/format.h"

namespace owf::formats {

// The "safetensors" format (extension ".safetensors"). open() validates every
// header rule of the reference implementation (and every shard of an index)
// before returning; the Model reads tensor bytes through the file descriptor
// and views them in place. write() streams each tensor in bounded pieces, and
// with WriteOptions::max_shard_size writes shards plus an index, all or nothing.
std::unique_ptr<Format> make_safetensors_format();

}  // namespace owf::formats
