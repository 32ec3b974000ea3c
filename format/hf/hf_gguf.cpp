#include "hf/hf_gguf.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <map>
#include <nlohmann/json.hpp>
#include <numbers>
#include <unordered_map>

#include "hf/hf_folder.h"
#include "hf/sentencepiece.h"
#include "hf/tensor_plan.h"
#include "owf/internal/bytes.h"
#include "owf/numeric.h"
#include "owf/text.h"

namespace owf::formats::hf {
namespace {

using Json = nlohmann::ordered_json;
// tokenizer.json, parsed from its text in hf.tokenizer: its vocabulary has 100k+ members, which
// ordered_json would look up linearly.
using TokenizerJson = nlohmann::json;

constexpr std::string_view kConfigFile = "config.json";

// ---- GGUF key-values as the gguf adapter's metadata spells them (spec/formats/gguf.md §4) -----

Json kv(std::string key, std::string_view type, Json value) {
  return {{"key", std::move(key)}, {"type", type}, {"value", std::move(value)}};
}

Json array_kv(std::string key, std::string_view element_type, Json values) {
  return {{"key", std::move(key)}, {"type", "array"}, {"element_type", element_type}, {"value", std::move(values)}};
}

// ---- config.json --------------------------------------------------------------------------

Status config_error(std::string_view key, std::string_view problem) {
  return Status::invalid_argument(std::string(kConfigFile) + ": " + quote(key) + " " + std::string(problem));
}

Result<std::uint64_t> config_count(const Json& config, std::string_view key, std::optional<std::uint64_t> fallback) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) {
    if (fallback) return *fallback;
    return config_error(key, "is missing");
  }
  if (!it->is_number_unsigned() || it->get<std::uint64_t>() == 0 || it->get<std::uint64_t>() > UINT32_MAX) {
    return config_error(key, "is " + it->dump() + ", not a positive 32-bit integer");
  }
  return it->get<std::uint64_t>();
}

Result<double> config_number(const Json& config, std::string_view key, double fallback) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  if (!it->is_number()) return config_error(key, "is " + it->dump() + ", not a number");
  return it->get<double>();
}

struct Hyperparameters {
  const SupportedArchitecture* architecture = nullptr;
  std::uint64_t context_length = 0;
  std::uint64_t embedding_length = 0;
  std::uint64_t block_count = 0;
  std::uint64_t feed_forward_length = 0;
  std::uint64_t head_count = 0;
  std::uint64_t head_count_kv = 0;
  std::uint64_t head_dim = 0;
  bool explicit_head_dim = false;
  std::optional<std::uint64_t> vocab_size;
  double rms_norm_eps = 0;
  double rope_theta = 0;
  bool tied_embeddings = false;
};

Result<const SupportedArchitecture*> architecture_of(const Json& config) {
  std::string supported;
  for (const auto& entry : kSupportedArchitectures)
    supported += (supported.empty() ? "" : ", ") + std::string(entry.hf_name);
  const auto list = config.find("architectures");
  if (list == config.end() || !list->is_array() || list->empty() || !(*list)[0].is_string()) {
    return Status::not_supported(std::string(kConfigFile) + ": no \"architectures\" entry; GGUF export supports " +
                                 supported);
  }
  const std::string& name = (*list)[0].get_ref<const std::string&>();
  for (const auto& entry : kSupportedArchitectures) {
    if (entry.hf_name == name) return &entry;
  }
  return Status::not_supported(std::string(kConfigFile) + ": architecture " + quote(name) +
                               " has no GGUF export; supported: " + supported);
}

