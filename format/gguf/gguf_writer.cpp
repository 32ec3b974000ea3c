#include <algorithm>
#include <numeric>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_metadata.h"
#include "gguf/gguf_model.h"
#include "owf/format.h"
#include "owf/internal/checked.h"
#include "owf/internal/writing.h"
#include "owf/io.h"
#include "owf/text.h"

namespace owf::formats::gguf {
namespace {

constexpr std::string_view kQuantizationVersionKey = "general.quantization_version";
constexpr std::uint32_t kQuantizationVersion = 2;  // ggml's GGML_QNT_VERSION

Result<TensorRecord> record_for(const TensorInfo& tensor, std::uint64_t offset) {
  const std::string where = "tensor " + quote(tensor.name);
  const auto ggml_type = ggml_from_dtype(tensor.dtype);
  if (!ggml_type) {
    return Status::not_supported(where + ": dtype " + std::string(dtype_info(tensor.dtype).name) + " has no GGUF type");
  }
  if (tensor.shape.size() > kMaxDims) {
    return Status::not_supported(where + ": rank " + std::to_string(tensor.shape.size()) + " exceeds GGUF's limit of " +
                                 std::to_string(kMaxDims) + " dimensions");
  }
  if (tensor.name.size() > kMaxTensorNameBytes) {
    return Status::not_supported(where + ": name is " + std::to_string(tensor.name.size()) +
                                 " bytes; GGUF allows at most " + std::to_string(kMaxTensorNameBytes));
  }
  if (std::any_of(tensor.shape.begin(), tensor.shape.end(), [](std::uint64_t dim) { return dim > kMaxDimension; })) {
    return Status::not_supported(where + ": a dimension exceeds INT64_MAX, ggml's limit");
  }
  TensorRecord record;
  record.name = tensor.name;
  record.dims.assign(tensor.shape.rbegin(), tensor.shape.rend());
  record.ggml_type = *ggml_type;
  record.offset = offset;
  return record;
}

// GGUF requires general.quantization_version as soon as one tensor is quantized (ggml
// docs/gguf.md); a model quantized on the way (owf convert --dtype q8_0) does not have it yet.
void add_quantization_version(const Model& model, FileLayout& layout) {
  const auto quantized = [](const TensorInfo& tensor) {
    return dtype_info(tensor.dtype).kind == DTypeKind::kQuantized;
  };
  const auto has_key = [](const KeyValue& kv) { return kv.key == kQuantizationVersionKey; };
  if (std::none_of(model.tensors().begin(), model.tensors().end(), quantized) ||
      std::any_of(layout.kvs.begin(), layout.kvs.end(), has_key)) {
    return;
  }
  layout.kvs.push_back(u32_key_value(std::string(kQuantizationVersionKey), kQuantizationVersion));
}

// Header, key-values and tensor infos, built in memory (their size is that of the metadata).
Result<std::vector<std::byte>> encode_head(const Model& model, const FileLayout& layout) {
  std::vector<std::byte> head;
  head.reserve(kFixedHeaderBytes);
  append_bytes(head, as_bytes(std::string_view(kMagic.data(), kMagic.size())));
  append_le(head, kWriteVersion);
  append_le<std::uint64_t>(head, model.tensors().size());
  append_le<std::uint64_t>(head, layout.kvs.size());
  for (const KeyValue& kv : layout.kvs) append_key_value(head, kv);
  std::uint64_t offset = 0;
  for (const TensorInfo& tensor : model.tensors()) {
    OWF_ASSIGN_OR_RETURN(const TensorRecord record, record_for(tensor, offset));
    append_tensor_record(head, record);
    const auto end = checked_add(offset, tensor.byte_size);
    const auto next = end ? checked_align_up(*end, layout.alignment) : std::nullopt;
    if (!next) return Status::invalid_argument("tensor " + quote(tensor.name) + ": data offset overflows");
    offset = *next;
  }
  return head;
}

Status pad_to_alignment(AtomicFile& file, std::uint32_t alignment) {
  static constexpr std::byte kZeros[4096] = {};
  const auto target = checked_align_up(file.size(), alignment);
  if (!target) return Status::invalid_argument("file size overflows");
  while (file.size() < *target) {
    const std::uint64_t piece = std::min<std::uint64_t>(*target - file.size(), sizeof kZeros);
    OWF_RETURN_IF_ERROR(file.write(std::span<const std::byte>(kZeros, piece)));
  }
  return {};
}

// The header of a GGUF file holding `model` with `metadata_json`.
Result<std::vector<std::byte>> head_for(const Model& model, std::string_view metadata_json, FileLayout& layout) {
  OWF_ASSIGN_OR_RETURN(layout, gguf_layout_from_owf(metadata_json));
  add_quantization_version(model, layout);
  return encode_head(model, layout);
}

}  // namespace

Status write_gguf(const Model& model, const OutputMetadata& metadata, const std::filesystem::path& path,
                  const WriteOptions& options) {
  const std::string where = path.filename().string();
  FileLayout layout;
  auto head = head_for(model, metadata.draft(), layout);
  if (!head.ok()) return head.status().with_context(where);
  OWF_ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::create(path, options.overwrite));
  OWF_RETURN_IF_ERROR(file.write(*head));
  const auto& tensors = model.tensors();
  if (!tensors.empty() || layout.tail_padding) OWF_RETURN_IF_ERROR(pad_to_alignment(file, layout.alignment));
  WriteProgress progress(options, model.total_bytes());
  std::vector<std::size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), 0);
  OWF_RETURN_IF_ERROR(copy_tensors(model, order, file, progress, [&](std::size_t i) -> Status {
    if (i + 1 < tensors.size() || layout.tail_padding) return pad_to_alignment(file, layout.alignment);
    return {};
  }));
  if (metadata.pending()) {
    OWF_ASSIGN_OR_RETURN(const std::string completed, metadata.complete());
    FileLayout completed_layout;
    auto completed_head = head_for(model, completed, completed_layout);
    if (!completed_head.ok()) return completed_head.status().with_context(where);
    OWF_RETURN_IF_ERROR(rewrite_header(file, 0, *head, *completed_head, where));
  }
  return file.commit();
}

}  // namespace owf::formats::gguf
