// Hugging Face model folders (spec/formats/hf.md): a directory holding
//
//   config.json                                   required: the model's hyperparameters
//   model.safetensors | model.safetensors.index.json + shards
//     | pytorch_model.bin | pytorch_model.bin.index.json + shards     the weights (first found)
//   tokenizer.model, tokenizer.json, tokenizer_config.json,
//   special_tokens_map.json, generation_config.json                  optional
//
// Reading opens the weights through the registry's safetensors and pytorch adapters and carries
// config.json and the tokenizer files in the metadata under "hf", so an .owf made from a folder is
// self-contained. Writing produces a folder again (config.json, sharded safetensors with an index,
// the tokenizer files the metadata carries), from a folder-born model or from a llama-family GGUF.
// The format also exports folder-born models of the llama family to llama.cpp's GGUF conventions.
#pragma once

#include <memory>

#include "owf/format.h"

namespace owf::formats {

// The "hf" adapter. It opens weight files through owf::registry() (the safetensors and pytorch
// adapters). Stateless; safe to share between threads.
std::unique_ptr<owf::Format> make_hf_format();

}  // namespace owf::formats