Result<Hyperparameters> hyperparameters_of(const Json& config) {
  Hyperparameters h;
  OWF_ASSIGN_OR_RETURN(h.architecture, architecture_of(config));
  // Defaults are transformers' (LlamaConfig, Qwen2Config) where it has them.
  OWF_ASSIGN_OR_RETURN(h.context_length, config_count(config, "max_position_embeddings", 2048));
  OWF_ASSIGN_OR_RETURN(h.embedding_length, config_count(config, "hidden_size", std::nullopt));
  OWF_ASSIGN_OR_RETURN(h.block_count, config_count(config, "num_hidden_layers", std::nullopt));
  OWF_ASSIGN_OR_RETURN(h.feed_forward_length, config_count(config, "intermediate_size", std::nullopt));
  OWF_ASSIGN_OR_RETURN(h.head_count, config_count(config, "num_attention_heads", std::nullopt));
  OWF_ASSIGN_OR_RETURN(h.head_count_kv, config_count(config, "num_key_value_heads", h.head_count));
  if (h.head_count % h.head_count_kv != 0) {
    return config_error("num_key_value_heads", "(" + std::to_string(h.head_count_kv) + ") does not divide " +
                                                   "num_attention_heads (" + std::to_string(h.head_count) + ")");
  }
  h.explicit_head_dim = config.contains("head_dim") && !config["head_dim"].is_null();
  if (!h.explicit_head_dim && h.embedding_length % h.head_count != 0) {
    return config_error("hidden_size", "is not a multiple of num_attention_heads");
  }
  OWF_ASSIGN_OR_RETURN(h.head_dim, config_count(config, "head_dim", h.embedding_length / h.head_count));
  if (h.head_dim % 2 != 0) return config_error("head_dim", "is odd; rotary needs pairs");
  if (config.contains("vocab_size")) {
    OWF_ASSIGN_OR_RETURN(const std::uint64_t vocab, config_count(config, "vocab_size", std::nullopt));
    h.vocab_size = vocab;
  }
  OWF_ASSIGN_OR_RETURN(h.rms_norm_eps, config_number(config, "rms_norm_eps", 1e-6));
  OWF_ASSIGN_OR_RETURN(h.rope_theta, config_number(config, "rope_theta", 10000.0));
  const auto tied = config.find("tie_word_embeddings");
  if (tied != config.end() && !tied->is_null() && !tied->is_boolean()) {
    return config_error("tie_word_embeddings", "is not true or false");
  }
  // transformers' default: Llama and Mistral untied, Qwen2 untied unless stated.
  h.tied_embeddings = tied != config.end() && tied->is_boolean() && tied->get<bool>();
  return h;
}

// <arch>.rope.scaling.* from config.rope_scaling, and llama3-style frequency factors (a
// rope_freqs.weight tensor, as convert_hf_to_gguf.py generates it).
struct RopeScaling {
  Json kvs = Json::array();
  std::vector<float> frequency_factors;  // empty unless rope_type is llama3
};

Result<RopeScaling> rope_scaling_of(const Json& config, const Hyperparameters& h, const std::string& arch) {
  RopeScaling result;
  const auto it = config.find("rope_scaling");
  if (it == config.end() || it->is_null()) return result;
  if (!it->is_object()) return config_error("rope_scaling", "is not an object");
  const Json& scaling = *it;
  std::string type;
  for (const char* field : {"rope_type", "type"}) {
    if (scaling.contains(field) && scaling[field].is_string()) type = scaling[field].get<std::string>();
  }
  if (type == "default") return result;
  const auto factor = scaling.find("factor");
  if (factor == scaling.end() || !factor->is_number() || factor->get<double>() <= 0) {
    return config_error("rope_scaling.factor", "is missing or not a positive number");
  }
  const double f = factor->get<double>();
  if (type == "linear" || type == "yarn") {
    result.kvs.push_back(kv(arch + ".rope.scaling.type", "string", type));
    result.kvs.push_back(kv(arch + ".rope.scaling.factor", "f32", f));
    if (type == "yarn") {
      OWF_ASSIGN_OR_RETURN(const std::uint64_t original,
                           config_count(scaling, "original_max_position_embeddings", std::nullopt));
      result.kvs.push_back(kv(arch + ".rope.scaling.original_context_length", "u32", original));
    }
    return result;
  }
  if (type == "llama3") {
    OWF_ASSIGN_OR_RETURN(const double low, config_number(scaling, "low_freq_factor", 1.0));
    OWF_ASSIGN_OR_RETURN(const double high, config_number(scaling, "high_freq_factor", 4.0));
    OWF_ASSIGN_OR_RETURN(const std::uint64_t original, config_count(scaling, "original_max_position_embeddings", 8192));
    if (high <= low) return config_error("rope_scaling.high_freq_factor", "must exceed low_freq_factor");
    const double low_wavelen = static_cast<double>(original) / low;
    const double high_wavelen = static_cast<double>(original) / high;
    for (std::uint64_t i = 0; i < h.head_dim; i += 2) {
      const double frequency = 1.0 / std::pow(h.rope_theta, static_cast<double>(i) / static_cast<double>(h.head_dim));
      const double wavelen = 2 * std::numbers::pi / frequency;
      double factor_i = 1;
      if (wavelen > low_wavelen) {
        factor_i = f;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (static_cast<double>(original) / wavelen - low) / (high - low);
        factor_i = 1 / ((1 - smooth) / f + smooth);
      }
      result.frequency_factors.push_back(static_cast<float>(factor_i));
    }
    return result;
  }
  return config_error("rope_scaling", "type " + quote(type) + " has no GGUF counterpart (linear, yarn, llama3)");
}

// ---- tensors --------------------------------------------------------------------------------

