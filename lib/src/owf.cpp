// The library's entry points (owf/owf.h): the registry of every built-in format,
// and open, write and row reads through it.
#include "owf/owf.h"

#include <string>

#include "owf/internal/checked.h"
#include "owf/internal/registry.h"
#include "owf/text.h"

namespace owf {

const FormatRegistry& registry() {
  static const FormatRegistry* const instance = [] {
    auto* built = new FormatRegistry();  // never destroyed: Models may outlive static destruction
    detail::register_builtin_formats(*built);
    return built;
  }();
  return *instance;
}

Result<const Format*> detect(const std::filesystem::path& path) { return registry().detect(path); }

Result<std::unique_ptr<Model>> open(const std::filesystem::path& path, const OpenOptions& options) {
  return registry().open(path, options);
}

Status write(const Model& model, const OutputMetadata& metadata, const std::filesystem::path& path,
             const WriteOptions& options) {
  OWF_ASSIGN_OR_RETURN(const Format* format, registry().for_output(path, options.format));
  return format->write(model, metadata, path, options);
}

Result<std::uint64_t> row_size(const TensorInfo& info) {
  if (info.shape.empty()) return Status::invalid_argument("tensor " + quote(info.name) + ": a scalar has no rows");
  const std::vector<std::uint64_t> row_shape(info.shape.begin() + 1, info.shape.end());
  const auto row_bytes = storage_size(info.dtype, row_shape);
  if (!row_bytes.ok() || checked_mul(*row_bytes, info.shape[0]) != info.byte_size) {
    return Status::not_supported("tensor " + quote(info.name) + ": rows of " +
                                 std::string(dtype_info(info.dtype).name) +
                                 " elements do not start on byte boundaries");
  }
  return *row_bytes;
}

Status read_rows(const Model& model, std::size_t index, std::uint64_t begin, std::uint64_t end,
                 std::span<std::byte> dst) {
  const auto& tensors = model.tensors();
  if (index >= tensors.size()) {
    return Status::invalid_argument("tensor index " + std::to_string(index) + " out of range (the model has " +
                                    std::to_string(tensors.size()) + " tensors)");
  }
  const TensorInfo& info = tensors[index];
  OWF_ASSIGN_OR_RETURN(const std::uint64_t row_bytes, row_size(info));
  if (begin > end || end > info.shape[0]) {
    return Status::invalid_argument("tensor " + quote(info.name) + ": rows " + std::to_string(begin) + ".." +
                                    std::to_string(end) + " are not within its " + std::to_string(info.shape[0]) +
                                    " rows");
  }
  if ((end - begin) * row_bytes != dst.size()) {
    return Status::invalid_argument("tensor " + quote(info.name) + ": rows " + std::to_string(begin) + ".." +
                                    std::to_string(end) + " take " + std::to_string((end - begin) * row_bytes) +
                                    " bytes, not " + std::to_string(dst.size()));
  }
  return model.read(index, begin * row_bytes, dst);
}

}  // namespace owf
