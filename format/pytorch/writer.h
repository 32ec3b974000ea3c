// Writing torch.save zip checkpoints that torch.load(weights_only=True) reads:
//
//   archive/data.pkl    pickle protocol 2: an OrderedDict of name ->
//                       torch._utils._rebuild_tensor_v2(storage, 0, size, stride,
//                       False, OrderedDict()), storage = persistent id
//                       ('storage', torch.<X>Storage, key, 'cpu', numel)
//   archive/byteorder   "little"
//   archive/data/<key>  each storage's bytes, stored, data 64-byte aligned
//   archive/version     "3"
#pragma once

#include <filesystem>
#include <string_view>

#include "owf/container.h"
#include "owf/model.h"
#include "owf/status.h"

namespace owf::formats::pytorch {

// Writes every tensor of `model` as a flat state dict, streaming tensor bytes
// through Model::read. Names tied under pytorch.tied in `metadata_json` whose
// target has the same dtype, shape and bytes share one storage again; other
// metadata is not written (a state dict has no place for it). Fails, leaving
// `path` untouched, for a dtype torch's storages cannot hold, naming the tensor.
Status write_checkpoint(const Model& model, std::string_view metadata_json, const std::filesystem::path& path,
                        const WriteOptions& options);

}  // namespace owf::formats::pytorch