Result<std::vector<PlannedTensor>> plan_tensors(const Model& source, const Hyperparameters& h,
                                                const RopeScaling& rope) {
  std::vector<PlannedTensor> plan;
  const auto& tensors = source.tensors();
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const TensorInfo& tensor = tensors[i];
    if (tensor.name.ends_with(".rotary_emb.inv_freq")) continue;  // recomputed by llama.cpp
    if (tensor.name == "lm_head.weight" && h.tied_embeddings) continue;
    const auto name = gguf_tensor_name(tensor.name);
    if (!name)
      return Status::not_supported("tensor " + quote(tensor.name) + ": no GGUF name for it in " +
                                   std::string(h.architecture->hf_name));
    PlannedTensor planned;
    planned.source = i;
    const bool widen =
        (tensor.shape.size() <= 1 || is_norm(*name)) && (tensor.dtype == DType::kF16 || tensor.dtype == DType::kBF16);
    planned.widen = widen;
    OWF_ASSIGN_OR_RETURN(planned.info, make_tensor_info(*name, widen ? DType::kF32 : tensor.dtype, tensor.shape));
    const bool is_q = tensor.name.find(".q_proj.") != std::string::npos;
    const bool is_k = tensor.name.find(".k_proj.") != std::string::npos;
    if (h.architecture->interleaved_rotary && (is_q || is_k)) {
      OWF_RETURN_IF_ERROR(plan_rotary_rows(planned, tensor, RowOrder::kHfToInterleaved,
                                           is_q ? h.head_count : h.head_count_kv, h.head_dim));
    }
    plan.push_back(std::move(planned));
  }
  if (!rope.frequency_factors.empty()) {
    PlannedTensor planned;
    planned.is_generated = true;
    OWF_ASSIGN_OR_RETURN(planned.info,
                         make_tensor_info("rope_freqs.weight", DType::kF32, {rope.frequency_factors.size()}));
    for (const float factor : rope.frequency_factors)
      append_le(planned.generated, std::bit_cast<std::uint32_t>(factor));
    plan.push_back(std::move(planned));
  }
  return plan;
}

// ---- tokenizer ------------------------------------------------------------------------------

// GGUF token types (llama.cpp's llama_token_type), the same numbers as SentencePiece's.
constexpr std::int32_t kNormal = static_cast<std::int32_t>(PieceType::kNormal);
constexpr std::int32_t kControl = static_cast<std::int32_t>(PieceType::kControl);
constexpr std::int32_t kUserDefined = static_cast<std::int32_t>(PieceType::kUserDefined);
constexpr std::int32_t kUnused = static_cast<std::int32_t>(PieceType::kUnused);

struct Vocabulary {
  std::vector<std::string> tokens;
  std::vector<float> scores;  // SentencePiece only
  std::vector<std::int32_t> types;
  std::vector<std::string> merges;  // BPE only
  std::string model;                // tokenizer.ggml.model
  std::string pre;                  // tokenizer.ggml.pre
  std::unordered_map<std::string, std::uint64_t> ids;
  std::optional<std::int64_t> bos, eos, unk, pad;
  bool add_space_prefix = true;  // SentencePiece's add_dummy_prefix (llama.cpp's default: true)
};

std::string padding_token(std::uint64_t id) { return "[PAD" + std::to_string(id) + "]"; }

// The largest vocabulary an export builds: 4x the largest published ones (Gemma's 262 144), so a
// vocab_size or token id from a hostile file cannot make it allocate billions of tokens.
constexpr std::uint64_t kMaxVocabularySize = 1u << 20;

Status check_vocabulary_size(std::uint64_t size, std::string_view source) {
  if (size <= kMaxVocabularySize) return {};
  return Status::not_supported(std::string(source) + ": a vocabulary of " + std::to_string(size) +
                               " tokens exceeds the limit of " + std::to_string(kMaxVocabularySize));
}

// As gguf-py's does_token_look_special, for added tokens not marked special.
bool looks_special(const std::string& text) {
  static constexpr std::string_view kNames[] = {"<pad>", "<mask>", "<unk>", "<s>", "</s>", "<|endoftext|>"};
  return std::find(std::begin(kNames), std::end(kNames), text) != std::end(kNames) ||
         (text.starts_with("<|") && text.ends_with("|>"));
}

// A user-defined token with SentencePiece's space mark (U+2581) is stored with plain spaces:
// llama.cpp expects added tokens pre-normalized.
std::string with_plain_spaces(std::string text) {
  static constexpr std::string_view kMark = "\xe2\x96\x81";
  for (std::size_t at = text.find(kMark); at != std::string::npos; at = text.find(kMark, at + 1)) {
    text.replace(at, kMark.size(), " ");
  }
  return text;
}

