// The one loop that walks a byte range in bounded pieces, under every
// whole-tensor pass (for_each_piece, for_each_piece_pair) and the container
// reader's checksum and padding checks. Internal to the library.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "owf/status.h"

namespace owf::detail {

// Calls step(at, size) for consecutive pieces of [begin, end), each of at most
// `piece` bytes. step returns a Status (an error stops the walk with it), or a
// Result<bool> whose false stops it early without one.
template <typename Step>
Status for_each_span(std::uint64_t begin, std::uint64_t end, std::uint64_t piece, Step&& step) {
  for (std::uint64_t at = begin; at < end;) {
    const std::uint64_t size = std::min(piece, end - at);
    if constexpr (std::is_same_v<decltype(step(at, size)), Status>) {
      OWF_RETURN_IF_ERROR(step(at, size));
    } else {
      OWF_ASSIGN_OR_RETURN(const bool more, step(at, size));
      if (!more) break;
    }
    at += size;
  }
  return {};
}

}  // namespace owf::detail
