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

  // Compressed: decode in pieces of whole blocks so memory stays bounded.
  constexpr std::uint64_t kPieceBytes = 4u << 20;
  const std::uint64_t piece_elements = std::max<std::uint64_t>(1, kPieceBytes / type.block_bytes) * type.block_elements;
  std::vector<std::byte> piece;
  std::uint64_t offset = 0;
  for (std::uint64_t done = 0; done < elements;) {
    const std::uint64_t count = std::min(piece_elements, elements - done);
    const std::uint64_t bytes = (count + type.block_elements - 1) / type.block_elements * type.block_bytes;
    piece.resize(bytes);
    OWF_RETURN_IF_ERROR(model.read(index, offset, piece));
    OWF_RETURN_IF_ERROR(decode_to_f32(info.dtype, piece, dst.subspan(done, count)));
    done += count;
    offset += bytes;
  }
  return {};
}

}  // namespace owf