// tokenizer_config.json's added_tokens_decoder: {"<id>": {"content", "special", ...}}.
Status apply_added_tokens_decoder(const Json& tokenizer_config, Vocabulary& vocab) {
  const auto decoder = tokenizer_config.find("added_tokens_decoder");
  if (decoder == tokenizer_config.end() || !decoder->is_object()) return {};
  for (const auto& [key, entry] : decoder->items()) {
    std::uint64_t id = 0;
    try {
      id = std::stoull(key);
    } catch (const std::exception&) {
      return Status::invalid_argument("tokenizer_config.json: added_tokens_decoder key " + quote(key) +
                                      " is not a token id");
    }
    if (id >= vocab.tokens.size() || vocab.types[id] != kUnused || !entry.is_object() || !entry.contains("content") ||
        !entry["content"].is_string()) {
      continue;
    }
    const std::string content = entry["content"].get<std::string>();
    const bool special = entry.value("special", false) || looks_special(content);
    vocab.tokens[id] = special ? content : with_plain_spaces(content);
    vocab.types[id] = special ? kControl : kUserDefined;
    vocab.scores[id] = -1000.0f;
    vocab.ids[content] = id;
  }
  return {};
}

Result<Vocabulary> sentencepiece_vocabulary(const Json& hf, std::optional<std::uint64_t> vocab_size) {
  const auto bytes = base64_decode(hf["tokenizer_model"].get<std::string>());
  if (!bytes) return Status::corruption("metadata hf.tokenizer_model: not base64");
  auto parsed = parse_sentencepiece(as_bytes(std::string_view(*bytes)));
  if (!parsed.ok()) return parsed.status().with_context("tokenizer.model");
  const SentencePieceModel& spm = *parsed;
  if (spm.model_type != 1 && spm.model_type != 2) {
    return Status::not_supported("tokenizer.model: model type " + std::to_string(spm.model_type) +
                                 " (only unigram and BPE SentencePiece models map to GGUF's \"llama\")");
  }
  const std::uint64_t size = vocab_size.value_or(spm.pieces.size());
  OWF_RETURN_IF_ERROR(check_vocabulary_size(size, vocab_size ? "config.json: vocab_size" : "tokenizer.model"));
  Vocabulary vocab;
  vocab.model = "llama";
  vocab.pre = "default";
  for (std::uint64_t id = 0; id < size; ++id) {
    if (id < spm.pieces.size()) {
      const Piece& piece = spm.pieces[id];
      vocab.tokens.push_back(piece.text);
      vocab.scores.push_back(piece.score);
      vocab.types.push_back(static_cast<std::int32_t>(piece.type));
      vocab.ids.emplace(piece.text, id);
    } else {
      vocab.tokens.push_back(padding_token(id));
      vocab.scores.push_back(-1000.0f);
      vocab.types.push_back(kUnused);
    }
  }
  if (hf.contains("tokenizer_config")) OWF_RETURN_IF_ERROR(apply_added_tokens_decoder(hf["tokenizer_config"], vocab));
  const auto id_in_range = [&](std::int32_t id) -> std::optional<std::int64_t> {
    if (id < 0 || static_cast<std::uint64_t>(id) >= size) return std::nullopt;
    return id;
  };
  vocab.bos = id_in_range(spm.bos_id);
  vocab.eos = id_in_range(spm.eos_id);
  vocab.unk = id_in_range(spm.unk_id);
  vocab.pad = id_in_range(spm.pad_id);
  vocab.add_space_prefix = spm.add_dummy_prefix;
  return vocab;
}

// The pre-tokenizer llama.cpp must apply, identified by the regex of tokenizer.json's Split
// pre-tokenizer: llama.cpp's pre-tokenizer types are defined by exactly these regexes
// (convert_hf_to_gguf.py identifies them by hashing the tokenization of a test text instead,
// which needs the tokenizer library).
Result<std::string> pre_tokenizer_of(const TokenizerJson& tokenizer) {
  const auto pre = tokenizer.find("pre_tokenizer");
  if (pre == tokenizer.end() || !pre->is_object()) {
    return Status::not_supported("tokenizer.json: no pre_tokenizer; cannot tell which tokenizer.ggml.pre applies");
  }
  std::vector<const TokenizerJson*> steps;
  if (pre->value("type", "") == "Sequence" && pre->contains("pretokenizers") && (*pre)["pretokenizers"].is_array()) {
    for (const TokenizerJson& step : (*pre)["pretokenizers"]) steps.push_back(&step);
  } else {
    steps.push_back(&*pre);
  }
  std::vector<std::string> patterns;
  bool byte_level_regex = false;
  for (const TokenizerJson* step : steps) {
    if (!step->is_object()) continue;
    const std::string type = step->value("type", "");
    if (type == "Split" && step->contains("pattern") && (*step)["pattern"].is_object() &&
        (*step)["pattern"].contains("Regex") && (*step)["pattern"]["Regex"].is_string()) {
      patterns.push_back((*step)["pattern"]["Regex"].get<std::string>());
    } else if (type == "ByteLevel") {
      byte_level_regex = step->value("use_regex", true);
    }
  }
  if (patterns.empty() && byte_level_regex) return std::string("gpt2");
  if (patterns.size() == 1 && !byte_level_regex) {
    for (const auto& known : kSplitPreTokenizers) {
      if (known.regex == patterns[0]) return std::string(known.gguf_name);
    }
  }
  std::string known;
  for (const auto& entry : kSplitPreTokenizers) known += ", " + std::string(entry.gguf_name);
  return Status::not_supported("tokenizer.json: pre-tokenizer not recognised (known: gpt2" + known +
                               "); converting it would tokenize differently from the source");
}

