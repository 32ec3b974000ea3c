#include "gguf/gguf.h"

#include "gguf/gguf_metadata.h"
#include "gguf/gguf_model.h"

namespace owf::formats {
namespace {

class GgufFormat final : public Format {
 public:
  std::string_view name() const override { return "gguf"; }
  std::vector<std::string_view> extensions() const override { return {".gguf"}; }

  // GGUF files, and the legacy ggml family so that open() can name what they are.
  Confidence detect(const std::filesystem::path&, std::span<const std::byte> head) const override {
    // Legacy ggml magics are claimed too, so that open() refuses them by name.
    const bool magic = gguf::has_gguf_magic(head) || gguf::legacy_ggml_refusal(head).has_value();
    return magic ? Confidence::kCertain : Confidence::kNone;
  }

  Result<std::unique_ptr<Model>> open(const std::filesystem::path& path, const OpenOptions& options) const override {
    return gguf::open_gguf(path, options);
  }

  Status write(const Model& model, const OutputMetadata& metadata, const std::filesystem::path& path,
               const WriteOptions& options) const override {
    return gguf::write_gguf(model, metadata, path, options);
  }

  // Parents become general.base_model.* names: GGUF has no key for their content digests.
  bool stores_content_digests() const override { return false; }

  bool has_native_keys() const override { return true; }

  Result<std::string> edit_native_keys(std::string_view metadata_json, std::span<const KeyEdit> edits) const override {
    return gguf::edit_gguf_keys(metadata_json, edits);
  }

  Result<std::optional<std::string>> native_key(std::string_view metadata_json, std::string_view key) const override {
    return gguf::gguf_key(metadata_json, key);
  }
};

}  // namespace

std::unique_ptr<Format> make_gguf_format() { return std::make_unique<GgufFormat>(); }

}  // namespace owf::formats
