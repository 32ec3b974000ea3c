#include "hf/gguf_tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "hf/hf_folder.h"
#include "hf/hf_gguf.h"
#include "hf/sentencepiece.h"
#include "owf/text.h"

namespace owf::formats::hf {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kSpaceMark = "\xe2\x96\x81";  // U+2581, SentencePiece's space

constexpr std::int32_t kUnknown = static_cast<std::int32_t>(PieceType::kUnknown);
constexpr std::int32_t kControl = static_cast<std::int32_t>(PieceType::kControl);
constexpr std::int32_t kUserDefined = static_cast<std::int32_t>(PieceType::kUserDefined);
constexpr std::int32_t kUnused = static_cast<std::int32_t>(PieceType::kUnused);
constexpr std::int32_t kByte = static_cast<std::int32_t>(PieceType::kByte);

// The tokenizer.ggml.* key-values, checked.
struct GgufVocabulary {
  std::string model;  // "llama" or "gpt2"
  std::string pre;    // gpt2 only: "gpt2", "llama-bpe" or "qwen2"
  std::vector<std::string> tokens;
  std::vector<double> scores;  // llama only
  std::vector<std::int32_t> types;
  const Json* merges = nullptr;  // gpt2 only: "a b" strings
  std::optional<std::uint64_t> bos, eos, unk, pad;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = true;
  Json chat_template;  // null, a string, or [{"name", "template"}]
};

Status key_error(std::string_view key, std::string_view problem) {
  return Status::invalid_argument("GGUF key " + quote(key) + ": " + std::string(problem));
}

class TokenizerKeys {
 public:
  explicit TokenizerKeys(const Json& kv_list) {
    for (const Json& entry : kv_list) {
      if (entry.is_object() && entry.contains("key") && entry["key"].is_string() && entry.contains("value")) {
        entries_[entry["key"].get<std::string>()] = &entry;
      }
    }
  }

  const Json* value(const std::string& key) const {
    const auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &(*it->second)["value"];
  }

  // The elements of an array key, `count` of them when given.
  Result<const Json*> array(const std::string& key, std::optional<std::size_t> count) const {
    const auto it = entries_.find(key);
    if (it == entries_.end()) return static_cast<const Json*>(nullptr);
    const Json& value = (*it->second)["value"];
    if (it->second->value("type", "") != "array" || !value.is_array()) return key_error(key, "not an array");
    if (count && value.size() != *count) {
      return key_error(key, std::to_string(value.size()) + " elements for " + std::to_string(*count) + " tokens");
    }
    return &value;
  }

  Result<std::optional<std::string>> string(const std::string& key) const {
    const Json* found = value(key);
    if (found == nullptr) return std::optional<std::string>();
    if (!found->is_string()) return key_error(key, "not a UTF-8 string");
    return std::optional<std::string>(found->get<std::string>());
  }

  std::optional<bool> flag(const std::string& key) const {
    const Json* found = value(key);
    if (found == nullptr || !found->is_boolean()) return std::nullopt;
    return found->get<bool>();
  }

  // A token id; one beyond the tokens is ignored, as llama.cpp ignores it.
  std::optional<std::uint64_t> token_id(const std::string& key, std::size_t token_count) const {
    const Json* found = value(key);
    if (found == nullptr || !found->is_number_unsigned() || found->get<std::uint64_t>() >= token_count) {
      return std::nullopt;
    }
    return found->get<std::uint64_t>();
  }

  // tokenizer.chat_template and tokenizer.chat_template.<name>, as tokenizer_config.json holds them.
  Json chat_template() const {
    constexpr std::string_view kKey = "tokenizer.chat_template";
    Json named = Json::array();
    const Json* plain = nullptr;
    for (const auto& [key, entry] : entries_) {
      if (!(*entry)["value"].is_string()) continue;
      if (key == kKey) {
        plain = &(*entry)["value"];
      } else if (key.starts_with(kKey) && key.size() > kKey.size() + 1 && key[kKey.size()] == '.') {
        named.push_back({{"name", key.substr(kKey.size() + 1)}, {"template", (*entry)["value"]}});
      }
    }
    if (named.empty()) return plain == nullptr ? Json() : *plain;
    if (plain != nullptr) named.insert(named.begin(), Json{{"name", "default"}, {"template", *plain}});
    return named;
  }

