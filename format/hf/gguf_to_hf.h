// llama.cpp's GGUF of the llama family back into Hugging Face's conventions (spec/formats/hf.md §3):
// tensors renamed, q/k rows permuted back into HF's rotary layout, and a config.json built from the
// <arch>.* key-values; the inverse of hf_gguf.h.
#pragma once

#include <optional>

#include "owf/format.h"
#include "owf/model.h"
#include "owf/status.h"

namespace owf::formats::hf {

// The HF folder export of `model` when its metadata is a GGUF's (a "gguf" section with
// general.architecture) and carries no hf.config; nullopt otherwise. Fails for a GGUF
// architecture without an HF counterpart (naming it and the supported ones), a missing or
// mistyped key-value, or a tensor it cannot map, naming the key or tensor.
Result<std::optional<Export>> export_gguf_to_hf(const Model& model);

}  // namespace owf::formats::hf
