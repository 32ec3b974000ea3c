#include "value_check.h"

#include <algorithm>

#include "owf/dtype.h"

namespace owf::detail {

DecodedValueCheck::DecodedValueCheck(const TensorInfo& info)
    : is_bool_(info.dtype == DType::kBool), size_(info.byte_size) {
  const DTypeInfo& dtype = dtype_info(info.dtype);
  if (dtype.block_elements > 1 && !dtype.row_blocks) {
    // A packed stream of `bits` per element: the last byte holds (elements * bits) % 8 used bits.
    const std::uint64_t bits = 8u * dtype.block_bytes / dtype.block_elements;
    const auto count = element_count(info.shape);  // checked already where the tensor was accepted
    const std::uint64_t elements = count.ok() ? *count : 0;
    const unsigned used = static_cast<unsigned>((elements % 8) * bits % 8);
    if (used != 0) last_byte_mask_ = static_cast<std::byte>(0xFFu << used);
  }
}

void DecodedValueCheck::update(std::span<const std::byte> piece) {
  const std::uint64_t start = done_;
  done_ += piece.size();
  if (problem_) return;
  if (is_bool_) {
    const auto bad = std::find_if(piece.begin(), piece.end(), [](std::byte b) { return b > std::byte{1}; });
    if (bad != piece.end()) {
      problem_ = "bool value " + std::to_string(std::to_integer<unsigned>(*bad)) + " at decoded byte " +
                 std::to_string(start + static_cast<std::uint64_t>(bad - piece.begin())) + " is neither 0 nor 1";
    }
  } else if (last_byte_mask_ != std::byte{0} && done_ == size_ && !piece.empty()) {
    if (const std::byte unused = piece.back() & last_byte_mask_; unused != std::byte{0}) {
      problem_ = "unused high bits of the last byte (decoded byte " + std::to_string(size_ - 1) + ") are not zero";
    }
  }
}

}  // namespace owf::detail
