#include "hf/hf_folder.h"

#include <algorithm>
#include <exception>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "owf/internal/bytes.h"
#include "owf/io.h"
#include "owf/metadata.h"
#include "owf/source.h"
#include "owf/text.h"

namespace owf::formats::hf {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// The weight layouts of a folder, in the order they are looked for (transformers' own order).
constexpr std::array<std::string_view, 4> kWeightFiles = {"model.safetensors.index.json", "model.safetensors",
                                                          "pytorch_model.bin.index.json", "pytorch_model.bin"};
constexpr std::string_view kPytorchIndex = "pytorch_model.bin.index.json";

std::string display(const fs::path& dir, std::string_view file) { return display_name(dir / file); }

// The files of a folder on disk, or of a folder URL (ending in '/'), where a file that answers
// 404 is absent and a file found is opened once, for both the check and the read.
class Folder {
 public:
  Folder(fs::path dir, const OpenOptions& options)
      : dir_(std::move(dir)), remote_(is_url(dir_.native())), options_(options) {}

  fs::path path(std::string_view name) const { return dir_ / name; }

  // Whether the folder has the file: a stat, or of a URL folder a request.
  Result<bool> has(std::string_view name) {
    if (!remote_) {
      std::error_code error;
      return fs::exists(path(name), error);
    }
    if (opened_.contains(std::string(name))) return true;
    auto source = open_source(path(name), options_.http);
    if (source.status().code() == ErrorCode::kNotFound) return false;
    if (!source.ok()) return source.status();
    opened_.emplace(std::string(name), std::move(source).value());
    return true;
  }

  // The text of a file, refused beyond kMaxCarriedFileBytes.
  Result<std::string> text(std::string_view name) {
    OWF_ASSIGN_OR_RETURN(const std::shared_ptr<const ByteSource> source, this->source(name));
    const std::uint64_t size = source->size();
    if (size > kMaxCarriedFileBytes) {
      return Status::not_supported(display_name(path(name)) + ": " + std::to_string(size) +
                                   " bytes exceeds the cap of " + std::to_string(kMaxCarriedFileBytes));
    }
    OWF_ASSIGN_OR_RETURN(const Region bytes, source->region(0, size));
    return std::string(as_chars(bytes.bytes()));
  }

  // Opens a weights file of the folder through `registry`.
  Result<std::unique_ptr<Model>> open(const FormatRegistry& registry, std::string_view name) {
    OpenOptions options;
    options.threads = options_.threads;
    options.http = options_.http;
    if (const auto known = opened_.find(std::string(name)); known != opened_.end()) {
      options.source = known->second;
      options.source_path = path(name);
    }
    return registry.open(path(name), options);
  }

 private:
  Result<std::shared_ptr<const ByteSource>> source(std::string_view name) {
    if (const auto known = opened_.find(std::string(name)); known != opened_.end()) return known->second;
    return open_source(path(name), options_.http);
  }

  fs::path dir_;
  bool remote_;
  const OpenOptions& options_;
  std::map<std::string, std::shared_ptr<const ByteSource>> opened_;  // of a URL folder
};

// Parses a JSON file, refusing nesting beyond what owf metadata allows (the value sits two levels
// down, at hf.<key>). AnyJson: ordered_json keeps key order; nlohmann::json looks keys up in
// O(log n), for files with large objects.
template <typename AnyJson = Json>
Result<AnyJson> parse_json_file(const fs::path& path, const std::string& text) {
  std::size_t depth = 0;
  bool too_deep = false;
  const typename AnyJson::parser_callback_t limit = [&](int level, typename AnyJson::parse_event_t event, AnyJson&) {
    if (event == AnyJson::parse_event_t::object_start || event == AnyJson::parse_event_t::array_start) {
      depth = static_cast<std::size_t>(level) + 1;
      too_deep = too_deep || depth + 2 > kMaxJsonDepth;
    }
    return !too_deep;
  };
  AnyJson value;
  try {
    value = AnyJson::parse(text, limit);
  } catch (const typename AnyJson::parse_error& error) {
    return Status::corruption(display_name(path) + ": invalid JSON at byte " + std::to_string(error.byte) + ": " +
                              error.what());
  } catch (const typename AnyJson::out_of_range& error) {  // a number beyond a double, such as 1e999
    return Status::corruption(display_name(path) + ": invalid JSON: " + error.what());
  }
  if (too_deep) {
    return Status::not_supported(display_name(path) + ": nested more than " + std::to_string(kMaxJsonDepth - 2) +
                                 " levels deep");
  }
  return value;
}

// The tensors of several models (the shards of a checkpoint) as one model.
class FolderModel final : public Model {
 public:
  FolderModel(std::string format, std::vector<std::unique_ptr<Model>> parts, std::string metadata)
      : format_(std::move(format)), parts_(std::move(parts)), metadata_(std::move(metadata)) {
    for (std::size_t part = 0; part < parts_.size(); ++part) {
      for (std::size_t local = 0; local < parts_[part]->tensors().size(); ++local) {
        tensors_.push_back(parts_[part]->tensors()[local]);
        locations_.push_back({part, local});
      }
    }
  }

