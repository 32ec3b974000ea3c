// Byte grouping of chunks (filters 1 and 2 of zstd-chunked) and the lanes
// filter (spec/owf-v1.md §6.3): each byte-group lane of a chunk is one
// Zstandard frame or stored as is, whichever the writer found smaller, so
// the near-random mantissa lanes of trained weights cost a copy, not a codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "owf/status.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace owf::detail {

// byte-group: byte k of element j moves to k * elements + j (elements =
// original.size() / width); ungroup_bytes inverts it.
void group_bytes(std::span<const std::byte> original, std::uint32_t width, std::span<std::byte> grouped);
void ungroup_bytes(std::span<const std::byte> grouped, std::uint32_t width, std::span<std::byte> original);

// Replaces `out` with the lanes form of `chunk` (a multiple of `width` bytes),
// compressing lanes with `context` at zstd `level`. `grouped` is scratch.
Status encode_lanes(ZSTD_CCtx_s* context, int level, std::span<const std::byte> chunk, std::uint32_t width,
                    std::vector<std::byte>& grouped, std::vector<std::byte>& out);

// Decodes the lanes form `stored` of a chunk of exactly dst.size() bytes,
// checking every length before it is used. `grouped` is scratch.
Status decode_lanes(ZSTD_DCtx_s* context, std::span<const std::byte> stored, std::uint32_t width,
                    std::vector<std::byte>& grouped, std::span<std::byte> dst);

// Decodes `frame`, which must be exactly one Zstandard frame of exactly dst.size() bytes.
Status decode_one_frame(ZSTD_DCtx_s* context, std::span<const std::byte> frame, std::span<std::byte> dst);

}  // namespace owf::detail
