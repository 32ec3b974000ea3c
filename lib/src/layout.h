// The fixed parts of an .owf file (spec/owf-v1.md §2-§4) shared by the writer,
// the reader and the metadata editor. Internal to the library.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "owf/container.h"
#include "owf/digest.h"
#include "owf/status.h"

namespace owf::detail {

inline constexpr std::array<std::byte, 8> kMagic = {std::byte{0x89}, std::byte{'O'},  std::byte{'W'},  std::byte{'F'},
                                                    std::byte{0x0D}, std::byte{0x0A}, std::byte{0x1A}, std::byte{0x0A}};
inline constexpr std::uint64_t kPreambleSize = 64;
inline constexpr std::uint64_t kPreambleChecked = 56;  // bytes covered by preamble_checksum
inline constexpr std::uint64_t kMaxHeaderCapacity = 256u << 20;
inline constexpr std::uint64_t kHeaderFixedSize = 48;                  // content_digest, tensor_count, metadata_length
inline constexpr std::uint64_t kRecordFixedSize = 36;                  // a record without its name and shape
inline constexpr std::uint64_t kMinRecordSize = kRecordFixedSize + 1;  // names are never empty
inline constexpr std::uint32_t kMinAlignment = 8;
inline constexpr std::uint32_t kMaxAlignment = 4096;
inline constexpr std::uint32_t kMaxRank = 32;
inline constexpr std::uint64_t kHeaderAlignment = 8;

// The preamble's variable fields; magic, reserved and preamble_checksum are implied.
struct Preamble {
  std::uint16_t major = 0;
  std::uint16_t minor = 0;
  std::uint32_t alignment = 0;
  std::uint64_t header_offset = 0;
  std::uint64_t header_length = 0;
  std::uint64_t header_capacity = 0;
  std::uint64_t header_checksum = 0;
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
  struct XXH3_state_s* state_;  // xxhash.h's XXH3_state_t, kept out of this header
};

// The 64 preamble bytes, with preamble_checksum computed.
std::array<std::byte, kPreambleSize> encode_preamble(const Preamble& preamble);

// The header up to and including the metadata; the tensor records follow it.
std::vector<std::byte> encode_header_start(const Digest& content_digest, std::uint64_t tensor_count,
                                           std::string_view metadata);

// Appends one tensor record (§4) describing `info` stored as `stored`.
void append_record(std::vector<std::byte>& out, const TensorInfo& info, const StoredTensor& stored);

// Where bytes go: an AtomicFile or a file edited in place.
using WriteAt = std::function<Status(std::uint64_t offset, std::span<const std::byte> bytes)>;

// Writes `header` at header_offset followed by zero slack up to `capacity`.
// The caller writes the preamble afterwards (§8: header first, then preamble).
Status write_header_with_slack(const WriteAt& write_at, std::uint64_t header_offset, std::span<const std::byte> header,
                               std::uint64_t capacity);

}  // namespace owf::detail
