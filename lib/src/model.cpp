#include "owf/model.h"

#include <algorithm>
#include <new>
#include <string>

#include "owf/internal/checked.h"
#include "owf/text.h"
#include "pieces.h"

namespace owf {
namespace {

// Pieces of at most kReadPieceBytes that hold whole blocks of the dtype.
std::uint64_t piece_bytes(DType dtype) {
  const std::uint64_t block = dtype_info(dtype).block_bytes;
  return std::max<std::uint64_t>(1, kReadPieceBytes / block) * block;
}

}  // namespace

Result<TensorInfo> make_tensor_info(std::string name, DType dtype, std::vector<std::uint64_t> shape) {
  if (name.empty()) return Status::invalid_argument("tensor name is empty");
  if (const std::size_t bad = find_invalid_utf8(name); bad != std::string::npos) {
    return Status::invalid_argument("tensor " + quote(name) + ": name is not valid UTF-8 at byte " +
                                    std::to_string(bad));
  }
  auto size = storage_size(dtype, shape);
  if (!size.ok()) return size.status().with_context("tensor " + quote(name));
  return TensorInfo{std::move(name), dtype, std::move(shape), *size};
}

std::optional<std::span<const std::byte>> Model::view(std::size_t) const { return std::nullopt; }

std::string Model::encoding(std::size_t) const { return "raw"; }

std::uint64_t Model::stored_size(std::size_t index) const { return tensors()[index].byte_size; }

ReadStatistics Model::statistics() const { return {}; }

void Model::verify(std::vector<Problem>& problems) const {
  for (std::size_t i = 0; i < tensors().size(); ++i) {
    if (Status status = for_each_piece(*this, i, [](std::uint64_t, std::span<const std::byte>) { return Status(); });
        !status.ok()) {
      problems.push_back({status.message()});
    }
  }
}

std::optional<std::size_t> Model::find(std::string_view name) const {
  std::lock_guard lock(name_index_.mutex);
  auto& by_name = name_index_.by_name;
  if (!by_name) {
    const auto& all = tensors();
    by_name.emplace();
    by_name->reserve(all.size());
    for (std::size_t i = 0; i < all.size(); ++i) by_name->emplace(all[i].name, i);
  }
  const auto found = by_name->find(name);
  if (found == by_name->end()) return std::nullopt;
  return found->second;
}

std::uint64_t Model::total_bytes() const {
  std::uint64_t total = 0;
  for (const TensorInfo& info : tensors()) {
    total = checked_add(total, info.byte_size).value_or(UINT64_MAX);  // saturates: a count, not an address
  }
  return total;
}

Status check_tensor_count(std::uint64_t count, std::string_view where) {
  if (count <= kMaxTensors) return {};
  return Status::not_supported(std::string(where) + ": " + std::to_string(count) + " tensors, more than the " +
                               std::to_string(kMaxTensors) + " owf allows in one file");
}

Status check_read_range(std::span<const TensorInfo> tensors, std::size_t index, std::uint64_t offset,
                        std::uint64_t size, std::string_view where) {
  // The message is built only on failure: reads are frequent and small.
  const auto refuse = [where](const std::string& message) {
    return Status::invalid_argument(where.empty() ? message : std::string(where) + ": " + message);
  };
  if (index >= tensors.size()) return refuse("no tensor with index " + std::to_string(index));
  const TensorInfo& info = tensors[index];
  const auto end = checked_add(offset, size);
  if (!end || *end > info.byte_size) {
    return refuse("tensor " + quote(info.name) + ": read of " + std::to_string(size) + " bytes at offset " +
                  std::to_string(offset) + " exceeds its " + std::to_string(info.byte_size) + " bytes");
  }
  return {};
}

Result<std::vector<std::byte>> read_tensor(const Model& model, std::size_t index) {
  const TensorInfo& info = model.tensors()[index];
  std::vector<std::byte> data;
  try {
    data.resize(info.byte_size);
  } catch (const std::exception&) {  // length_error or bad_alloc: too large for memory
    return Status::invalid_argument("tensor " + quote(info.name) + ": " + std::to_string(info.byte_size) +
                                    " bytes do not fit in memory");
  }
  OWF_RETURN_IF_ERROR(model.read(index, 0, data));
  return data;
}

Status for_each_piece(const Model& model, std::size_t index, const PieceVisitor& visit) {
  const TensorInfo& info = model.tensors()[index];
  std::vector<std::byte> buffer;
  return detail::for_each_span(0, info.byte_size, piece_bytes(info.dtype), [&](std::uint64_t at, std::uint64_t size) {
    buffer.resize(size);
    OWF_RETURN_IF_ERROR(model.read(index, at, buffer));
    return visit(at, buffer);
  });
}

Status for_each_piece_pair(const Model& a, std::size_t index_a, const Model& b, std::size_t index_b,
                           const PiecePairVisitor& visit) {
  const TensorInfo& info_a = a.tensors()[index_a];
  const TensorInfo& info_b = b.tensors()[index_b];
  if (info_a.byte_size != info_b.byte_size) {
    return Status::invalid_argument("tensors " + quote(info_a.name) + " and " + quote(info_b.name) +
                                    " differ in size: " + std::to_string(info_a.byte_size) + " and " +
                                    std::to_string(info_b.byte_size) + " bytes");
  }
  std::vector<std::byte> piece_a, piece_b;
  return detail::for_each_span(0, info_a.byte_size, piece_bytes(info_a.dtype),
                               [&](std::uint64_t at, std::uint64_t size) -> Result<bool> {
                                 piece_a.resize(size);
                                 piece_b.resize(size);
                                 OWF_RETURN_IF_ERROR(a.read(index_a, at, piece_a));
                                 OWF_RETURN_IF_ERROR(b.read(index_b, at, piece_b));
                                 return visit(at, piece_a, piece_b);
                               });
}

}  // namespace owf
