// GGUF, the model file of llama.cpp and ggml (ggml docs/gguf.md), read in versions 2 and 3
// and written in version 3, little-endian only. Layout:
//
//   "GGUF" | u32 version | u64 tensor_count | u64 kv_count
//   kv_count key-values:   string key | u32 value type | value      (strings: u64 length + bytes)
//   tensor_count infos:    string name | u32 n_dims | u64 ne[n_dims] (innermost first)
//                          | u32 ggml type | u64 offset (relative to the data section)
//   zero padding to general.alignment (u32, default 32)
//   data section: each tensor at its offset, zero padding to the alignment between tensors
//
// The mapping between GGUF and owf (shapes reversed, ggml types as owf dtypes 256 + type, every
// key-value kept under metadata "gguf") is documented in spec/formats/gguf.md. Legacy ggml files
// (magics 'lmgg', 'fmgg', 'tjgg', ...) are recognised and refused with a message naming them.
#pragma once

#include <memory>

#include "owf/format.h"

namespace owf::formats {

// The GGUF adapter: name "gguf", extension ".gguf". Stateless; safe to share between threads.
std::unique_ptr<owf::Format> make_gguf_format();

}  // namespace owf::formats
