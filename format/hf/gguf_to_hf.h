// llama.cpp's GGUF of the llama family back into Hugging Face's conventions (spec/formats/hf.md §3):
// tensors renamed, q/k rows permuted back into HF's rotary layout, a config.json built from the
// <arch>.* key-values and tokenizer files from the tokenizer.ggml.* ones; the inverse of hf_gguf.h.
#pragma once

#include <optional>

#include "owf/format.h"
#include "owf/model.h"
#include "owf/status.h"

namespace owf::formats::hf {

// The HF folder export of `model` when its metadata is a GGUF's (a "gguf" section with
// general.architecture) and carries no hf.config; nullopt otherwise. Fails for a GGUF
// architecture without an HF counterpart (naming it and the supported ones), a missing or
// mistyped key-value, a tensor it cannot map, or a tokenizer it cannot write (gguf_tokenizer.h),
// naming the key or tensor.
Result<std::optional<Export>> export_gguf_to_hf(const Model& model);

}  // namespace owf::formats::hf