Result<Vocabulary> bpe_vocabulary(const TokenizerJson& tokenizer, std::optional<std::uint64_t> vocab_size) {
  const auto model = tokenizer.find("model");
  if (model == tokenizer.end() || !model->is_object() || model->value("type", "") != "BPE") {
    return Status::not_supported("tokenizer.json: model type is not BPE (and there is no tokenizer.model)");
  }
  const auto vocab_map = model->find("vocab");
  if (vocab_map == model->end() || !vocab_map->is_object()) {
    return Status::invalid_argument("tokenizer.json: model.vocab is missing or not an object");
  }
  std::map<std::uint64_t, std::string> by_id;
  std::map<std::uint64_t, bool> added_special;
  for (const auto& [token, id] : vocab_map->items()) {
    if (!id.is_number_unsigned())
      return Status::invalid_argument("tokenizer.json: model.vocab[" + quote(token) + "] is not an id");
    by_id[id.get<std::uint64_t>()] = token;
  }
  if (tokenizer.contains("added_tokens") && tokenizer["added_tokens"].is_array()) {
    for (const TokenizerJson& added : tokenizer["added_tokens"]) {
      if (!added.is_object() || !added.contains("id") || !added["id"].is_number_unsigned() ||
          !added.contains("content") || !added["content"].is_string()) {
        return Status::invalid_argument("tokenizer.json: an added_tokens entry lacks an id or content");
      }
      const std::uint64_t id = added["id"].get<std::uint64_t>();
      by_id[id] = added["content"].get<std::string>();
      added_special[id] = added.value("special", false);
    }
  }
  const std::uint64_t size = vocab_size.value_or(by_id.empty() ? 0 : by_id.rbegin()->first + 1);
  OWF_RETURN_IF_ERROR(check_vocabulary_size(size, vocab_size ? "config.json: vocab_size" : "tokenizer.json"));
  if (!by_id.empty() && by_id.rbegin()->first >= size) {
    return Status::invalid_argument("tokenizer.json: token id " + std::to_string(by_id.rbegin()->first) +
                                    " is not below config.json's vocab_size " + std::to_string(size));
  }
  Vocabulary vocab;
  vocab.model = "gpt2";
  OWF_ASSIGN_OR_RETURN(vocab.pre, pre_tokenizer_of(tokenizer));
  for (std::uint64_t id = 0; id < size; ++id) {
    const auto token = by_id.find(id);
    if (token == by_id.end()) {
      vocab.tokens.push_back(padding_token(id));
      vocab.types.push_back(kUnused);
      continue;
    }
    const auto added = added_special.find(id);
    std::int32_t type = kNormal;
    std::string text = token->second;
    if (added != added_special.end()) {
      type = added->second || looks_special(text) ? kControl : kUserDefined;
      if (type == kUserDefined) text = with_plain_spaces(text);
    }
    vocab.ids.emplace(token->second, id);
    vocab.tokens.push_back(std::move(text));
    vocab.types.push_back(type);
  }
  const auto merges = model->find("merges");
  if (merges != model->end() && merges->is_array()) {
    for (const TokenizerJson& merge : *merges) {
      if (merge.is_string()) {
        vocab.merges.push_back(merge.get<std::string>());
      } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
        vocab.merges.push_back(merge[0].get<std::string>() + " " + merge[1].get<std::string>());
      } else {
        return Status::invalid_argument("tokenizer.json: model.merges[" + std::to_string(vocab.merges.size()) +
                                        "] is neither \"a b\" nor [\"a\", \"b\"]");
      }
    }
  }
  return vocab;
}

