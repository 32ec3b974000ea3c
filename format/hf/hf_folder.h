// Reading a Hugging Face model folder into a Model whose metadata carries config.json and the
// tokenizer files (spec/formats/hf.md §2-3), and the names those files travel under.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "owf/format.h"
#include "owf/model.h"
#include "owf/status.h"

namespace owf::formats::hf {

// The owf metadata key holding everything the folder had besides its weights.
inline constexpr std::string_view kSection = "hf";

// How a file of the folder travels in metadata, under hf.<key>.
enum class Carried {
  kJson,    // the parsed value
  kText,    // the file's text as a JSON string: tokenizer.json, whose 100k+ member vocabulary would
            // make every reader of the metadata slow as an object, and which stays byte-exact
  kBase64,  // binary files (tokenizer.model)
};

struct CarriedFile {
  std::string_view file_name;
  std::string_view key;
  Carried how;
};

inline constexpr std::array<CarriedFile, 6> kCarriedFiles = {{
    {"config.json", "config", Carried::kJson},
    {"generation_config.json", "generation_config", Carried::kJson},
    {"tokenizer.json", "tokenizer", Carried::kText},
    {"tokenizer_config.json", "tokenizer_config", Carried::kJson},
    {"special_tokens_map.json", "special_tokens_map", Carried::kJson},
    {"tokenizer.model", "tokenizer_model", Carried::kBase64},
}};

// Files larger than this are refused before they are read (the largest tokenizer.json files
// published are ~35 MB).
inline constexpr std::uint64_t kMaxCarriedFileBytes = 256u << 20;

// Opens the folder `dir` (a path, or a URL ending in '/' whose files are fetched, a 404 meaning
// absent): config.json and the first weights found among model.safetensors.index.json,
// model.safetensors, pytorch_model.bin.index.json and pytorch_model.bin, read through `registry`
// with the threads and HTTP options of `options`. Messages name the folder and the missing or
// damaged file.
Result<std::unique_ptr<Model>> open_folder(const FormatRegistry& registry, const std::filesystem::path& dir,
                                           const OpenOptions& options);

// RFC 4648 base64 with padding, and its strict inverse (nullopt for anything else).
std::string base64_encode(std::span<const std::byte> bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace owf::formats::hf
