#include <algorithm>
#include <string>
#include <vector>

#include "owf/model.h"
#include "owf/numeric.h"
#include "owf/text.h"

namespace owf {

Status read_tensor_f32(const Model& model, std::size_t index, std::span<float> dst) {
  OWF_RETURN_IF_ERROR(check_read_range(model.tensors(), index, 0, 0, ""));
  const TensorInfo& info = model.tensors()[index];
  if (!can_decode(info.dtype)) {
    return Status::not_supported("tensor " + quote(info.name) + ": decoding " +
                                 std::string(dtype_info(info.dtype).name) + " values is not supported");
  }
  OWF_ASSIGN_OR_RETURN(const std::uint64_t elements, element_count(info.shape));
  if (dst.size() != elements) {
    return Status::invalid_argument("tensor " + quote(info.name) + ": has " + std::to_string(elements) +
                                    " elements, not " + std::to_string(dst.size()));
  }
  const DTypeInfo& type = dtype_info(info.dtype);
  if (const auto view = model.view(index)) return decode_to_f32(info.dtype, *view, dst);

  // Compressed or fetched: decode piece by piece so memory stays bounded.
  return for_each_piece(model, index, [&](std::uint64_t offset, std::span<const std::byte> piece) {
    const std::uint64_t first = offset / type.block_bytes * type.block_elements;
    const std::uint64_t count = std::min(piece.size() / type.block_bytes * type.block_elements, elements - first);
    return decode_to_f32(info.dtype, piece, dst.subspan(first, count));
  });
}

}  // namespace owf
