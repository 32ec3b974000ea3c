// Reading torch.save checkpoints. Two layouts exist:
//
// zip (torch >= 1.6): a zip archive with one root folder of any name holding
//   <root>/data.pkl     the object pickle; tensors reference storages by
//                       persistent id ('storage', <class>, key, location, numel)
//   <root>/data/<key>   each storage's bytes, stored uncompressed
//   <root>/byteorder    "little" or "big" (absent: little)
//   <root>/version      serialization version (informational)
// legacy (before 1.6, or _use_new_zipfile_serialization=False): pickles one
//   after another: the magic number 0x1950a86a20f9469cfc6c, the protocol
//   version 1001, a sys_info dict, the object pickle (persistent ids carry a
//   sixth field, view metadata), the sorted list of storage keys; then for each
//   key a u64 little-endian element count and the storage's bytes.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>

#include "owf/format.h"
#include "owf/model.h"
#include "owf/status.h"

namespace owf::formats::pytorch {

// How surely `head` (the first bytes of a file) starts a checkpoint: certain for
// a legacy pickle with torch's magic number, likely for a zip archive whose
// first record lies in a root folder under a name torch writes.
Confidence checkpoint_confidence(std::span<const std::byte> head);

// Opens a checkpoint; the Model maps the file and copies tensor bytes on
// read() (gathering non-contiguous views). Refuses TorchScript archives,
// compressed records, pickles outside the allowlist (pickle.h) and tensor
// views that do not fit their storage, naming the file, record and offset.
Result<std::unique_ptr<Model>> open_checkpoint(const std::filesystem::path& path, const OpenOptions& options);

}  // namespace owf::formats::pytorch
