// Overflow-checked arithmetic for sizes and offsets read from files, and the
// tensor-count limit every reader applies before it allocates.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "owf/status.h"

namespace owf {

inline std::optional<std::uint64_t> checked_add(std::uint64_t a, std::uint64_t b) {
  std::uint64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) return std::nullopt;
  return sum;
}

inline std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b) {
  std::uint64_t product;
  if (__builtin_mul_overflow(a, b, &product)) return std::nullopt;
  return product;
}

// Smallest multiple of `alignment` (a power of two) that is >= value.
inline std::optional<std::uint64_t> checked_align_up(std::uint64_t value, std::uint64_t alignment) {
  const auto bumped = checked_add(value, alignment - 1);
  if (!bumped) return std::nullopt;
  return *bumped & ~(alignment - 1);
}

// Fails when `count` tensors are more than kMaxTensors (owf/model.h), naming
// the limit; the message starts with `where` (a file name).
Status check_tensor_count(std::uint64_t count, std::string_view where);

}  // namespace owf
