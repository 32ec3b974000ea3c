#include "pytorch/pytorch.h"

#include "pytorch/reader.h"
#include "pytorch/writer.h"

namespace owf::formats {
namespace {

class PyTorchFormat final : public Format {
 public:
  std::string_view name() const override { return "pytorch"; }

  // ".bin" as in Hugging Face's pytorch_model.bin; no other adapter writes .bin files.
  std::vector<std::string_view> extensions() const override { return {".pt", ".pth", ".bin"}; }

  Confidence detect(const std::filesystem::path&, std::span<const std::byte> head) const override {
    return pytorch::checkpoint_confidence(head);
  }

  Result<std::unique_ptr<Model>> open(const std::filesystem::path& path, const OpenOptions& options) const override {
    return pytorch::open_checkpoint(path, options);
  }

  // A state dict keeps no metadata but the ties, which the draft holds (a completion names no tensor).
  Status write(const Model& model, const OutputMetadata& metadata, const std::filesystem::path& path,
               const WriteOptions& options) const override {
    return pytorch::write_checkpoint(model, metadata.draft(), path, options);
  }

  bool stores_content_digests() const override { return false; }
};

}  // namespace

std::unique_ptr<Format> make_pytorch_format() { return std::make_unique<PyTorchFormat>(); }

}  // namespace owf::formats
