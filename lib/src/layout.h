// The on-disk records of an .owf file (spec/owf-v1.md §2-§4): the preamble,
// the header's start and the tensor record, each with its encoder, its checked
// decoder and its size side by side, used by the writer, the reader and the
// metadata editor alike. (The chunk table of §6.2 is ChunkTable, chunked.h.)
// Internal to the library.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "owf/container.h"
#include "owf/digest.h"
#include "owf/internal/bytes.h"
#include "owf/status.h"

struct XXH3_state_s;  // xxhash.h's XXH3_state_t, kept out of this header

namespace owf::detail {

inline constexpr std::array<std::byte, 8> kMagic = {std::byte{0x89}, std::byte{'O'},  std::byte{'W'},  std::byte{'F'},
                                                    std::byte{0x0D}, std::byte{0x0A}, std::byte{0x1A}, std::byte{0x0A}};
inline constexpr std::uint64_t kMaxHeaderCapacity = 256u << 20;
inline constexpr std::uint32_t kMinAlignment = 8;
inline constexpr std::uint32_t kMaxAlignment = 4096;
inline constexpr std::uint32_t kMaxRank = 32;
inline constexpr std::uint64_t kHeaderAlignment = 8;

// "1.0": the version this library reads and writes.
std::string library_format_version();

// "0x0123456789abcdef", as checksums appear in messages.
std::string hex64(std::uint64_t value);

// §3: the 64 bytes at offset 0.
struct Preamble {
  static constexpr std::uint64_t kSize = 64;
  static constexpr std::uint64_t kChecked = 56;  // bytes covered by preamble_checksum

  std::uint16_t major = kFormatMajor;
  std::uint16_t minor = kFormatMinor;
  std::uint32_t alignment = 0;
  std::uint64_t header_offset = 0;
  std::uint64_t header_length = 0;
  std::uint64_t header_capacity = 0;
  std::uint64_t header_checksum = 0;

  // The 64 bytes, magic and preamble_checksum included.
  std::array<std::byte, kSize> encode() const;
  // Checks §9 steps 1-3 on the first bytes of a file of `file_size` bytes (at
  // least kSize of them, unless the file is shorter): magic, checksum, version,
  // alignment, reserved, header cap, length and placement within the file.
  // Messages name offsets, not the file.
  static Result<Preamble> decode(std::span<const std::byte> file, std::uint64_t file_size);

  std::string version() const { return std::to_string(major) + "." + std::to_string(minor); }
};

// §4: the header's fixed fields and the metadata; the tensor records follow.
struct HeaderStart {
  static constexpr std::uint64_t kFixedSize = 48;  // content_digest, tensor_count, metadata_length

  Digest content_digest{};
  std::uint64_t tensor_count = 0;
  std::string_view metadata;

  std::uint64_t encoded_size() const { return kFixedSize + metadata.size(); }
  void encode_to(std::vector<std::byte>& out) const;
  // Reads from the start of the header; checks the metadata length and that
  // tensor_count records of the minimum size fit in what remains.
  static Result<HeaderStart> decode_from(ByteCursor& header);
};

// §4: one tensor record.
struct TensorRecord {
  static constexpr std::uint64_t kFixedSize = 36;            // without name and shape
  static constexpr std::uint64_t kMinSize = kFixedSize + 1;  // names are never empty

  std::uint16_t dtype_id = 0;
  Encoding encoding = Encoding::kRaw;
  std::string_view name;  // a view into the bytes decoded from, or of the TensorInfo encoded
  std::vector<std::uint64_t> shape;
  std::uint64_t offset = 0;
  std::uint64_t stored_length = 0;
  std::uint64_t checksum = 0;
  std::uint64_t extension_length = 0;  // bytes after the fields above (minor versions >= 1 only)
  std::uint64_t record_offset = 0;     // where decode_from() found it, for messages

  TensorRecord() = default;
  TensorRecord(const TensorInfo& info, const StoredTensor& stored);

  std::uint64_t encoded_size() const { return kFixedSize + name.size() + 8 * shape.size(); }
  // Appends the record without extension bytes.
  void encode_to(std::vector<std::byte>& out) const;
  // Reads record `index`: checks its length against its name and shape and the
  // header, rank <= 32, and the name (non-empty, UTF-8). The dtype, the
  // encoding and the placement are for the caller, who knows the file.
  static Result<TensorRecord> decode_from(ByteCursor& header, std::uint64_t index);

  StoredTensor stored() const { return {encoding, offset, stored_length, checksum}; }
};

// XXH3-64 with seed 0, the checksum of the spec.
std::uint64_t xxh3(std::span<const std::byte> bytes);

// XXH3-64 computed incrementally. Throws bad_alloc if its state cannot be allocated.
class Xxh3Stream {
 public:
  Xxh3Stream();
  Xxh3Stream(const Xxh3Stream&) = delete;
  Xxh3Stream& operator=(const Xxh3Stream&) = delete;
  ~Xxh3Stream();

  void update(std::span<const std::byte> bytes);
  std::uint64_t digest() const;

 private:
  ::XXH3_state_s* state_;
};

// The header_capacity owf writes for a header of `header_length` bytes: the
// header, room for a second copy when asked (unless that would exceed the cap),
// and the slack. The caller checks the result against kMaxHeaderCapacity.
std::uint64_t header_capacity_for(std::uint64_t header_length, const WriteOptions& options);

// Where bytes go: an AtomicFile or a file edited in place.
using WriteAt = std::function<Status(std::uint64_t offset, std::span<const std::byte> bytes)>;

// Writes `length` zero bytes at `offset`.
Status write_zeros(const WriteAt& write_at, std::uint64_t offset, std::uint64_t length);

}  // namespace owf::detail