// A special token named in tokenizer_config.json: a string or {"content": ...}.
std::optional<std::string> special_token_text(const Json& tokenizer_config, const char* field) {
  const auto it = tokenizer_config.find(field);
  if (it == tokenizer_config.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  return std::nullopt;
}

// Special token ids as gguf-py's SpecialVocab finds them: tokenizer_config.json's tokens by
// content, then config.json's <name>_token_id, then (SentencePiece) the model's trainer spec.
void resolve_special_tokens(const Json& hf, Vocabulary& vocab) {
  const Json& config = hf["config"];
  const Json empty = Json::object();
  const Json& tokenizer_config = hf.contains("tokenizer_config") ? hf["tokenizer_config"] : empty;
  const std::pair<const char*, std::optional<std::int64_t>*> specials[] = {
      {"bos", &vocab.bos}, {"eos", &vocab.eos}, {"unk", &vocab.unk}, {"pad", &vocab.pad}};
  for (const auto& [name, slot] : specials) {
    const std::string token_field = std::string(name) + "_token";
    if (const auto text = special_token_text(tokenizer_config, token_field.c_str())) {
      if (const auto id = vocab.ids.find(*text); id != vocab.ids.end()) {
        *slot = static_cast<std::int64_t>(id->second);
        continue;
      }
    }
    const auto id = config.find(token_field + "_id");
    if (id != config.end() && id->is_number_unsigned() && id->get<std::uint64_t>() < vocab.tokens.size()) {
      *slot = id->get<std::int64_t>();
    } else if (id != config.end() && id->is_array() && !id->empty() && (*id)[0].is_number_unsigned()) {
      *slot = (*id)[0].get<std::int64_t>();  // several eos ids: llama.cpp keeps one
    }
  }
}

// add_bos_token / add_eos_token: tokenizer_config.json's, else whether tokenizer.json's
// post-processor template starts with BOS / ends with EOS.
std::pair<std::optional<bool>, std::optional<bool>> added_specials(const Json& hf, const TokenizerJson* tokenizer,
                                                                   const Vocabulary& vocab) {
  std::optional<bool> add_bos, add_eos;
  if (hf.contains("tokenizer_config")) {
    const Json& tokenizer_config = hf["tokenizer_config"];
    if (tokenizer_config.contains("add_bos_token") && tokenizer_config["add_bos_token"].is_boolean()) {
      add_bos = tokenizer_config["add_bos_token"].get<bool>();
    }
    if (tokenizer_config.contains("add_eos_token") && tokenizer_config["add_eos_token"].is_boolean()) {
      add_eos = tokenizer_config["add_eos_token"].get<bool>();
    }
  }
  if (tokenizer == nullptr || !tokenizer->contains("post_processor") || (add_bos && add_eos)) {
    return {add_bos, add_eos};
  }
  const TokenizerJson* processor = &(*tokenizer)["post_processor"];
  if (processor->is_object() && processor->value("type", "") == "Sequence" && processor->contains("processors") &&
      (*processor)["processors"].is_array()) {
    for (const TokenizerJson& step : (*processor)["processors"]) {
      if (step.is_object() && step.value("type", "") == "TemplateProcessing") processor = &step;
    }
  }
  if (!processor->is_object() || processor->value("type", "") != "TemplateProcessing" ||
      !processor->contains("single") || !(*processor)["single"].is_array() || (*processor)["single"].empty()) {
    return {add_bos, add_eos};
  }
  const TokenizerJson& single = (*processor)["single"];
  const auto is_token = [&](const TokenizerJson& item, const std::optional<std::int64_t>& id) {
    if (!id || !item.is_object() || !item.contains("SpecialToken")) return false;
    const TokenizerJson& special = item["SpecialToken"];
    if (!special.is_object() || !special.contains("id") || !special["id"].is_string()) return false;
    const auto found = vocab.ids.find(special["id"].get<std::string>());
    return found != vocab.ids.end() && static_cast<std::int64_t>(found->second) == *id;
  };
  if (!add_bos) add_bos = is_token(single.front(), vocab.bos);
  if (!add_eos) add_eos = is_token(single.back(), vocab.eos);
  return {add_bos, add_eos};
}

Result<Json> tokenizer_kvs(const Json& hf, const Hyperparameters& h) {
  std::optional<TokenizerJson> tokenizer;
  if (hf.contains("tokenizer")) {
    if (!hf["tokenizer"].is_string()) return Status::invalid_argument("metadata hf.tokenizer: not a string");
    try {
      tokenizer = TokenizerJson::parse(hf["tokenizer"].get_ref<const std::string&>());
    } catch (const std::exception& error) {
      return Status::corruption(std::string("tokenizer.json: ") + error.what());
    }
  }
  Vocabulary vocab;
  if (hf.contains("tokenizer_model")) {
    OWF_ASSIGN_OR_RETURN(vocab, sentencepiece_vocabulary(hf, h.vocab_size));
  } else if (tokenizer) {
    OWF_ASSIGN_OR_RETURN(vocab, bpe_vocabulary(*tokenizer, h.vocab_size));
  } else {
    return Status::not_found("tokenizer.model or tokenizer.json: missing; llama.cpp needs the vocabulary");
  }
  resolve_special_tokens(hf, vocab);
  Json kvs = Json::array();
  kvs.push_back(kv("tokenizer.ggml.model", "string", vocab.model));
  kvs.push_back(kv("tokenizer.ggml.pre", "string", vocab.pre));
  kvs.push_back(array_kv("tokenizer.ggml.tokens", "string", vocab.tokens));
  if (!vocab.scores.empty()) kvs.push_back(array_kv("tokenizer.ggml.scores", "f32", vocab.scores));
  kvs.push_back(array_kv("tokenizer.ggml.token_type", "i32", vocab.types));
  if (!vocab.merges.empty()) kvs.push_back(array_kv("tokenizer.ggml.merges", "string", vocab.merges));
  const std::pair<const char*, const std::optional<std::int64_t>&> ids[] = {
      {"tokenizer.ggml.bos_token_id", vocab.bos},
      {"tokenizer.ggml.eos_token_id", vocab.eos},
      {"tokenizer.ggml.unknown_token_id", vocab.unk},
      {"tokenizer.ggml.padding_token_id", vocab.pad}};
  for (const auto& [key, id] : ids) {
    if (id) kvs.push_back(kv(key, "u32", *id));
  }
  const auto [add_bos, add_eos] = added_specials(hf, tokenizer ? &*tokenizer : nullptr, vocab);
  if (add_bos) kvs.push_back(kv("tokenizer.ggml.add_bos_token", "bool", *add_bos));
  if (add_eos) kvs.push_back(kv("tokenizer.ggml.add_eos_token", "bool", *add_eos));
  if (!vocab.add_space_prefix) kvs.push_back(kv("tokenizer.ggml.add_space_prefix", "bool", false));
  if (hf.contains("tokenizer_config")) {
    const Json& tokenizer_config = hf["tokenizer_config"];
    const auto chat_template = tokenizer_config.find("chat_template");
    if (chat_template != tokenizer_config.end() && chat_template->is_string()) {
      kvs.push_back(kv("tokenizer.chat_template", "string", *chat_template));
    } else if (chat_template != tokenizer_config.end() && chat_template->is_array()) {
      // Named templates: "default" is tokenizer.chat_template, others tokenizer.chat_template.<name>.
      for (const Json& named : *chat_template) {
        if (!named.is_object() || !named.contains("name") || !named["name"].is_string() ||
            !named.contains("template") || !named["template"].is_string()) {
          return Status::invalid_argument("tokenizer_config.json: chat_template entries need a name and a template");
        }
        const std::string name = named["name"].get<std::string>();
        kvs.push_back(kv(name == "default" ? "tokenizer.chat_template" : "tokenizer.chat_template." + name, "string",
                         named["template"]));
      }
    }
  }
  return kvs;
}

// ---- general.* and <arch>.* ---------------------------------------------------------------

// llama.cpp's llama_ftype for the dtype holding most elements of the tensors of rank 2 or more.
std::uint32_t file_type_of(const Model& model) {
  const std::optional<DType> most = dominant_matrix_dtype(model);
  if (!most) return 0;
  static const std::map<DType, std::uint32_t> kFileTypes = {
      {DType::kF32, 0},   {DType::kF16, 1},   {DType::kQ4_0, 2},  {DType::kQ8_0, 7},
      {DType::kQ4_K, 14}, {DType::kQ6_K, 18}, {DType::kBF16, 32},
  };
  const auto it = kFileTypes.find(*most);
  if (it != kFileTypes.end()) return it->second;
  // Other ggml block types: MOSTLY_Q4_1 3, Q5_0 8, Q5_1 9, Q2_K 10, Q3_K_S 11, Q5_K_S 16.
  static const std::map<std::uint32_t, std::uint32_t> kByGgmlType = {{3, 3},   {6, 8},   {7, 9},
                                                                     {10, 10}, {11, 11}, {13, 16}};
  const auto code = static_cast<std::uint32_t>(*most);
  const auto ggml = kByGgmlType.find(code >= 256 ? code - 256 : UINT32_MAX);
  return ggml != kByGgmlType.end() ? ggml->second : 0;
}

Json architecture_kvs(const Hyperparameters& h, const RopeScaling& rope) {
  const std::string arch(h.architecture->gguf_name);
  Json kvs = Json::array();
  kvs.push_back(kv(arch + ".context_length", "u32", h.context_length));
  kvs.push_back(kv(arch + ".embedding_length", "u32", h.embedding_length));
  kvs.push_back(kv(arch + ".block_count", "u32", h.block_count));
  kvs.push_back(kv(arch + ".feed_forward_length", "u32", h.feed_forward_length));
  kvs.push_back(kv(arch + ".attention.head_count", "u32", h.head_count));
  kvs.push_back(kv(arch + ".attention.head_count_kv", "u32", h.head_count_kv));
  kvs.push_back(kv(arch + ".attention.layer_norm_rms_epsilon", "f32", h.rms_norm_eps));
  kvs.push_back(kv(arch + ".rope.freq_base", "f32", h.rope_theta));
  kvs.push_back(kv(arch + ".rope.dimension_count", "u32", h.head_dim));
  if (h.explicit_head_dim) {
    kvs.push_back(kv(arch + ".attention.key_length", "u32", h.head_dim));
    kvs.push_back(kv(arch + ".attention.value_length", "u32", h.head_dim));
  }
  if (h.vocab_size) kvs.push_back(kv(arch + ".vocab_size", "u32", *h.vocab_size));
  for (const Json& entry : rope.kvs) kvs.push_back(entry);
  return kvs;
}

const Json* find_path(const Json& object, std::initializer_list<const char*> path) {
  const Json* node = &object;
  for (const char* field : path) {
    if (!node->is_object() || !node->contains(field)) return nullptr;
    node = &(*node)[field];
  }
  return node;
}

// general.* from the owf metadata being written: name, license, source and base models.
Json general_kvs(const Json& metadata, const Json& config, std::string_view arch, std::uint32_t file_type) {
  Json kvs = Json::array();
  kvs.push_back(kv("general.architecture", "string", arch));
  std::string name;
  if (const Json* source = find_path(metadata, {"provenance", "source", "name"}); source && source->is_string()) {
    name = source->get<std::string>();
  } else if (config.contains("_name_or_path") && config["_name_or_path"].is_string()) {
    name = config["_name_or_path"].get<std::string>();
  } else if (const Json* parents = find_path(metadata, {"provenance", "parents"});
             parents && parents->is_array() && !parents->empty() && (*parents)[0].contains("name")) {
    name = (*parents)[0]["name"].get<std::string>();
  }
  if (!name.empty()) kvs.push_back(kv("general.name", "string", name));
  if (const Json* license = find_path(metadata, {"license"}); license && license->is_string()) {
    kvs.push_back(kv("general.license", "string", *license));
  }
  if (const Json* url = find_path(metadata, {"provenance", "source", "url"}); url && url->is_string()) {
    kvs.push_back(kv("general.source.url", "string", *url));
  }
  if (const Json* parents = find_path(metadata, {"provenance", "parents"}); parents && parents->is_array()) {
    std::vector<std::string> names;
    for (const Json& parent : *parents) {
      if (parent.is_object() && parent.contains("name") && parent["name"].is_string()) {
        names.push_back(parent["name"].get<std::string>());
      }
    }
    if (!names.empty()) kvs.push_back(kv("general.base_model.count", "u32", names.size()));
    for (std::size_t i = 0; i < names.size(); ++i) {
      kvs.push_back(kv("general.base_model." + std::to_string(i) + ".name", "string", names[i]));
    }
  }
  kvs.push_back(kv("general.file_type", "u32", file_type));
  return kvs;
}

}  // namespace

