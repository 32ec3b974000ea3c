#include "pytorch/writer.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "owf/format.h"
#include "owf/internal/bytes.h"
#include "owf/internal/writing.h"
#include "owf/internal/zip.h"
#include "owf/io.h"
#include "owf/text.h"
#include "pytorch/metadata_json.h"
#include "pytorch/pickle_writer.h"
#include "pytorch/torch_types.h"

namespace owf::formats::pytorch {
namespace {

constexpr std::string_view kRoot = "archive/";
constexpr std::uint32_t kRecordAlignment = 64;  // as torch aligns its records
constexpr std::string_view kByteOrder = "little";
constexpr std::string_view kVersion = "3\n";

// Whether two tensors have the same dtype, shape and bytes, read in bounded pieces.
Result<bool> same_tensor(const Model& model, std::size_t a, std::size_t b) {
  const TensorInfo& left = model.tensors()[a];
  const TensorInfo& right = model.tensors()[b];
  if (left.dtype != right.dtype || left.shape != right.shape) return false;
  bool same = true;
  OWF_RETURN_IF_ERROR(
      for_each_piece_pair(model, a, model, b, [&same](std::uint64_t, auto left_piece, auto right_piece) {
        same = std::equal(left_piece.begin(), left_piece.end(), right_piece.begin());
        return same;
      }));
  return same;
}

// For each tensor, the tensor whose storage it reuses (itself unless tied).
Result<std::vector<std::size_t>> storage_owners(const Model& model, std::string_view metadata_json) {
  const std::size_t count = model.tensors().size();
  std::vector<std::optional<std::size_t>> shares(count);
  OWF_ASSIGN_OR_RETURN(const auto tied, tied_names(metadata_json));
  for (const auto& [name, first] : tied) {
    const auto index = model.find(name);
    const auto target = model.find(first);
    if (!index || !target || *index == *target) continue;
    OWF_ASSIGN_OR_RETURN(const bool same, same_tensor(model, *index, *target));
    if (same) shares[*index] = *target;
  }
  std::vector<std::size_t> owners(count);
  for (std::size_t i = 0; i < count; ++i) {
    // A target that is itself tied elsewhere keeps its own storage: no chains.
    owners[i] = shares[i] && !shares[*shares[i]] ? *shares[i] : i;
  }
  return owners;
}

std::vector<std::uint64_t> contiguous_strides(const std::vector<std::uint64_t>& shape) {
  std::vector<std::uint64_t> strides(shape.size());
  std::uint64_t stride = 1;
  for (std::size_t d = shape.size(); d-- > 0;) {
    strides[d] = stride;
    stride *= std::max<std::uint64_t>(shape[d], 1);  // torch's convention for empty dimensions
  }
  return strides;
}

void append_int_tuple(PickleWriter& pickle, const std::vector<std::uint64_t>& values) {
  pickle.mark();
  for (const auto value : values) pickle.integer(value);
  pickle.tuple();
}

void append_empty_ordered_dict(PickleWriter& pickle) {
  pickle.global("collections", "OrderedDict");
  pickle.empty_tuple();
  pickle.reduce();
}

// torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())
void append_tensor(PickleWriter& pickle, const TensorInfo& info, std::string_view storage_name, const std::string& key,
                   std::uint64_t storage_numel) {
  pickle.global("torch._utils", "_rebuild_tensor_v2");
  pickle.mark();
  pickle.mark();
  pickle.text("storage");
  pickle.global("torch", storage_name);
  pickle.text(key);
  pickle.text("cpu");
  pickle.integer(storage_numel);
  pickle.tuple();
  pickle.persistent_id();
  pickle.integer(0);
  append_int_tuple(pickle, info.shape);
  append_int_tuple(pickle, contiguous_strides(info.shape));
  pickle.boolean(false);
  append_empty_ordered_dict(pickle);
  pickle.tuple();
  pickle.reduce();
}

}  // namespace

Status write_checkpoint(const Model& model, std::string_view metadata_json, const std::filesystem::path& path,
                        const WriteOptions& options) {
  const std::string display = path.filename().string();
  const auto& tensors = model.tensors();
  std::vector<std::string_view> storage_names;
  for (const TensorInfo& info : tensors) {
    const TorchType* type = find_torch_type(info.dtype);
    if (!type || type->storage_name.empty()) {
      return Status::not_supported(display + ": tensor " + quote(info.name) + ": dtype " +
                                   std::string(dtype_info(info.dtype).name) +
                                   " has no torch storage type (a .pt file holds bool, u8, i8, i16, i32, i64, "
                                   "f16, bf16, f32, f64, c64, c128)");
    }
    storage_names.push_back(type->storage_name);
  }
  auto owners = storage_owners(model, metadata_json);
  if (!owners.ok()) return owners.status().with_context(display);

  // Storage keys "0", "1", ... in the order of the tensors that own them.
  std::vector<std::string> keys(tensors.size());
  std::vector<std::size_t> stored;  // the owning tensor of each storage
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if ((*owners)[i] != i) continue;
    keys[i] = std::to_string(stored.size());
    stored.push_back(i);
  }
  PickleWriter pickle;
  append_empty_ordered_dict(pickle);
  if (!tensors.empty()) {
    pickle.mark();
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      const std::size_t owner = (*owners)[i];
      const std::uint64_t numel = tensors[owner].byte_size / dtype_info(tensors[owner].dtype).element_bytes();
      pickle.text(tensors[i].name);
      append_tensor(pickle, tensors[i], storage_names[i], keys[owner], numel);
    }
    pickle.set_items();
  }
  pickle.stop();

  std::uint64_t total = 0;
  for (const std::size_t owner : stored) total += tensors[owner].byte_size;
  WriteProgress progress(options, total);

  OWF_ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::create(path, options.overwrite));
  ZipWriter zip(file);
  const std::string root(kRoot);
  OWF_RETURN_IF_ERROR(zip.add_stored(root + "data.pkl", pickle.bytes(), kRecordAlignment));
  OWF_RETURN_IF_ERROR(zip.add_stored(root + "byteorder", as_bytes(kByteOrder), kRecordAlignment));
  for (const std::size_t owner : stored) {
    OWF_RETURN_IF_ERROR(zip.add_stored(root + "data/" + keys[owner], tensors[owner].byte_size,
                                       progress_source(model, owner, progress), kRecordAlignment));
  }
  OWF_RETURN_IF_ERROR(zip.add_stored(root + "version", as_bytes(kVersion), kRecordAlignment));
  OWF_RETURN_IF_ERROR(zip.finish());
  return file.commit();
}

}  // namespace owf::formats::pytorch