 private:
  std::map<std::string, const Json*, std::less<>> entries_;
};

Result<GgufVocabulary> read_vocabulary(const TokenizerKeys& keys, std::string model) {
  GgufVocabulary vocab;
  vocab.model = std::move(model);
  if (vocab.model != "llama" && vocab.model != "gpt2") {
    return key_error("tokenizer.ggml.model",
                     quote(vocab.model) + " has no Hugging Face tokenizer.json export; supported: llama, gpt2");
  }
  OWF_ASSIGN_OR_RETURN(const Json* tokens, keys.array("tokenizer.ggml.tokens", std::nullopt));
  if (tokens == nullptr || tokens->empty()) return key_error("tokenizer.ggml.tokens", "missing or empty");
  for (const Json& token : *tokens) {
    if (!token.is_string()) {
      return key_error("tokenizer.ggml.tokens",
                       "element " + std::to_string(vocab.tokens.size()) + " is not a UTF-8 string");
    }
    vocab.tokens.push_back(token.get<std::string>());
  }
  const std::size_t count = vocab.tokens.size();
  OWF_ASSIGN_OR_RETURN(const Json* types, keys.array("tokenizer.ggml.token_type", count));
  vocab.types.assign(count, static_cast<std::int32_t>(PieceType::kNormal));
  for (std::size_t id = 0; types != nullptr && id < count; ++id) {
    if (!(*types)[id].is_number_integer()) {
      return key_error("tokenizer.ggml.token_type", "element " + std::to_string(id) + " is not an integer");
    }
    vocab.types[id] = (*types)[id].get<std::int32_t>();
  }
  if (vocab.model == "llama") {
    OWF_ASSIGN_OR_RETURN(const Json* scores, keys.array("tokenizer.ggml.scores", count));
    vocab.scores.assign(count, 0.0);
    for (std::size_t id = 0; scores != nullptr && id < count; ++id) {
      if (!(*scores)[id].is_number()) {
        return key_error("tokenizer.ggml.scores", "element " + std::to_string(id) + " is not a finite number");
      }
      vocab.scores[id] = (*scores)[id].get<double>();
    }
  } else {
    OWF_ASSIGN_OR_RETURN(std::optional<std::string> pre, keys.string("tokenizer.ggml.pre"));
    vocab.pre = pre.value_or("gpt2");
    const bool split = std::any_of(std::begin(kSplitPreTokenizers), std::end(kSplitPreTokenizers),
                                   [&](const SplitPreTokenizer& known) { return known.gguf_name == vocab.pre; });
    if (vocab.pre != "gpt2" && !split) {
      std::string known = "gpt2";
      for (const auto& entry : kSplitPreTokenizers) known += ", " + std::string(entry.gguf_name);
      return key_error("tokenizer.ggml.pre",
                       quote(vocab.pre) + " has no tokenizer.json form owf knows (known: " + known + ")");
    }
    OWF_ASSIGN_OR_RETURN(vocab.merges, keys.array("tokenizer.ggml.merges", std::nullopt));
    if (vocab.merges == nullptr) return key_error("tokenizer.ggml.merges", "missing; a BPE tokenizer needs merges");
    for (std::size_t i = 0; i < vocab.merges->size(); ++i) {
      const Json& merge = (*vocab.merges)[i];
      if (!merge.is_string() || merge.get_ref<const std::string&>().find(' ', 1) == std::string::npos) {
        return key_error("tokenizer.ggml.merges", "element " + std::to_string(i) + " is not \"a b\"");
      }
    }
  }
  vocab.bos = keys.token_id("tokenizer.ggml.bos_token_id", count);
  vocab.eos = keys.token_id("tokenizer.ggml.eos_token_id", count);
  vocab.unk = keys.token_id("tokenizer.ggml.unknown_token_id", count);
  vocab.pad = keys.token_id("tokenizer.ggml.padding_token_id", count);
  if (!vocab.unk && vocab.model == "llama") {
    const auto unknown = std::find(vocab.types.begin(), vocab.types.end(), kUnknown);
    if (unknown != vocab.types.end()) vocab.unk = static_cast<std::uint64_t>(unknown - vocab.types.begin());
  }
  // llama.cpp's defaults when the keys are absent: BOS for SentencePiece and llama 3.
  vocab.add_bos =
      keys.flag("tokenizer.ggml.add_bos_token").value_or(vocab.model == "llama" || vocab.pre == "llama-bpe");
  vocab.add_eos = keys.flag("tokenizer.ggml.add_eos_token").value_or(false);
  vocab.add_space_prefix = keys.flag("tokenizer.ggml.add_space_prefix").value_or(true);
  vocab.chat_template = keys.chat_template();
  return vocab;
}

bool is_added(std::int32_t type) { return type == kUnknown || type == kControl || type == kUserDefined; }

// An object with `count` members known to have distinct keys, built without ordered_json's
// linear duplicate check per insertion (a vocabulary has 100k+ members).
void append_member(Json& object, std::string key, Json value) {
  auto& members = static_cast<Json::object_t::Container&>(object.get_ref<Json::object_t&>());
  members.emplace_back(std::move(key), std::move(value));
}

// The first id of every distinct token text (duplicates are unreachable in tokenizer.json's
// vocabulary, which is a map).
std::unordered_map<std::string_view, std::uint64_t> first_ids(const GgufVocabulary& vocab) {
  std::unordered_map<std::string_view, std::uint64_t> ids;
  ids.reserve(vocab.tokens.size());
  for (std::uint64_t id = 0; id < vocab.tokens.size(); ++id) ids.emplace(vocab.tokens[id], id);
  return ids;
}

// SentencePiece BPE merges the adjacent pair whose merged piece scores highest. As BPE merges,
// every split of a piece into two pieces, ranked by the merged piece's score (highest first), then
// its id, then the ids of the halves: how transformers converts Llama's tokenizer.model. A split
// with a space in a half is left out: the normalizer has turned every space into U+2581 before
// BPE runs, so it could never apply (and "a b" would be ambiguous).
Json sentencepiece_merges(const GgufVocabulary& vocab, const std::unordered_map<std::string_view, std::uint64_t>& ids) {
  std::vector<std::uint64_t> by_score(vocab.tokens.size());
  std::iota(by_score.begin(), by_score.end(), 0);
  std::stable_sort(by_score.begin(), by_score.end(),
                   [&](std::uint64_t a, std::uint64_t b) { return vocab.scores[a] > vocab.scores[b]; });
  struct Merge {
    std::uint64_t left, right;
  };
  std::vector<Merge> merges;
  for (const std::uint64_t id : by_score) {
    const std::string_view piece = vocab.tokens[id];
    if (ids.at(piece) != id || piece.find(' ') != std::string_view::npos) continue;
    const std::size_t first = merges.size();
    for (std::size_t cut = 1; cut < piece.size(); ++cut) {
      if ((static_cast<unsigned char>(piece[cut]) & 0xC0) == 0x80) continue;  // inside a UTF-8 sequence
      const auto left = ids.find(piece.substr(0, cut));
      const auto right = ids.find(piece.substr(cut));
      if (left == ids.end() || right == ids.end()) continue;
      merges.push_back({left->second, right->second});
    }
    std::sort(merges.begin() + static_cast<std::ptrdiff_t>(first), merges.end(),
              [](const Merge& a, const Merge& b) { return a.left != b.left ? a.left < b.left : a.right < b.right; });
  }
  Json out = Json::array();
  out.get_ref<Json::array_t&>().reserve(merges.size());
  for (const Merge& merge : merges) out.push_back(vocab.tokens[merge.left] + " " + vocab.tokens[merge.right]);
  return out;
}

Json template_processing(const GgufVocabulary& vocab) {
  std::vector<std::uint64_t> before, after;
  if (vocab.add_bos && vocab.bos) before.push_back(*vocab.bos);
  if (vocab.add_eos && vocab.eos) after.push_back(*vocab.eos);
  if (before.empty() && after.empty()) return Json();
  const auto special = [&](std::uint64_t id, int type_id) {
    return Json{{"SpecialToken", {{"id", vocab.tokens[id]}, {"type_id", type_id}}}};
  };
  const auto sequence = [](const char* name, int type_id) {
    return Json{{"Sequence", {{"id", name}, {"type_id", type_id}}}};
  };
  Json single = Json::array();
  for (const std::uint64_t id : before) single.push_back(special(id, 0));
  single.push_back(sequence("A", 0));
  for (const std::uint64_t id : after) single.push_back(special(id, 0));
  Json pair = single;
  for (const std::uint64_t id : before) pair.push_back(special(id, 1));
  pair.push_back(sequence("B", 1));
  for (const std::uint64_t id : after) pair.push_back(special(id, 1));
  Json specials = Json::object();
  for (const auto* ids : {&before, &after}) {
    for (const std::uint64_t id : *ids) {
      const std::string& text = vocab.tokens[id];
      specials[text] = {{"id", text}, {"ids", Json::array({id})}, {"tokens", Json::array({text})}};
    }
  }
  return {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", specials}};
}

Json byte_level(bool add_prefix_space, bool trim_offsets, bool use_regex) {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", add_prefix_space},
          {"trim_offsets", trim_offsets},
          {"use_regex", use_regex}};
}

Json replace(std::string_view from, std::string_view to) {
  return {{"type", "Replace"}, {"pattern", {{"String", from}}}, {"content", to}};
}

std::string tokenizer_json(const GgufVocabulary& vocab) {
  const bool spm = vocab.model == "llama";
  const auto ids = first_ids(vocab);
  Json added = Json::array();
  Json model_vocab = Json::object();
  for (std::uint64_t id = 0; id < vocab.tokens.size(); ++id) {
    const std::int32_t type = vocab.types[id];
    if (is_added(type)) {
      added.push_back({{"id", id},
                       {"content", vocab.tokens[id]},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", type != kUserDefined}});
    }
    // Byte-level vocabularies had no ids where owf's GGUF has [PAD<id>] placeholders.
    if (ids.at(vocab.tokens[id]) == id && (spm || type != kUnused)) append_member(model_vocab, vocab.tokens[id], id);
  }
  Json tokenizer = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", added}};
  Json model = {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", vocab.unk ? Json(vocab.tokens[*vocab.unk]) : Json()},
                {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr},
                {"fuse_unk", spm},
                {"byte_fallback", spm},
                {"ignore_merges", vocab.pre == "llama-bpe"}};
  Json processor = template_processing(vocab);
  if (spm) {
    // llama.cpp's SentencePiece tokenizer: a space before the text (and after each special
    // token) when add_space_prefix, spaces as U+2581; pieces missing from the vocabulary as bytes.
    Json normalizers = Json::array();
    if (vocab.add_space_prefix) normalizers.push_back({{"type", "Prepend"}, {"prepend", kSpaceMark}});
    normalizers.push_back(replace(" ", kSpaceMark));
    tokenizer["normalizer"] = {{"type", "Sequence"}, {"normalizers", normalizers}};
    tokenizer["pre_tokenizer"] = nullptr;
    tokenizer["post_processor"] = processor;
    Json decoders = Json::array({replace(kSpaceMark, " "), Json{{"type", "ByteFallback"}}, Json{{"type", "Fuse"}}});
    if (vocab.add_space_prefix) decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
    tokenizer["decoder"] = {{"type", "Sequence"}, {"decoders", decoders}};
    model["vocab"] = std::move(model_vocab);
    model["merges"] = sentencepiece_merges(vocab, ids);
  } else {
    // Qwen2's tokenizer normalizes to NFC; llama 3's and GPT-2's do not normalize.
    tokenizer["normalizer"] = vocab.pre == "qwen2" ? Json{{"type", "NFC"}} : Json();
    if (vocab.pre == "gpt2") {
      tokenizer["pre_tokenizer"] = byte_level(false, true, true);
    } else {
      const auto split = std::find_if(std::begin(kSplitPreTokenizers), std::end(kSplitPreTokenizers),
                                      [&](const SplitPreTokenizer& known) { return known.gguf_name == vocab.pre; });
      tokenizer["pre_tokenizer"] = {{"type", "Sequence"},
                                    {"pretokenizers", Json::array({Json{{"type", "Split"},
                                                                        {"pattern", {{"Regex", split->regex}}},
                                                                        {"behavior", "Isolated"},
                                                                        {"invert", false}},
                                                                   byte_level(false, false, false)})}};
    }
    Json byte_level_processor = byte_level(true, false, true);
    tokenizer["post_processor"] =
        processor.is_null()
            ? byte_level_processor
            : Json{{"type", "Sequence"}, {"processors", Json::array({byte_level_processor, processor})}};
    tokenizer["decoder"] = byte_level(true, true, true);
    model["vocab"] = std::move(model_vocab);
    model["merges"] = *vocab.merges;
  }
  tokenizer["model"] = std::move(model);
  return tokenizer.dump(2);
}

Json added_token_entry(const std::string& content) {
  return {{"content", content}, {"lstrip", false}, {"normalized", false}, {"rstrip", false}, {"single_word", false}};
}

constexpr std::pair<const char*, std::optional<std::uint64_t> GgufVocabulary::*> kSpecialTokens[] = {
    {"bos_token", &GgufVocabulary::bos},
    {"eos_token", &GgufVocabulary::eos},
    {"unk_token", &GgufVocabulary::unk},
    {"pad_token", &GgufVocabulary::pad}};

// Keys in the order transformers' save_pretrained writes them (sorted).
Json tokenizer_config(const GgufVocabulary& vocab) {
  Json config;
  config["add_bos_token"] = vocab.add_bos;
  config["add_eos_token"] = vocab.add_eos;
  Json decoder = Json::object();
  for (std::uint64_t id = 0; id < vocab.tokens.size(); ++id) {
    if (!is_added(vocab.types[id])) continue;
    Json entry = added_token_entry(vocab.tokens[id]);
    entry["special"] = vocab.types[id] != kUserDefined;
    append_member(decoder, std::to_string(id), std::move(entry));
  }
  config["added_tokens_decoder"] = std::move(decoder);
  if (vocab.bos) config["bos_token"] = vocab.tokens[*vocab.bos];
  if (!vocab.chat_template.is_null()) config["chat_template"] = vocab.chat_template;
  config["clean_up_tokenization_spaces"] = false;
  if (vocab.eos) config["eos_token"] = vocab.tokens[*vocab.eos];
  // legacy: keep tokenizer.json's normalizer, which adds the space prefix as llama.cpp does.
  if (vocab.model == "llama") config["legacy"] = true;
  if (vocab.pad) config["pad_token"] = vocab.tokens[*vocab.pad];
  config["tokenizer_class"] = vocab.model == "llama" ? "LlamaTokenizer" : "PreTrainedTokenizerFast";
  if (vocab.unk) config["unk_token"] = vocab.tokens[*vocab.unk];
  return config;
}

Json special_tokens_map(const GgufVocabulary& vocab) {
  Json map = Json::object();
  for (const auto& [name, id] : kSpecialTokens) {
    if (vocab.*id) map[name] = added_token_entry(vocab.tokens[*(vocab.*id)]);
  }
  return map;
}

// tokenizer.model: the vocabulary as a SentencePiece BPE model, which merges the adjacent pair whose
// merged text is the highest-scoring piece, as llama.cpp's SentencePiece tokenizer does (whatever
// model type the pieces were trained with). Nullopt for a vocabulary sentencepiece would refuse to
// load: an empty or repeated piece, a token type outside 1..6, other than one UNKNOWN piece, or BYTE
// pieces other than all 256 <0xXX>.
std::optional<std::string> sentencepiece_file(const GgufVocabulary& vocab) {
  SentencePieceModel model;
  model.model_type = 2;  // BPE
  std::unordered_set<std::string_view> seen;
  // sentencepiece's name of a byte piece: "<0x41>", two upper-case hex digits.
  const auto byte_name = [](std::string_view text) {
    const auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
    return text.size() == 6 && text.starts_with("<0x") && hex(text[3]) && hex(text[4]) && text[5] == '>';
  };
  std::size_t unknown = 0;
  std::size_t bytes = 0;  // distinct, as every piece is
  for (std::size_t id = 0; id < vocab.tokens.size(); ++id) {
    const std::string& text = vocab.tokens[id];
    const std::int32_t type = vocab.types[id];
    if (text.empty() || !seen.insert(text).second || type < 1 || type > 6) return std::nullopt;
    if (type == kUnknown) ++unknown;
    if (type == kByte && !byte_name(text)) return std::nullopt;
    if (type == kByte) ++bytes;
    model.pieces.push_back({text, static_cast<float>(vocab.scores[id]), static_cast<PieceType>(type)});
  }
  if (unknown != 1 || (bytes != 0 && bytes != 256)) return std::nullopt;
  const auto id_of = [](const std::optional<std::uint64_t>& id) { return id ? static_cast<std::int32_t>(*id) : -1; };
  model.unk_id = id_of(vocab.unk);
  model.bos_id = id_of(vocab.bos);
  model.eos_id = id_of(vocab.eos);
  model.pad_id = id_of(vocab.pad);
  model.add_dummy_prefix = vocab.add_space_prefix;
  return base64_encode(encode_sentencepiece(model));
}

}  // namespace

Status add_tokenizer_files(const Json& gguf_kv, Json& hf_section) {
  const TokenizerKeys keys(gguf_kv);
  OWF_ASSIGN_OR_RETURN(std::optional<std::string> model, keys.string("tokenizer.ggml.model"));
  if (!model) return {};
  OWF_ASSIGN_OR_RETURN(const GgufVocabulary vocab, read_vocabulary(keys, std::move(*model)));
  hf_section["tokenizer"] = tokenizer_json(vocab);
  hf_section["tokenizer_config"] = tokenizer_config(vocab);
  hf_section["special_tokens_map"] = special_tokens_map(vocab);
  if (vocab.model == "llama") {
    if (auto file = sentencepiece_file(vocab)) hf_section["tokenizer_model"] = std::move(*file);
  }
  return {};
}

}  // namespace owf::formats::hf