Result<std::optional<Export>> export_to_gguf(const Model& model) {
  Json metadata;
  try {
    metadata = Json::parse(model.metadata());
  } catch (const std::exception& error) {
    return Status::corruption(std::string("metadata: ") + error.what());
  }
  const auto section = metadata.find(kSection);
  if (section == metadata.end() || !section->is_object() || !section->contains("config")) {
    return std::optional<Export>();
  }
  const Json hf = *section;
  OWF_ASSIGN_OR_RETURN(const Hyperparameters h, hyperparameters_of(hf["config"]));
  const std::string arch(h.architecture->gguf_name);
  OWF_ASSIGN_OR_RETURN(const RopeScaling rope, rope_scaling_of(hf["config"], h, arch));
  OWF_ASSIGN_OR_RETURN(std::vector<PlannedTensor> plan, plan_tensors(model, h, rope));
  OWF_ASSIGN_OR_RETURN(const Json tokenizer, tokenizer_kvs(hf, h));
  const Json architecture = architecture_kvs(h, rope);

  Export result;
  for (const PlannedTensor& planned : plan) {
    if (planned.info.dtype == DType::kF32 && (planned.info.shape.size() <= 1 || is_norm(planned.info.name))) {
      result.fixed_dtype.push_back(planned.info.name);
    }
  }
  result.model = make_planned_model(model, std::move(plan));
  const Json config = hf["config"];
  result.metadata = [arch, architecture, tokenizer, config](const Model& written,
                                                            std::string_view metadata_json) -> Result<std::string> {
    Json owf_metadata;
    try {
      owf_metadata = Json::parse(metadata_json);
    } catch (const std::exception& error) {
      return Status::invalid_argument(std::string("metadata: ") + error.what());
    }
    Json kvs = general_kvs(owf_metadata, config, arch, file_type_of(written));
    for (const Json& entry : architecture) kvs.push_back(entry);
    for (const Json& entry : tokenizer) kvs.push_back(entry);
    Json out = {{"architecture", arch}};
    for (const char* key : {"license", "provenance"}) {
      if (owf_metadata.contains(key)) out[key] = owf_metadata[key];
    }
    out["gguf"] = {{"version", 3}, {"alignment", 32}, {"tail_padding", true}, {"kv", std::move(kvs)}};
    return out.dump();
  };
  return std::optional<Export>(std::move(result));
}

}  // namespace owf::formats::hf