  std::string format() const override { return format_; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  const std::string& metadata() const override { return metadata_; }
  Status read(std::size_t index, std::uint64_t offset, std::span<std::byte> dst) const override {
    OWF_RETURN_IF_ERROR(check_read_range(tensors_, index, offset, dst.size(), ""));
    return part(index).read(locations_[index].local, offset, dst);
  }
  std::optional<std::span<const std::byte>> view(std::size_t index) const override {
    return part(index).view(locations_[index].local);
  }
  std::string encoding(std::size_t index) const override { return part(index).encoding(locations_[index].local); }
  std::uint64_t stored_size(std::size_t index) const override {
    return part(index).stored_size(locations_[index].local);
  }
  void verify(std::vector<Problem>& problems) const override {
    for (const auto& model : parts_) model->verify(problems);
  }

 private:
  struct Location {
    std::size_t part;
    std::size_t local;
  };
  const Model& part(std::size_t index) const { return *parts_[locations_[index].part]; }

  std::string format_;
  std::vector<std::unique_ptr<Model>> parts_;
  std::vector<TensorInfo> tensors_;
  std::vector<Location> locations_;
  std::string metadata_;
};

// pytorch_model.bin.index.json: {"metadata": {...}, "weight_map": {tensor: shard file}}. Each shard
// is opened through the registry; every tensor must be in the shard the map names, and every
// tensor the map names must be found.
Result<std::vector<std::unique_ptr<Model>>> open_pytorch_shards(const FormatRegistry& registry, Folder& folder) {
  const fs::path index_path = folder.path(kPytorchIndex);
  OWF_ASSIGN_OR_RETURN(const std::string text, folder.text(kPytorchIndex));
  OWF_ASSIGN_OR_RETURN(const Json index, parse_json_file(index_path, text));
  const std::string where = display_name(index_path);
  const auto map = index.is_object() ? index.find("weight_map") : index.end();
  if (map == index.end() || !map->is_object()) return Status::corruption(where + ": no \"weight_map\" object");
  std::map<std::string, std::string> shard_of;
  for (const auto& [tensor, shard] : map->items()) {
    if (!shard.is_string()) return Status::corruption(where + ": weight_map[" + quote(tensor) + "] is not a string");
    const std::string& name = shard.get_ref<const std::string&>();
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
      return Status::corruption(where + ": shard " + quote(name) + " is not a file name in the folder");
    }
    shard_of[tensor] = name;
  }
  std::vector<std::string> shards;
  for (const auto& [tensor, shard] : shard_of) shards.push_back(shard);
  std::sort(shards.begin(), shards.end());
  shards.erase(std::unique(shards.begin(), shards.end()), shards.end());

  std::vector<std::unique_ptr<Model>> parts;
  std::size_t found = 0;
  for (const std::string& shard : shards) {
    OWF_ASSIGN_OR_RETURN(auto model, folder.open(registry, shard));
    for (const TensorInfo& tensor : model->tensors()) {
      const auto entry = shard_of.find(tensor.name);
      if (entry == shard_of.end() || entry->second != shard) {
        return Status::corruption(where + ": shard " + quote(shard) + " holds tensor " + quote(tensor.name) +
                                  (entry == shard_of.end() ? ", which the weight_map does not list"
                                                           : ", which the weight_map puts in " + quote(entry->second)));
      }
    }
    found += model->tensors().size();
    parts.push_back(std::move(model));
  }
  if (found != shard_of.size()) {
    for (const auto& [tensor, shard] : shard_of) {
      bool present = false;
      for (const auto& part : parts) present = present || part->find(tensor).has_value();
      if (!present) {
        return Status::corruption(where + ": weight_map puts tensor " + quote(tensor) + " in " + quote(shard) +
                                  ", which does not hold it");
      }
    }
  }
  return parts;
}

}  // namespace

