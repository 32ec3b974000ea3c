// The bounds check of every byte source and file: one message for a read or
// write that runs past the end. Internal to the library.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "owf/internal/checked.h"
#include "owf/status.h"

namespace owf::detail {

// Fails for a `what` ("read", "write", "region") of `size` bytes at `offset` of
// `name` whose end overflows or lies beyond `limit`.
inline Status check_within(std::string_view name, std::string_view what, std::uint64_t offset, std::uint64_t size,
                           std::uint64_t limit) {
  const auto end = checked_add(offset, size);
  if (end && *end <= limit) return {};
  return Status::invalid_argument(std::string(name) + ": " + std::string(what) + " of " + std::to_string(size) +
                                  " bytes at offset " + std::to_string(offset) + " runs past " + std::to_string(limit) +
                                  " bytes");
}

}  // namespace owf::detail
