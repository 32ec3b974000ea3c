// Hugging Face checkpoints of the llama family as the GGUF llama.cpp runs (spec/formats/hf.md §4),
// after what llama.cpp's convert_hf_to_gguf.py does: tensor names mapped, q/k un-permuted for the
// architectures llama.cpp runs with interleaved rotary, norms and 1-D tensors in f32, the
// hyperparameters as <arch>.* keys and the tokenizer as tokenizer.ggml.* keys.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "owf/format.h"
#include "owf/model.h"
#include "owf/status.h"

namespace owf::formats::hf {

// config.json "architectures" values this export supports, and the GGUF architecture of each.
struct SupportedArchitecture {
  std::string_view hf_name;
  std::string_view gguf_name;
  bool interleaved_rotary;  // llama.cpp applies "normal" rotary: q/k rows are un-permuted
};
inline constexpr SupportedArchitecture kSupportedArchitectures[] = {
    {"LlamaForCausalLM", "llama", true},
    {"MistralForCausalLM", "llama", true},
    {"Qwen2ForCausalLM", "qwen2", false},
};

// llama.cpp's byte-level BPE pre-tokenizer types (tokenizer.ggml.pre) that tokenizer.json spells as
// one Split on `regex` followed by a ByteLevel without its own regex: llama.cpp defines each type
// by exactly this regex. ("gpt2" is a ByteLevel with its own regex and no Split.)
struct SplitPreTokenizer {
  std::string_view gguf_name;
  std::string_view regex;
};
inline constexpr SplitPreTokenizer kSplitPreTokenizers[] = {
    {"llama-bpe",
     R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
    {"qwen2",
     R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
};

// The GGUF export of `model` when its metadata carries hf.config (a folder, or an .owf made from
// one); nullopt otherwise. Fails for an architecture not in kSupportedArchitectures (naming it and
// the supported ones), a missing or wrong hyperparameter, a tensor it cannot map, or a tokenizer
// it cannot convert, naming the config key, tensor or tokenizer file.
Result<std::optional<Export>> export_to_gguf(const Model& model);

}  // namespace owf::formats::hf
