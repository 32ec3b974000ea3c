// The zstd-chunked encoding: its chunk table, and the frames of filters 0 and 1.
#include "chunked.h"

#include <zstd.h>

#include <string>

#include "lanes.h"
#include "owf/container.h"
#include "owf/internal/bytes.h"
#include "owf/internal/checked.h"

namespace owf::detail {

std::uint32_t byte_group_width(DType dtype) {
  const std::uint32_t width = dtype_info(dtype).element_bytes();
  return width >= 2 ? width : 0;
}

std::uint64_t ChunkTable::chunk_length(std::uint64_t chunk) const {
  const std::uint64_t start = chunk * chunk_size;  // chunk < chunk_count, so no overflow: start < decoded_size
  return std::min<std::uint64_t>(chunk_size, decoded_size - start);
}

Result<ChunkTable> ChunkTable::decode(std::span<const std::byte> stored, std::uint64_t stored_size,
                                      std::uint64_t file_offset, DType dtype, std::uint64_t decoded_size,
                                      std::uint16_t file_minor) {
  ByteCursor cursor(stored, file_offset);
  const auto at = [&](std::uint64_t relative) { return " at offset " + std::to_string(file_offset + relative); };
  ChunkTable table;
  table.decoded_size = decoded_size;
  OWF_ASSIGN_OR_RETURN(table.chunk_size, cursor.u32("chunk header"));
  if (table.chunk_size == 0 || table.chunk_size > kMaxChunkSize) {
    return Status::corruption("chunk size " + std::to_string(table.chunk_size) + at(0) + " is outside 1.." +
                              std::to_string(kMaxChunkSize));
  }
  OWF_ASSIGN_OR_RETURN(const std::uint8_t filter, cursor.u8("chunk filter"));
  table.filter = static_cast<ChunkFilter>(filter);
  if (!is_known(table.filter)) {
    // An id of a later minor version is kept; the reader refuses to decode that tensor only (§3).
    if (file_minor <= kFormatMinor) {
      return Status::corruption("unknown chunk filter " + std::to_string(filter) + at(4));
    }
  } else if (minor_version_defining(table.filter) > file_minor) {
    return Status::corruption("chunk filter " + std::to_string(filter) + at(4) + " is defined in version 1." +
                              std::to_string(minor_version_defining(table.filter)) + ", but the file is version 1." +
                              std::to_string(file_minor));
  }
  if (table.filter == ChunkFilter::kByteGroup || table.filter == ChunkFilter::kLanes) {
    const std::string name = table.filter == ChunkFilter::kByteGroup ? "byte-group" : "lanes";
    const std::uint32_t width = byte_group_width(dtype);
    if (width == 0) {
      return Status::corruption(name + " filter" + at(4) + " is not allowed for dtype " +
                                std::string(dtype_info(dtype).name));
    }
    if (table.chunk_size % width != 0) {
      return Status::corruption("chunk size " + std::to_string(table.chunk_size) + at(0) +
                                " is not a multiple of the element size " + std::to_string(width) + " that " + name +
                                " needs");
    }
  }
  OWF_ASSIGN_OR_RETURN(const auto reserved, cursor.bytes(3, "chunk header"));
  for (const std::byte b : reserved) {
    if (b != std::byte{0}) return Status::corruption("reserved chunk header bytes" + at(5) + " are not zero");
  }
  OWF_ASSIGN_OR_RETURN(const std::uint64_t count, cursor.u64("chunk count"));
  const std::uint64_t expected = decoded_size / table.chunk_size + (decoded_size % table.chunk_size != 0);
  if (count != expected) {
    return Status::corruption("chunk count " + std::to_string(count) + at(8) + " should be " +
                              std::to_string(expected) + " (decoded size " + std::to_string(decoded_size) +
                              ", chunk size " + std::to_string(table.chunk_size) + ")");
  }
  // The table must fit in the stored bytes before it is allocated.
  const auto table_bytes = checked_mul(count, 8);
  if (!table_bytes) return Status::corruption("chunk table of " + std::to_string(count) + " entries overflows");
  OWF_RETURN_IF_ERROR(cursor.require(*table_bytes, "chunk table of " + std::to_string(count) + " entries"));
  table.frame_ends.reserve(count);
  std::uint64_t end = kHeaderSize + *table_bytes;
  for (std::uint64_t i = 0; i < count; ++i) {
    OWF_ASSIGN_OR_RETURN(const std::uint64_t length, cursor.u64("chunk length"));
    if (length == 0) return Status::corruption("chunk " + std::to_string(i) + " has length 0" + at(16 + 8 * i));
    const auto next = checked_add(end, length);
    if (!next || *next > stored_size) {
      return Status::corruption("chunk " + std::to_string(i) + " of " + std::to_string(length) + " bytes" +
                                at(16 + 8 * i) + " runs past the " + std::to_string(stored_size) +
                                " stored bytes of the tensor");
    }
    end = *next;
    table.frame_ends.push_back(end);
  }
  if (end != stored_size) {
    return Status::corruption("chunks end at " + std::to_string(end) + " of the " + std::to_string(stored_size) +
                              " stored bytes (stored length should be " + std::to_string(end) + ")");
  }
  return table;
}

std::vector<std::byte> ChunkTable::encode(std::uint32_t chunk_size, ChunkFilter filter,
                                          std::span<const std::uint64_t> frame_lengths) {
  std::vector<std::byte> out;
  out.reserve(encoded_size(frame_lengths.size()));
  append_le<std::uint32_t>(out, chunk_size);
  append_le<std::uint8_t>(out, static_cast<std::uint8_t>(filter));
  out.resize(out.size() + 3);  // reserved, zero
  append_le<std::uint64_t>(out, frame_lengths.size());
  for (const std::uint64_t length : frame_lengths) append_le<std::uint64_t>(out, length);
  return out;
}

// ---- ChunkEncoder

struct ChunkEncoder::Impl {
  ZSTD_CCtx* context = nullptr;
  int level = 0;
  std::vector<std::byte> grouped;
  std::vector<std::byte> frame;

