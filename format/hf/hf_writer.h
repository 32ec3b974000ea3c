// Writing a model as a Hugging Face model folder (spec/formats/hf.md §3).
#pragma once

#include <filesystem>
#include <string_view>

#include "owf/format.h"
#include "owf/model.h"
#include "owf/status.h"

namespace owf::formats::hf {

// save_pretrained's default shard size ("5GB"), used when options.max_shard_size is 0.
inline constexpr std::uint64_t kDefaultShardBytes = 5'000'000'000;

// Writes `model` as the folder `path`: its tensors as safetensors (shards and an index above the
// shard size), config.json from hf.config (required) and every other file kCarriedFiles names
// whose key the metadata has. The folder is built beside `path` and renamed onto it, so `path` is
// complete or absent (or, with options.overwrite, the model folder it was). Refuses ggml block
// types, which safetensors cannot hold, naming the tensor.
Status write_folder(const Model& model, const OutputMetadata& metadata, const std::filesystem::path& path,
                    const WriteOptions& options);

}  // namespace owf::formats::hf
