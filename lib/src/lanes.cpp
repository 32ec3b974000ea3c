// Byte grouping and the lanes filter: with chunked.cpp, the only files of the library that include zstd.
#include "lanes.h"

#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getFrameHeader
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>

#include "chunked.h"
#include "owf/internal/bytes.h"

namespace owf::detail {
namespace {

// Lanes wider than this (elements of more than 16 bytes) do not exist among the dtypes.
constexpr std::uint32_t kMaxWidth = 16;

// A lane is compressed only when order-0 entropy coding alone promises to
// save more than this fraction of it; the mantissa lanes of trained weights
// never do, and storing them skips zstd (most of the time) for < 1% of size.
constexpr double kMinSaving = 1.0 / 40;

// A frame is kept only if it saves at least 1/64 of its lane: decoding costs more than copying.
bool frame_pays(std::size_t frame, std::size_t lane) { return frame < lane - lane / 64; }

bool worth_compressing(const std::byte* lane, std::size_t size) {
  // Four histograms, so consecutive increments do not wait on each other.
  std::array<std::array<std::uint32_t, 256>, 4> counts{};
  std::size_t i = 0;
  for (; i + 4 <= size; i += 4) {
    for (std::size_t h = 0; h < 4; ++h) ++counts[h][std::to_integer<std::uint8_t>(lane[i + h])];
  }
  for (; i < size; ++i) ++counts[0][std::to_integer<std::uint8_t>(lane[i])];
  double bits = 0;
  for (std::size_t symbol = 0; symbol < 256; ++symbol) {
    const double count = counts[0][symbol] + counts[1][symbol] + counts[2][symbol] + counts[3][symbol];
    if (count > 0) bits -= count * std::log2(count / static_cast<double>(size));
  }
  return bits < (1 - kMinSaving) * 8 * static_cast<double>(size);
}

// Interleaves `width` lanes of `elements` bytes each into dst: byte k of element j from lanes[k][j].
void interleave(const std::array<const std::byte*, kMaxWidth>& lanes, std::uint32_t width, std::size_t elements,
                std::byte* dst) {
  // The common widths as whole words, which compilers vectorize.
  if (width == 2) {
    const auto* l0 = reinterpret_cast<const std::uint8_t*>(lanes[0]);
    const auto* l1 = reinterpret_cast<const std::uint8_t*>(lanes[1]);
    for (std::size_t j = 0; j < elements; ++j) {
      const std::uint16_t word = static_cast<std::uint16_t>(l0[j] | l1[j] << 8);
      store_le<std::uint16_t>(dst + 2 * j, word);
    }
    return;
  }
  if (width == 4) {
    const auto* l0 = reinterpret_cast<const std::uint8_t*>(lanes[0]);
    const auto* l1 = reinterpret_cast<const std::uint8_t*>(lanes[1]);
    const auto* l2 = reinterpret_cast<const std::uint8_t*>(lanes[2]);
    const auto* l3 = reinterpret_cast<const std::uint8_t*>(lanes[3]);
    for (std::size_t j = 0; j < elements; ++j) {
      const std::uint32_t word = static_cast<std::uint32_t>(l0[j]) | static_cast<std::uint32_t>(l1[j]) << 8 |
                                 static_cast<std::uint32_t>(l2[j]) << 16 | static_cast<std::uint32_t>(l3[j]) << 24;
      store_le<std::uint32_t>(dst + 4 * j, word);
    }
    return;
  }
  for (std::uint32_t k = 0; k < width; ++k) {
    for (std::size_t j = 0; j < elements; ++j) dst[j * width + k] = lanes[k][j];
  }
}

// The frame rules of §6.2 that libzstd would not enforce on its own: a
// Zstandard frame (not a skippable or legacy one), no dictionary, a window of
// at most 2^27 bytes, and a content size, when recorded, of the chunk's length.
Status check_frame_header(std::span<const std::byte> frame, std::size_t decoded_length) {
  if (frame.size() < 4 || load_le<std::uint32_t>(frame.data()) != ZSTD_MAGICNUMBER) {
    return Status::corruption("not a Zstandard frame (no magic number 28 B5 2F FD)");
  }
  ZSTD_frameHeader header{};
  const std::size_t missing = ZSTD_getFrameHeader(&header, frame.data(), frame.size());
  if (ZSTD_isError(missing) || missing != 0) return Status::corruption("not a Zstandard frame (truncated header)");
  if (header.dictID != 0) {
    return Status::corruption("frame needs dictionary " + std::to_string(header.dictID) +
                              "; owf frames use no dictionary");
  }
  if (header.windowSize > kMaxFrameWindow) {
    return Status::corruption("frame window of " + std::to_string(header.windowSize) + " bytes exceeds the limit of " +
                              std::to_string(kMaxFrameWindow));
  }
  if (header.frameContentSize != ZSTD_CONTENTSIZE_UNKNOWN && header.frameContentSize != decoded_length) {
    return Status::corruption("frame records a content size of " + std::to_string(header.frameContentSize) +
                              " bytes, expected " + std::to_string(decoded_length));
  }
  return {};
}

}  // namespace

void group_bytes(std::span<const std::byte> original, std::uint32_t width, std::span<std::byte> grouped) {
  const std::size_t elements = original.size() / width;
  const auto* in = reinterpret_cast<const std::uint8_t*>(original.data());
  auto* out = reinterpret_cast<std::uint8_t*>(grouped.data());
  if (width == 2) {
    for (std::size_t j = 0; j < elements; ++j) {
      out[j] = in[2 * j];
      out[elements + j] = in[2 * j + 1];
    }
    return;
  }
  if (width == 4) {
    for (std::size_t j = 0; j < elements; ++j) {
      const std::uint32_t word = load_le<std::uint32_t>(original.data() + 4 * j);
      out[j] = static_cast<std::uint8_t>(word);
      out[elements + j] = static_cast<std::uint8_t>(word >> 8);
      out[2 * elements + j] = static_cast<std::uint8_t>(word >> 16);
      out[3 * elements + j] = static_cast<std::uint8_t>(word >> 24);
    }
    return;
  }
  for (std::size_t j = 0; j < elements; ++j) {
    for (std::uint32_t k = 0; k < width; ++k) out[k * elements + j] = in[j * width + k];
  }
}

void ungroup_bytes(std::span<const std::byte> grouped, std::uint32_t width, std::span<std::byte> original) {
  const std::size_t elements = grouped.size() / width;
  std::array<const std::byte*, kMaxWidth> lanes{};
  for (std::uint32_t k = 0; k < width; ++k) lanes[k] = grouped.data() + k * elements;
  interleave(lanes, width, elements, original.data());
}

Status encode_lanes(ZSTD_CCtx* context, int level, std::span<const std::byte> chunk, std::uint32_t width,
                    std::vector<std::byte>& grouped, std::vector<std::byte>& out) {
  const std::size_t lane_size = chunk.size() / width;
  grouped.resize(chunk.size());
  group_bytes(chunk, width, grouped);
  out.resize(4 * width + width * ZSTD_compressBound(lane_size));
  std::size_t at = 4 * width;
  for (std::uint32_t k = 0; k < width; ++k) {
    const std::byte* lane = grouped.data() + k * lane_size;
    std::size_t stored = lane_size;
    if (worth_compressing(lane, lane_size)) {
      const std::size_t frame = ZSTD_compressCCtx(context, out.data() + at, out.size() - at, lane, lane_size, level);
      if (ZSTD_isError(frame)) {
        return Status::io_error(std::string("zstd compression failed: ") + ZSTD_getErrorName(frame));
      }
      if (frame_pays(frame, lane_size)) stored = frame;
    }
    if (stored == lane_size) std::memcpy(out.data() + at, lane, lane_size);
    store_le<std::uint32_t>(out.data() + 4 * k, static_cast<std::uint32_t>(stored));
    at += stored;
  }
  out.resize(at);
  return {};
}

Status decode_one_frame(ZSTD_DCtx* context, std::span<const std::byte> frame, std::span<std::byte> dst) {
  OWF_RETURN_IF_ERROR(check_frame_header(frame, dst.size()));
  // Exactly one frame: ZSTD_decompress would also accept several concatenated ones.
  const std::size_t frame_size = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
  if (ZSTD_isError(frame_size)) {
    return Status::corruption(std::string("not a Zstandard frame (") + ZSTD_getErrorName(frame_size) + ")");
  }
  if (frame_size != frame.size()) {
    return Status::corruption(std::to_string(frame.size()) + " bytes hold more than one frame of " +
                              std::to_string(frame_size));
  }
  // Decompressing straight into a buffer of the expected size bounds memory:
  // a frame that claims more fails with "destination buffer too small".
  const std::size_t size = ZSTD_decompressDCtx(context, dst.data(), dst.size(), frame.data(), frame.size());
  if (ZSTD_isError(size)) {
    return Status::corruption("frame does not decompress to " + std::to_string(dst.size()) + " bytes (" +
                              ZSTD_getErrorName(size) + ")");
  }
  if (size != dst.size()) {
    return Status::corruption("frame decompresses to " + std::to_string(size) + " bytes, expected " +
                              std::to_string(dst.size()));
  }
  return {};
}

Status decode_lanes(ZSTD_DCtx* context, std::span<const std::byte> stored, std::uint32_t width,
                    std::vector<std::byte>& grouped, std::span<std::byte> dst) {
  const std::size_t lane_size = dst.size() / width;
  if (stored.size() < 4 * width) {
    return Status::corruption("lanes chunk of " + std::to_string(stored.size()) + " bytes is shorter than its " +
                              std::to_string(4 * width) + "-byte lane table");
  }
  std::array<const std::byte*, kMaxWidth> lanes{};
  grouped.resize(dst.size());  // before any lane points into it
  std::size_t at = 4 * width;
  for (std::uint32_t k = 0; k < width; ++k) {
    const std::uint32_t length = load_le<std::uint32_t>(stored.data() + 4 * k);
    const std::string lane = "lane " + std::to_string(k) + " of " + std::to_string(length) + " bytes";
    if (length > lane_size) {
      return Status::corruption(lane + " is longer than its " + std::to_string(lane_size) + " decoded bytes");
    }
    if (length > stored.size() - at) {
      return Status::corruption(lane + " at chunk offset " + std::to_string(at) + " runs past the chunk's " +
                                std::to_string(stored.size()) + " bytes");
    }
    const auto bytes = stored.subspan(at, length);
    if (length == lane_size) {
      lanes[k] = bytes.data();  // stored as is: interleaved straight from the input
    } else {
      const auto decoded = std::span(grouped).subspan(k * lane_size, lane_size);
      if (Status status = decode_one_frame(context, bytes, decoded); !status.ok()) {
        return Status::corruption(lane + ": " + status.message());
      }
      lanes[k] = decoded.data();
    }
    at += length;
  }
  if (at != stored.size()) {
    return Status::corruption("lanes end at chunk offset " + std::to_string(at) + " of the chunk's " +
                              std::to_string(stored.size()) + " bytes");
  }
  interleave(lanes, width, lane_size, dst.data());
  return {};
}

}  // namespace owf::detail
