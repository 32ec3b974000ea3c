#include "onnx/onnx.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "onnx/onnx_decode.h"
#include "owf/internal/checked.h"
#include "owf/io.h"
#include "owf/source.h"
#include "owf/text.h"

namespace owf::formats {
namespace {

namespace fs = std::filesystem;
using onnx::ExternalData;
using onnx::ModelDecl;
using onnx::Storage;
using onnx::TensorDecl;

// The bytes of a model: the model file itself (file 0, in memory), the external
// data files it references (1..: mapped, or read by range from URLs), and
// tensors decoded from typed fields in memory.
class OnnxModel final : public Model {
 public:
  OnnxModel(std::vector<std::shared_ptr<const ByteSource>> files, std::string display_name,
            std::vector<std::size_t> file_of, ModelDecl decl)
      : files_(std::move(files)),
        display_name_(std::move(display_name)),
        file_of_(std::move(file_of)),
        decl_(std::move(decl)) {
    for (TensorDecl& tensor : decl_.tensors) tensors_.push_back(tensor.info);
  }

  std::string format() const override { return "ONNX (ir_version " + std::to_string(decl_.ir_version) + ")"; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  const std::string& metadata() const override { return decl_.metadata_json; }

  Status read(std::size_t index, std::uint64_t offset, std::span<std::byte> dst) const override {
    OWF_RETURN_IF_ERROR(check_read_range(tensors_, index, offset, dst.size(), display_name_));
    const TensorDecl& tensor = decl_.tensors[index];
    const std::uint64_t size = tensor.info.byte_size;
    if (dst.empty()) return {};
    if (tensor.storage == Storage::kDecoded) {
      std::memcpy(dst.data(), tensor.decoded.data() + offset, dst.size());
    } else {
      OWF_RETURN_IF_ERROR(files_[file_of_[index]]->read_at(tensor.offset + offset, dst));
    }
    if (tensor.clear_last_nibble && offset + dst.size() == size) dst.back() &= std::byte{0x0F};
    return {};
  }

  std::optional<std::span<const std::byte>> view(std::size_t index) const override {
    const TensorDecl& tensor = decl_.tensors[index];
    if (tensor.storage == Storage::kDecoded) return std::span<const std::byte>(tensor.decoded);
    if (tensor.clear_last_nibble) return std::nullopt;
    const auto mapped = files_[file_of_[index]]->mapped();
    if (!mapped) return std::nullopt;
    return mapped->subspan(tensor.offset, tensor.info.byte_size);
  }

  std::string encoding(std::size_t index) const override {
    const std::string& field = decl_.tensors[index].field;
    if (field == "raw_data") return "raw";
    if (field == "external_data") return "external";
    return field;
  }

  std::uint64_t stored_size(std::size_t index) const override { return decl_.tensors[index].stored_size; }

 private:
  std::vector<std::shared_ptr<const ByteSource>> files_;
  std::string display_name_;          // the model file's name, for messages
  std::vector<std::size_t> file_of_;  // per tensor: index into files_ (unused for kDecoded)
  ModelDecl decl_;
  std::vector<TensorInfo> tensors_;
};

// Opens the external data files of a model, each once, refusing locations that
// are absolute or lead out of the model's folder, before or after symlinks. Of
// a model URL they are URLs in the same folder.
class ExternalFiles {
 public:
  ExternalFiles(fs::path folder, bool url, const HttpOptions& http,
                std::vector<std::shared_ptr<const ByteSource>>& files)
      : folder_(std::move(folder)), url_(url), http_(http), files_(files) {}

