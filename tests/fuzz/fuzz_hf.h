// Shared body of the Hugging Face fuzz targets: inputs holding several files of a folder, a model
// that is only metadata (what the GGUF export sees of a folder), and the export to GGUF checked
// against what it promises. An export
// that succeeds must produce key-values GGUF can hold (the gguf adapter's writer takes them),
// token, type and score arrays of one length, and special token ids among the tokens; a
// difference aborts, which the fuzzer reports.
#pragma once

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_format.h"
#include "gguf/gguf_metadata.h"
#include "hf/hf_gguf.h"
#include "owf/model.h"

namespace owf::fuzz {

// One file of a multi-file input.
struct InputFile {
  std::string name;
  std::string_view text;
};

// The files of an input: its first file is named `first_name`; each further one starts after a
// line "=== NAME" (seeds are readable as text, and the dictionaries carry the separators).
inline std::vector<InputFile> split_files(std::string_view input, std::string first_name) {
  static constexpr std::string_view kSeparator = "\n=== ";
  std::vector<InputFile> files;
  std::string name = std::move(first_name);
  while (true) {
    const std::size_t next = input.find(kSeparator);
    files.push_back({name, input.substr(0, next)});
    if (next == std::string_view::npos) return files;
    const std::size_t name_start = next + kSeparator.size();
    const std::size_t name_end = input.find('\n', name_start);
    if (name_end == std::string_view::npos) return files;
    name = std::string(input.substr(name_start, name_end - name_start));
    input.remove_prefix(name_end + 1);
  }
}

// The text of file `name` of `files` (the last of that name), or nullopt.
inline std::optional<std::string_view> file_text(const std::vector<InputFile>& files, std::string_view name) {
  std::optional<std::string_view> text;
  for (const InputFile& file : files) {
    if (file.name == name) text = file.text;
  }
  return text;
}

// A Model without tensors whose metadata is the given JSON text.
class MetadataModel final : public Model {
 public:
  explicit MetadataModel(std::string metadata) : metadata_(std::move(metadata)) {}
  std::string format() const override { return "memory"; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  const std::string& metadata() const override { return metadata_; }
  Status read(std::size_t index, std::uint64_t offset, std::span<std::byte> dst) const override {
    return check_read_range(tensors_, index, offset, dst.size(), "memory");
  }

 private:
  std::vector<TensorInfo> tensors_;
  std::string metadata_;
};

// The GGUF key-values of `model`'s export to GGUF by key, checked as the header says; nullopt
// when the export refuses the model (which is fine: the input was bad).
inline std::optional<std::map<std::string, nlohmann::json>> checked_gguf_export(const Model& model) {
  auto exported = formats::hf::export_to_gguf(model);
  if (!exported.ok() || !exported->has_value()) return std::nullopt;
  const Export& result = **exported;
  read_everything(*result.model);
  const auto metadata = result.metadata(*result.model, model.metadata());
  if (!metadata.ok()) return std::nullopt;
  if (!formats::gguf::gguf_layout_from_owf(*metadata).ok()) std::abort();

  std::map<std::string, nlohmann::json> kvs;
  const nlohmann::json written = nlohmann::json::parse(*metadata);
  for (const auto& kv : written["gguf"]["kv"]) kvs[kv["key"]] = kv["value"];
  const std::size_t tokens = kvs.at("tokenizer.ggml.tokens").size();
  if (kvs.at("tokenizer.ggml.token_type").size() != tokens) std::abort();
  if (kvs.contains("tokenizer.ggml.scores") && kvs["tokenizer.ggml.scores"].size() != tokens) std::abort();
  for (const char* special : {"bos", "eos", "unknown", "padding"}) {
    const auto id = kvs.find(std::string("tokenizer.ggml.") + special + "_token_id");
    if (id != kvs.end() && id->second.get<std::uint64_t>() >= tokens) std::abort();
  }
  return kvs;
}

}  // namespace owf::fuzz
