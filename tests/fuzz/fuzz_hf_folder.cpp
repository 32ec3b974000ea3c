// Fuzz target for the Hugging Face folder reader and config.json's hyperparameters: the input is
// config.json, then any of the carried files (generation_config.json, tokenizer.json,
// tokenizer_config.json, special_tokens_map.json, tokenizer.model), each after a line
// "=== NAME". They are written into a folder beside a fixed small llama checkpoint
// (model.safetensors) and opened through the hf adapter. What opens must carry every file
// faithfully (a JSON file as its parsed value, tokenizer.json byte for byte, tokenizer.model as
// base64 of its bytes) with every tensor of the checkpoint; a GGUF export that succeeds must say
// what config.json says.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fuzz_hf.h"
#include "hf/hf.h"
#include "hf/hf_folder.h"
#include "owf/internal/bytes.h"

namespace {

namespace fs = std::filesystem;
namespace hf = owf::formats::hf;
using Json = nlohmann::ordered_json;

// The checkpoint beside the files: hidden_size 4 in 2 heads of 2, 1 layer, a vocabulary of 8.
constexpr std::string_view kTensors[][2] = {{"model.embed_tokens.weight", "[8, 4]"},
                                            {"model.layers.0.self_attn.q_proj.weight", "[4, 4]"},
                                            {"model.layers.0.self_attn.k_proj.weight", "[4, 4]"},
                                            {"model.norm.weight", "[4]"},
                                            {"lm_head.weight", "[8, 4]"}};

std::string safetensors_checkpoint() {
  std::string header = "{", data;
  for (const auto& [name, shape] : kTensors) {
    const std::size_t elements = shape == "[4]" ? 4 : shape == "[4, 4]" ? 16 : 32;
    const std::size_t begin = data.size();
    data.append(elements * 2, '\x3c');  // f16 1.0 and neighbours: any bytes are weights
    header += std::string(header.size() > 1 ? "," : "") + "\"" + std::string(name) +
              "\":{\"dtype\":\"F16\",\"shape\":" + std::string(shape) + ",\"data_offsets\":[" + std::to_string(begin) +
              "," + std::to_string(data.size()) + "]}";
  }
  header += "}";
  std::vector<std::byte> bytes;
  owf::append_le<std::uint64_t>(bytes, header.size());
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()) + header + data;
}

void write_file(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) std::abort();  // the fuzzer's own folder: nothing to test without it
}

// A folder for one input (on tmpfs when there is one), removed when the input is done: libFuzzer
// ends an interrupted run (SIGINT, SIGTERM), a timeout or a finding with _Exit, which skips the
// destructor of a folder kept for the whole process.
class Folder {
 public:
  Folder() {
    const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    std::string pattern = (base / "owf-fuzz-hf-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
    static const std::string checkpoint = safetensors_checkpoint();
    write_file(path_ / "model.safetensors", checkpoint);
  }
  Folder(const Folder&) = delete;
  Folder& operator=(const Folder&) = delete;
  ~Folder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

const hf::CarriedFile* carried(std::string_view name) {
  for (const hf::CarriedFile& file : hf::kCarriedFiles) {
    if (file.file_name == name) return &file;
  }
  return nullptr;
}

void check_carried(const Json& section, const std::vector<owf::fuzz::InputFile>& files) {
  for (const hf::CarriedFile& file : hf::kCarriedFiles) {
    const auto text = owf::fuzz::file_text(files, file.file_name);
    if (!text) {
      if (section.contains(file.key)) std::abort();
      continue;
    }
    const Json& value = section.at(file.key);
    switch (file.how) {
      case hf::Carried::kJson:
        if (value != Json::parse(*text)) std::abort();
        break;
      case hf::Carried::kText:
        if (value != *text) std::abort();
        break;
      case hf::Carried::kBase64:
        if (hf::base64_decode(value.get<std::string>()) != *text) std::abort();
        break;
    }
  }
}

// The GGUF key-values config.json's values become (spec/formats/hf.md §4.2).
void check_hyperparameters(const Json& config, const std::map<std::string, nlohmann::json>& kvs) {
  const std::string arch = kvs.at("general.architecture");
  const std::pair<const char*, const char*> keys[] = {{"hidden_size", ".embedding_length"},
                                                      {"num_hidden_layers", ".block_count"},
                                                      {"intermediate_size", ".feed_forward_length"},
                                                      {"num_attention_heads", ".attention.head_count"},
                                                      {"vocab_size", ".vocab_size"}};
  for (const auto& [field, key] : keys) {
    if (config.contains(field) && kvs.at(arch + key).dump() != config[field].dump()) std::abort();
  }
  const std::uint64_t heads = kvs.at(arch + ".attention.head_count");
  const std::uint64_t kv_heads = kvs.at(arch + ".attention.head_count_kv");
  if (kv_heads == 0 || heads % kv_heads != 0 || kvs.at(arch + ".rope.dimension_count").get<std::uint64_t>() % 2 != 0) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto format = owf::formats::make_hf_format();
  const Folder folder;
  const auto files = owf::fuzz::split_files(std::string_view(reinterpret_cast<const char*>(data), size), "config.json");
  for (const hf::CarriedFile& file : hf::kCarriedFiles) {
    if (const auto text = owf::fuzz::file_text(files, file.file_name))
      write_file(folder.path() / file.file_name, *text);
  }
  std::vector<owf::fuzz::InputFile> written;
  for (const auto& file : files) {
    if (carried(file.name) != nullptr) written.push_back(file);
  }

  const auto model = format->open(folder.path(), {});
  if (!model.ok()) return 0;
  if ((*model)->tensors().size() != std::size(kTensors)) std::abort();
  owf::fuzz::read_everything(**model);
  const Json metadata = Json::parse((*model)->metadata());
  const Json& section = metadata.at("hf");
  check_carried(section, written);
  if (section.at("weights") != "model.safetensors") std::abort();

  const auto kvs = owf::fuzz::checked_gguf_export(**model);
  if (kvs) check_hyperparameters(section.at("config"), *kvs);
  return 0;
}