  // Checks `external` for `tensor` and returns the index of its file, with
  // tensor.offset set to where its bytes start there.
  Result<std::size_t> resolve(TensorDecl& tensor) {
    const ExternalData& external = tensor.external;
    const std::string where = "external data " + quote(external.location);
    if (external.location.find('\0') != std::string::npos) return Status::corruption(where + " contains a NUL byte");
    const fs::path location(external.location);
    if (location.has_root_path()) return Status::corruption(where + " is an absolute path");
    const fs::path normal = location.lexically_normal();
    if (normal.empty() || *normal.begin() == ".." || *normal.begin() == ".") {
      return Status::corruption(where + " is not a file inside the model's folder");
    }
    fs::path real = folder_ / normal;
    if (!url_) {
      std::error_code error;
      real = fs::canonical(real, error);
      if (error) return Status::not_found(where + " cannot be opened: " + error.message());
      const fs::path inside = real.lexically_relative(folder_);
      if (inside.empty() || *inside.begin() == "..") {
        return Status::corruption(where + " resolves to " + quote(real.string()) + ", outside the model's folder");
      }
      if (!fs::is_regular_file(real, error)) return Status::corruption(where + " is not a regular file");
    }

    OWF_ASSIGN_OR_RETURN(const std::size_t index, open(real));
    const ByteSource& file = *files_[index];
    const std::uint64_t file_size = file.size();
    const std::uint64_t size = tensor.info.byte_size;
    const std::uint64_t length =
        external.length.value_or(external.offset <= file_size ? file_size - external.offset : 0);
    if (length != size) {
      return Status::corruption(where + ": length " + std::to_string(length) + " does not match the tensor's " +
                                std::to_string(size) + " bytes");
    }
    const auto end = checked_add(external.offset, length);
    if (!end || *end > file_size) {
      return Status::corruption(where + ": bytes " + std::to_string(external.offset) + ".." +
                                (end ? std::to_string(*end) : "(overflow)") + " exceed the file's " +
                                std::to_string(file_size) + " bytes");
    }
    tensor.offset = external.offset;
    // Only the last stored byte matters (one request of a URL, for packed 4-bit tensors only).
    if (onnx::odd_packed_count(tensor.info) && size > 0) {
      OWF_ASSIGN_OR_RETURN(const Region last, file.region(tensor.offset + size - 1, 1));
      tensor.clear_last_nibble = onnx::needs_nibble_clear(tensor.info, last.bytes());
    }
    return index;
  }

 private:
  Result<std::size_t> open(const fs::path& real) {
    const auto known = opened_.find(real.string());
    if (known != opened_.end()) return known->second;
    OWF_ASSIGN_OR_RETURN(std::shared_ptr<const ByteSource> file, open_source(real, http_));
    files_.push_back(std::move(file));
    opened_.emplace(real.string(), files_.size() - 1);
    return files_.size() - 1;
  }

  fs::path folder_;  // canonical, or the model URL's folder
  bool url_;
  const HttpOptions& http_;
  std::vector<std::shared_ptr<const ByteSource>>& files_;
  std::map<std::string, std::size_t> opened_;
};

class OnnxFormat final : public Format {
 public:
  std::string_view name() const override { return "onnx"; }
  std::vector<std::string_view> extensions() const override { return {".onnx"}; }

  // A protobuf message has no magic, so any format with a real signature wins.
  Confidence detect(const fs::path& path, std::span<const std::byte> head) const override {
    std::string extension = path.extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return onnx::looks_like_model(head, extension != ".onnx") ? Confidence::kWeak : Confidence::kNone;
  }

  Result<std::unique_ptr<Model>> open(const fs::path& path, const OpenOptions& options) const override {
    const std::string display = display_filename(path);
    if (!options.key.empty()) {
      return Status::invalid_argument(display + ": ONNX models have no keys to select (" + quote(options.key) + ")");
    }
    // The protobuf is decoded from memory: a URL's is fetched whole (with external data, it is small).
    OWF_ASSIGN_OR_RETURN(std::shared_ptr<const ByteSource> model_file, source_of(path, options));
    OWF_ASSIGN_OR_RETURN(model_file, whole_in_memory(std::move(model_file)));
    OWF_ASSIGN_OR_RETURN(ModelDecl decl, onnx::decode_model(*model_file->mapped(), display));
    std::vector<std::shared_ptr<const ByteSource>> files{std::move(model_file)};

    std::vector<std::size_t> file_of(decl.tensors.size(), 0);
    const bool any_external = std::any_of(decl.tensors.begin(), decl.tensors.end(),
                                          [](const TensorDecl& t) { return t.storage == Storage::kExternal; });
    if (any_external) {
      const bool url = is_url(path.native());
      const fs::path parent = path.parent_path().empty() ? fs::path(".") : path.parent_path();
      fs::path folder = parent;
      if (!url) {
        std::error_code error;
        folder = fs::canonical(parent, error);
        if (error) return Status::io_error(display + ": cannot resolve the model's folder: " + error.message());
      }
      ExternalFiles externals(folder, url, options.http, files);
      for (std::size_t i = 0; i < decl.tensors.size(); ++i) {
        TensorDecl& tensor = decl.tensors[i];
        if (tensor.storage != Storage::kExternal) continue;
        auto index = externals.resolve(tensor);
        if (!index.ok()) return index.status().with_context(display + ": tensor " + quote(tensor.info.name));
        file_of[i] = *index;
      }
    }
    return std::unique_ptr<Model>(new OnnxModel(std::move(files), display, std::move(file_of), std::move(decl)));
  }

  Status write(const Model&, const OutputMetadata&, const fs::path&, const WriteOptions&) const override {
    return Status::not_supported("onnx: writing is not supported");
  }
};

}  // namespace

std::unique_ptr<owf::Format> make_onnx_format() { return std::make_unique<OnnxFormat>(); }

}  // namespace owf::formats
