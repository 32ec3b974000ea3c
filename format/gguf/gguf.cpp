#include "gguf/gguf.h"

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

  Result<std::unique_ptr<Model>> open(const std::filesystem::path& path, const OpenOptions&) const override {
    return gguf::open_gguf(path);
  }

  Status write(const Model& model, std::string_view metadata_json, const std::filesystem::path& path,
               const WriteOptions& options) const override {
    return gguf::write_gguf(model, metadata_json, path, options);
  }
};

}  // namespace

std::unique_ptr<Format> make_gguf_format() { return std::make_unique<GgufFormat>(); }

}  // namespace owf::formats