  ~Impl() { ZSTD_freeCCtx(context); }
};

ChunkEncoder::ChunkEncoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChunkEncoder::ChunkEncoder(ChunkEncoder&&) noexcept = default;
ChunkEncoder& ChunkEncoder::operator=(ChunkEncoder&&) noexcept = default;
ChunkEncoder::~ChunkEncoder() = default;

Result<ChunkEncoder> ChunkEncoder::create(int level) {
  if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
    return Status::invalid_argument("zstd level " + std::to_string(level) + " is outside " +
                                    std::to_string(ZSTD_minCLevel()) + ".." + std::to_string(ZSTD_maxCLevel()));
  }
  auto impl = std::make_unique<Impl>();
  impl->context = ZSTD_createCCtx();
  if (impl->context == nullptr) return Status::io_error("cannot allocate a zstd compression context");
  impl->level = level;
  return ChunkEncoder(std::move(impl));
}

Result<std::span<const std::byte>> ChunkEncoder::encode(std::span<const std::byte> chunk, ChunkFilter filter,
                                                        std::uint32_t group_width) {
  Impl& s = *impl_;
  if (filter == ChunkFilter::kLanes) {
    OWF_RETURN_IF_ERROR(encode_lanes(s.context, s.level, chunk, group_width, s.grouped, s.frame));
    return std::span<const std::byte>(s.frame);
  }
  std::span<const std::byte> input = chunk;
  if (group_width != 0) {
    s.grouped.resize(chunk.size());
    group_bytes(chunk, group_width, s.grouped);
    input = s.grouped;
  }
  s.frame.resize(ZSTD_compressBound(input.size()));
  const std::size_t size =
      ZSTD_compressCCtx(s.context, s.frame.data(), s.frame.size(), input.data(), input.size(), s.level);
  if (ZSTD_isError(size)) return Status::io_error(std::string("zstd compression failed: ") + ZSTD_getErrorName(size));
  return std::span<const std::byte>(s.frame).first(size);
}

// ---- ChunkDecoder

struct ChunkDecoder::Impl {
  ZSTD_DCtx* context = ZSTD_createDCtx();
  std::vector<std::byte> grouped;

  ~Impl() { ZSTD_freeDCtx(context); }
};

ChunkDecoder::ChunkDecoder() : impl_(std::make_unique<Impl>()) {}
ChunkDecoder::ChunkDecoder(ChunkDecoder&&) noexcept = default;
ChunkDecoder& ChunkDecoder::operator=(ChunkDecoder&&) noexcept = default;
ChunkDecoder::~ChunkDecoder() = default;

Status ChunkDecoder::decode(std::span<const std::byte> chunk, ChunkFilter filter, std::uint32_t group_width,
                            std::span<std::byte> dst) {
  Impl& s = *impl_;
  if (s.context == nullptr) return Status::io_error("cannot allocate a zstd decompression context");
  if (filter == ChunkFilter::kLanes) return decode_lanes(s.context, chunk, group_width, s.grouped, dst);
  if (group_width == 0) return decode_one_frame(s.context, chunk, dst);
  s.grouped.resize(dst.size());
  OWF_RETURN_IF_ERROR(decode_one_frame(s.context, chunk, s.grouped));
  ungroup_bytes(s.grouped, group_width, dst);
  return {};
}

}  // namespace owf::detail
