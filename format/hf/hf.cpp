#include "hf/hf.h"

#include <system_error>

#include "hf/gguf_to_hf.h"
#include "hf/hf_folder.h"
#include "hf/hf_gguf.h"
#include "hf/hf_writer.h"
#include "owf/owf.h"
#include "owf/source.h"

namespace owf::formats {
namespace {

class HfFormat final : public Format {
 public:
  std::string_view name() const override { return "hf"; }
  std::vector<std::string_view> extensions() const override { return {}; }

  // Every directory and folder URL (ending in '/'; no other format reads one): open() then names
  // what a model folder lacks.
  Confidence detect(const std::filesystem::path& path, std::span<const std::byte> head) const override {
    std::error_code error;
    const bool folder =
        is_url(path.native()) ? path.native().ends_with('/') : std::filesystem::is_directory(path, error);
    return head.empty() && folder ? Confidence::kCertain : Confidence::kNone;
  }

  Result<std::unique_ptr<Model>> open(const std::filesystem::path& path, const OpenOptions& options) const override {
    return hf::open_folder(registry(), path, options);
  }

  Status write(const Model& model, const OutputMetadata& metadata, const std::filesystem::path& path,
               const WriteOptions& options) const override {
    return hf::write_folder(model, metadata, path, options);
  }

  bool writes_directory() const override { return true; }

  Result<std::optional<Export>> export_to(const Format& target, const Model& model) const override {
    if (target.name() == "gguf") return hf::export_to_gguf(model);
    if (target.name() == name()) return hf::export_gguf_to_hf(model);
    return std::optional<Export>();
  }
};

}  // namespace

std::unique_ptr<Format> make_hf_format() { return std::make_unique<HfFormat>(); }

}  // namespace owf::formats
