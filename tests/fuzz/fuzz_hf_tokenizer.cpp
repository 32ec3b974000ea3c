// Fuzz target for tokenizer.json (with tokenizer_config.json when the input carries one after a
// line "=== tokenizer_config.json") through the GGUF export of a folder carrying them. When the
// export succeeds, its vocabulary must be the tokenizer's: every id holds a token the file gives
// that id (an added token taking precedence, CONTROL or USER_DEFINED; a vocabulary token NORMAL)
// or is a [PAD<id>] UNUSED slot, the merges are all there, and tokenizer_config.json's chat
// template and add_bos/add_eos flags come through unchanged.
#include <cstdlib>
#include <set>

#include "fuzz_hf.h"
#include "owf/text.h"

namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// config.json of the folder: vocab_size bounds the vocabulary, so every execution stays small.
constexpr std::uint64_t kVocabSize = 256;

void check_vocabulary(const Json& tokenizer, const std::map<std::string, Json>& kvs) {
  std::map<std::uint64_t, std::set<std::string>> vocabulary;
  for (const auto& [token, id] : tokenizer["model"]["vocab"].items()) vocabulary[id.get<std::uint64_t>()].insert(token);
  std::map<std::uint64_t, std::string> added;
  if (tokenizer.contains("added_tokens") && tokenizer["added_tokens"].is_array()) {
    for (const Json& token : tokenizer["added_tokens"]) added[token["id"]] = token["content"];
  }
  const Json& tokens = kvs.at("tokenizer.ggml.tokens");
  const Json& types = kvs.at("tokenizer.ggml.token_type");
  if (tokens.size() != kVocabSize) std::abort();
  for (std::uint64_t id = 0; id < kVocabSize; ++id) {
    const std::string& token = tokens[id].get_ref<const std::string&>();
    const int type = types[id];
    if (const auto it = added.find(id); it != added.end()) {
      // A USER_DEFINED token is stored with U+2581 as plain spaces; CONTROL tokens as they are.
      if ((type != 3 && type != 4) || (type == 3 && token != it->second) || token.size() > it->second.size()) {
        std::abort();
      }
    } else if (const auto in_vocabulary = vocabulary.find(id); in_vocabulary != vocabulary.end()) {
      if (type != 1 || !in_vocabulary->second.contains(token)) std::abort();
    } else if (type != 5 || token != "[PAD" + std::to_string(id) + "]") {
      std::abort();
    }
  }
  const auto merges = tokenizer["model"].find("merges");
  const std::size_t merge_count = merges != tokenizer["model"].end() && merges->is_array() ? merges->size() : 0;
  const auto listed = kvs.find("tokenizer.ggml.merges");
  if ((listed == kvs.end() ? 0 : listed->second.size()) != merge_count) std::abort();
}

void check_tokenizer_config(const OrderedJson& config, const std::map<std::string, Json>& kvs) {
  if (config.contains("chat_template") && config["chat_template"].is_string() &&
      kvs.at("tokenizer.chat_template") != config["chat_template"].get<std::string>()) {
    std::abort();
  }
  for (const char* flag : {"add_bos_token", "add_eos_token"}) {
    if (config.contains(flag) && config[flag].is_boolean() &&
        kvs.at(std::string("tokenizer.ggml.") + flag) != config[flag].get<bool>()) {
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (!owf::is_valid_utf8(input)) return 0;  // a folder's JSON files are UTF-8 (RFC 8259)
  const auto files = owf::fuzz::split_files(input, "tokenizer.json");
  const OrderedJson config = {{"architectures", {"LlamaForCausalLM"}}, {"hidden_size", 4},
                              {"num_hidden_layers", 1},                 {"intermediate_size", 8},
                              {"num_attention_heads", 2},               {"vocab_size", kVocabSize}};
  OrderedJson hf = {{"config", config}, {"tokenizer", *owf::fuzz::file_text(files, "tokenizer.json")}};
  std::optional<OrderedJson> tokenizer_config;
  if (const auto text = owf::fuzz::file_text(files, "tokenizer_config.json")) {
    tokenizer_config = OrderedJson::parse(*text, nullptr, false);
    if (tokenizer_config->is_discarded()) return 0;  // the folder reader refuses it
    hf["tokenizer_config"] = *tokenizer_config;
  }
  const owf::fuzz::MetadataModel model(OrderedJson{{"hf", hf}}.dump());
  const auto kvs = owf::fuzz::checked_gguf_export(model);
  if (!kvs) return 0;
  check_vocabulary(Json::parse(hf["tokenizer"].get<std::string>()), *kvs);
  if (tokenizer_config) check_tokenizer_config(*tokenizer_config, *kvs);
  return 0;
}