std::string base64_encode(std::span<const std::byte> bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t group = 0;
    for (std::size_t k = 0; k < 3; ++k) {
      group = group << 8 | (k < n ? std::to_integer<std::uint32_t>(bytes[i + k]) : 0);
    }
    for (std::size_t k = 0; k < 4; ++k) text += k <= n ? kAlphabet[(group >> (18 - 6 * k)) & 63] : '=';
  }
  return text;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  const auto value_of = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string bytes;
  bytes.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::size_t padding = last ? (text[i + 3] == '=') + (text[i + 2] == '=' && text[i + 3] == '=') : 0;
    std::uint32_t group = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const int value = k >= 4 - padding ? 0 : value_of(text[i + k]);
      if (value < 0) return std::nullopt;
      group = group << 6 | static_cast<std::uint32_t>(value);
    }
    for (std::size_t k = 0; k < 3 - padding; ++k) bytes += static_cast<char>(group >> (16 - 8 * k));
  }
  return bytes;
}

Result<std::unique_ptr<Model>> open_folder(const FormatRegistry& registry, const fs::path& dir,
                                           const OpenOptions& options) {
  Folder folder(dir, options);
  OWF_ASSIGN_OR_RETURN(const bool has_config, folder.has("config.json"));
  if (!has_config) {
    return Status::not_found(display(dir, "config.json") +
                             ": missing (a Hugging Face model folder needs config.json and its weights)");
  }
  const std::string_view* weights = kWeightFiles.end();
  for (const std::string_view& name : kWeightFiles) {
    OWF_ASSIGN_OR_RETURN(const bool found, folder.has(name));
    if (found) {
      weights = &name;
      break;
    }
  }
  if (weights == kWeightFiles.end()) {
    return Status::not_found(display_name(dir) +
                             ": no weights (model.safetensors, model.safetensors.index.json, pytorch_model.bin "
                             "or pytorch_model.bin.index.json)");
  }

  std::vector<std::unique_ptr<Model>> parts;
  if (*weights == kPytorchIndex) {
    OWF_ASSIGN_OR_RETURN(parts, open_pytorch_shards(registry, folder));
  } else {
    OWF_ASSIGN_OR_RETURN(auto model, folder.open(registry, *weights));
    parts.push_back(std::move(model));
  }

  // The weights' own metadata (e.g. a "safetensors" section) comes first, then the folder's files.
  Json metadata;
  try {
    metadata = Json::parse(parts.front()->metadata());
  } catch (const std::exception& parse_error) {
    return Status::corruption(display(dir, *weights) + ": metadata: " + parse_error.what());
  }
  Json section = Json::object();
  for (const CarriedFile& carried : kCarriedFiles) {
    const fs::path path = folder.path(carried.file_name);
    OWF_ASSIGN_OR_RETURN(const bool found, folder.has(carried.file_name));
    if (!found) continue;
    OWF_ASSIGN_OR_RETURN(const std::string text, folder.text(carried.file_name));
    switch (carried.how) {
      case Carried::kJson: {
        OWF_ASSIGN_OR_RETURN(section[carried.key], parse_json_file(path, text));
        break;
      }
      case Carried::kText:
        OWF_RETURN_IF_ERROR(parse_json_file<nlohmann::json>(path, text).status());
        section[carried.key] = text;
        break;
      case Carried::kBase64: section[carried.key] = base64_encode(as_bytes(std::string_view(text))); break;
    }
  }
  if (!section["config"].is_object()) return Status::corruption(display(dir, "config.json") + ": not a JSON object");
  section["weights"] = *weights;
  // find(), not operator[]: the carried config.json must stay as the file has it.
  const auto model_type = section["config"].find("model_type");
  if (model_type != section["config"].end() && model_type->is_string() && !metadata.contains("architecture")) {
    metadata["architecture"] = *model_type;
  }
  metadata[kSection] = std::move(section);

  std::string format = "hf folder (" + parts.front()->format();
  if (parts.size() > 1) format = "hf folder (pytorch, " + std::to_string(parts.size()) + " shards";
  std::string text;
  try {
    text = metadata.dump();
  } catch (const std::exception& dump_error) {  // a string that is not UTF-8
    return Status::corruption(display_name(dir) + ": " + dump_error.what());
  }
  return std::unique_ptr<Model>(std::make_unique<FolderModel>(format + ")", std::move(parts), std::move(text)));
}

}  // namespace owf::formats::hf
