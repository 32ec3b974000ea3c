// The zstd-chunked encoding (spec/owf-v1.md §6.2): stored bytes are a 16-byte
// chunk header, a table of compressed chunk lengths, then the chunks: one
// Zstandard frame each (filters 0 and 1) or lanes (filter 2, lanes.h).
// Internal to the library; only chunked.cpp and lanes.cpp include zstd.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "owf/dtype.h"
#include "owf/status.h"

namespace owf::detail {

inline constexpr std::uint32_t kMaxChunkSize = 64u << 20;
inline constexpr std::uint64_t kMaxFrameWindow = std::uint64_t{1} << 27;  // libzstd's default decoder limit

enum class ChunkFilter : std::uint8_t { kNone = 0, kByteGroup = 1, kLanes = 2 };
inline constexpr std::uint8_t kLastKnownFilter = static_cast<std::uint8_t>(ChunkFilter::kLanes);

inline bool is_known(ChunkFilter filter) { return static_cast<std::uint8_t>(filter) <= kLastKnownFilter; }

// The minor version of the format that defines `filter` (§6.2): lanes came in 1.1.
inline std::uint16_t minor_version_defining(ChunkFilter filter) { return filter == ChunkFilter::kLanes ? 1 : 0; }

// Element width the byte-group and lanes filters group by for this dtype: the
// element size of plain dtypes of 2 bytes or more, else 0 (neither is allowed).
std::uint32_t byte_group_width(DType dtype);

// The on-disk record of §6.2: the 16-byte chunk header and the table of
// compressed lengths at the start of a zstd-chunked tensor's stored bytes.
struct ChunkTable {
  static constexpr std::uint64_t kHeaderSize = 16;  // chunk_size, filter, reserved, chunk_count

  std::uint32_t chunk_size = 0;
  ChunkFilter filter = ChunkFilter::kNone;
  std::uint64_t decoded_size = 0;
  // frame_ends[i]: offset just past frame i, relative to the start of the
  // stored bytes; frame i starts at frame_ends[i-1] (the first at the end of the table).
  std::vector<std::uint64_t> frame_ends;

  std::uint64_t chunk_count() const { return frame_ends.size(); }
  std::uint64_t frames_start() const { return encoded_size(chunk_count()); }
  std::uint64_t frame_begin(std::uint64_t chunk) const { return chunk == 0 ? frames_start() : frame_ends[chunk - 1]; }
  // Decoded bytes of chunk i: chunk_size except for a shorter last chunk.
  std::uint64_t chunk_length(std::uint64_t chunk) const;

  // Bytes of the chunk header and a table of `chunk_count` lengths (no overflow for counts the reader accepted).
  static std::uint64_t encoded_size(std::uint64_t chunk_count) { return kHeaderSize + 8 * chunk_count; }
  // The chunk header followed by the table, as the writer stores it.
  static std::vector<std::byte> encode(std::uint32_t chunk_size, ChunkFilter filter,
                                       std::span<const std::uint64_t> frame_lengths);
  // Checks every rule of §6.2 that the stored bytes alone can show, before it
  // allocates the table: chunk_size range, filter allowed for the dtype,
  // reserved bytes, chunk_count = ceil(decoded_size / chunk_size) and its table
  // fitting in `stored` (the first bytes of the tensor's `stored_size`, at
  // least the header and the table), lengths >= 1, and the sum matching
  // stored_size. `file_offset` is where `stored` begins in the file, for messages. A filter
  // id is checked against the file's `file_minor` version: one of a later minor
  // than this library's is kept (the table is still checked); one that is
  // unknown or newer than the file's own version is corruption (§3).
  static Result<ChunkTable> decode(std::span<const std::byte> stored, std::uint64_t stored_size,
                                   std::uint64_t file_offset, DType dtype, std::uint64_t decoded_size,
                                   std::uint16_t file_minor);
};

// Width to undo byte-group or lanes with for a tensor of `dtype` stored with `filter`.
inline std::uint32_t group_width_of(ChunkFilter filter, DType dtype) {
  return filter == ChunkFilter::kNone ? 0 : byte_group_width(dtype);
}

// Compresses chunks one at a time, reusing its zstd context and buffers. Not thread-safe.
class ChunkEncoder {
 public:
  // Fails for a zstd level out of range.
  static Result<ChunkEncoder> create(int level);
  ChunkEncoder(ChunkEncoder&&) noexcept;
  ChunkEncoder& operator=(ChunkEncoder&&) noexcept;
  ~ChunkEncoder();

  // Encodes one chunk with `filter`, grouping by `group_width` (0 for kNone);
  // the result stays valid until the next call.
  Result<std::span<const std::byte>> encode(std::span<const std::byte> chunk, ChunkFilter filter,
                                            std::uint32_t group_width);

 private:
  struct Impl;
  explicit ChunkEncoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Decodes single chunks. Not thread-safe; cheap enough to make per read.
class ChunkDecoder {
 public:
  ChunkDecoder();
  ChunkDecoder(ChunkDecoder&&) noexcept;
  ChunkDecoder& operator=(ChunkDecoder&&) noexcept;
  ~ChunkDecoder();

  // Decodes one stored chunk of exactly dst.size() bytes: for filters 0 and 1
  // exactly one Zstandard frame, then byte-group undone by `group_width`
  // (0 for kNone); for filter 2 the lanes of lanes.h.
  Status decode(std::span<const std::byte> chunk, ChunkFilter filter, std::uint32_t group_width,
                std::span<std::byte> dst);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace owf::detail
