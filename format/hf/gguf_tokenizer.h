// Hugging Face tokenizer files from a GGUF's tokenizer.ggml.* key-values (spec/formats/hf.md §3.2),
// for a GGUF that carries no tokenizer files of its own (one made by llama.cpp's converter, or by
// owf from a folder): tokenizer.json in the `tokenizers` library's format, tokenizer_config.json
// and special_tokens_map.json. The inverse of hf_gguf.h's tokenizer keys:
//
//   "llama" (SentencePiece)  BPE with byte fallback and merges ranked by the merged piece's score,
//                            so that BPE merges as llama.cpp's SentencePiece tokenizer does
//   "gpt2" (byte-level BPE)  BPE with the GGUF's merges, after the ByteLevel pre-tokenizer that
//                            tokenizer.ggml.pre names (gpt2, llama-bpe, qwen2)
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "owf/status.h"

namespace owf::formats::hf {

// Sets hf.tokenizer (tokenizer.json's text), hf.tokenizer_config and hf.special_tokens_map in
// `hf_section` from `gguf_kv` (owf metadata's gguf.kv list); leaves it alone when there is no
// tokenizer.ggml.model. Fails, naming the key, for another tokenizer model or pre-tokenizer,
// arrays whose lengths differ from the tokens', a token that is not a UTF-8 string, a score that
// is not a number, or a special token id beyond the tokens.
Status add_tokenizer_files(const nlohmann::ordered_json& gguf_kv, nlohmann::ordered_json& hf_section);

}  // namespace owf::formats::hf
