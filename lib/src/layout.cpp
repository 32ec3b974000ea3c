// The on-disk records of layout.h: encoders and checked decoders side by side.
#include "layout.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <new>

#include "owf/internal/checked.h"
#include "owf/text.h"

namespace owf::detail {
namespace {

// Offsets of the preamble's fields (§3).
constexpr std::size_t kMajorAt = 8, kMinorAt = 10, kAlignmentAt = 12, kHeaderOffsetAt = 16, kHeaderLengthAt = 24,
                      kHeaderCapacityAt = 32, kHeaderChecksumAt = 40, kReservedAt = 48, kPreambleChecksumAt = 56;

// A cursor's error inside the header, which names the offset but not the place.
Status in_header(const Status& status) { return Status::corruption("header: " + status.message()); }

}  // namespace

std::string library_format_version() { return std::to_string(kFormatMajor) + "." + std::to_string(kFormatMinor); }

std::string hex64(std::uint64_t value) {
  char text[19];
  std::snprintf(text, sizeof text, "0x%016llx", static_cast<unsigned long long>(value));
  return text;
}

// ---- Preamble

std::array<std::byte, Preamble::kSize> Preamble::encode() const {
  std::array<std::byte, kSize> out{};
  std::copy(kMagic.begin(), kMagic.end(), out.begin());
  store_le<std::uint16_t>(&out[kMajorAt], major);
  store_le<std::uint16_t>(&out[kMinorAt], minor);
  store_le<std::uint32_t>(&out[kAlignmentAt], alignment);
  store_le<std::uint64_t>(&out[kHeaderOffsetAt], header_offset);
  store_le<std::uint64_t>(&out[kHeaderLengthAt], header_length);
  store_le<std::uint64_t>(&out[kHeaderCapacityAt], header_capacity);
  store_le<std::uint64_t>(&out[kHeaderChecksumAt], header_checksum);
  // reserved: zero
  store_le<std::uint64_t>(&out[kPreambleChecksumAt], xxh3(std::span(out).first(kChecked)));
  return out;
}

Result<Preamble> Preamble::decode(std::span<const std::byte> file, std::uint64_t file_size) {
  const auto fail = [](std::string message) { return Status::corruption(std::move(message)); };
  if (file.size() < kSize) {
    return fail("file of " + std::to_string(file_size) + " bytes is too short for the 64-byte owf preamble");
  }
  if (!std::equal(kMagic.begin(), kMagic.end(), file.begin())) return fail("not an owf file (bad magic)");
  const auto field = [&](std::size_t offset, auto type) { return load_le<decltype(type)>(&file[offset]); };
  const std::uint64_t recorded = field(kPreambleChecksumAt, std::uint64_t{});
  if (const std::uint64_t computed = xxh3(file.first(kChecked)); computed != recorded) {
    return fail("preamble checksum mismatch (recorded " + hex64(recorded) + ", computed " + hex64(computed) + ")");
  }
  Preamble p;
  p.major = field(kMajorAt, std::uint16_t{});
  p.minor = field(kMinorAt, std::uint16_t{});
  if (p.major == 0) return fail("format version " + p.version() + " is invalid (major version 0)");
  if (p.major > kFormatMajor) {
    return fail("format version " + p.version() + " is newer than this reader supports (" + library_format_version() +
                ")");
  }
  p.alignment = field(kAlignmentAt, std::uint32_t{});
  if (p.alignment < kMinAlignment || p.alignment > kMaxAlignment || (p.alignment & (p.alignment - 1)) != 0) {
    return fail("alignment " + std::to_string(p.alignment) + " at offset 12 is not a power of two in 8..4096");
  }
  p.header_offset = field(kHeaderOffsetAt, std::uint64_t{});
  p.header_length = field(kHeaderLengthAt, std::uint64_t{});
  p.header_capacity = field(kHeaderCapacityAt, std::uint64_t{});
  p.header_checksum = field(kHeaderChecksumAt, std::uint64_t{});
  if (field(kReservedAt, std::uint64_t{}) != 0) return fail("reserved preamble field at offset 48 is not zero");
  if (p.header_offset % kHeaderAlignment != 0) {
    return fail("header offset " + std::to_string(p.header_offset) + " at offset 16 is not a multiple of 8");
  }
  if (p.header_capacity > kMaxHeaderCapacity) {
    return fail("header capacity " + std::to_string(p.header_capacity) + " at offset 32 exceeds the cap of " +
                std::to_string(kMaxHeaderCapacity) + " bytes");
  }
  const auto file_end = checked_add(p.header_offset, p.header_capacity);
  if (!file_end || *file_end != file_size) {
    return fail("header at offset " + std::to_string(p.header_offset) + " with capacity " +
                std::to_string(p.header_capacity) + " should end the file, but the file has " +
                std::to_string(file_size) + " bytes (truncated or extended?)");
  }
  if (p.header_length > p.header_capacity) {
    return fail("header length " + std::to_string(p.header_length) + " exceeds its capacity " +
                std::to_string(p.header_capacity));
  }
  if (p.header_length < HeaderStart::kFixedSize) {
    return fail("header length " + std::to_string(p.header_length) + " is less than the 48-byte minimum");
  }
  return p;
}

// ---- HeaderStart

void HeaderStart::encode_to(std::vector<std::byte>& out) const {
  out.reserve(out.size() + encoded_size());
  append_bytes(out, std::as_bytes(std::span(content_digest)));
  append_le<std::uint64_t>(out, tensor_count);
  append_le<std::uint64_t>(out, metadata.size());
  append_bytes(out, as_bytes(metadata));
}

Result<HeaderStart> HeaderStart::decode_from(ByteCursor& header) {
  HeaderStart start;
  auto digest = header.bytes(start.content_digest.size(), "content digest");
  if (!digest.ok()) return in_header(digest.status());
  std::transform(digest->begin(), digest->end(), start.content_digest.begin(),
                 [](std::byte b) { return std::to_integer<std::uint8_t>(b); });
  const std::uint64_t count_offset = header.offset();
  auto count = header.u64("tensor count");
  if (!count.ok()) return in_header(count.status());
  auto metadata_length = header.u64("metadata length");
  if (!metadata_length.ok()) return in_header(metadata_length.status());
  auto metadata = header.bytes(*metadata_length, "metadata of " + std::to_string(*metadata_length) + " bytes");
  if (!metadata.ok()) return in_header(metadata.status());
  start.metadata = as_chars(*metadata);
  start.tensor_count = *count;
  if (start.tensor_count > header.remaining() / TensorRecord::kMinSize) {
    return Status::corruption("tensor count " + std::to_string(start.tensor_count) + " at offset " +
                              std::to_string(count_offset) + " needs at least " +
                              std::to_string(TensorRecord::kMinSize) + " bytes per record, only " +
                              std::to_string(header.remaining()) + " remain in the header");
  }
  return start;
}

// ---- TensorRecord

TensorRecord::TensorRecord(const TensorInfo& info, const StoredTensor& stored)
    : dtype_id(static_cast<std::uint16_t>(info.dtype)),
      encoding(stored.encoding),
      name(info.name),
      shape(info.shape),
      offset(stored.offset),
      stored_length(stored.stored_size),
      checksum(stored.checksum) {}

void TensorRecord::encode_to(std::vector<std::byte>& out) const {
  append_le<std::uint32_t>(out, static_cast<std::uint32_t>(encoded_size()));
  append_le<std::uint16_t>(out, dtype_id);
  append_le<std::uint8_t>(out, static_cast<std::uint8_t>(encoding));
  append_le<std::uint8_t>(out, static_cast<std::uint8_t>(shape.size()));
  append_le<std::uint32_t>(out, static_cast<std::uint32_t>(name.size()));
  append_bytes(out, as_bytes(name));
  for (const std::uint64_t dim : shape) append_le<std::uint64_t>(out, dim);
  append_le<std::uint64_t>(out, offset);
  append_le<std::uint64_t>(out, stored_length);
  append_le<std::uint64_t>(out, checksum);
}

Result<TensorRecord> TensorRecord::decode_from(ByteCursor& header, std::uint64_t index) {
  const std::uint64_t record_offset = header.offset();
  const std::string where = "tensor record " + std::to_string(index) + " at offset " + std::to_string(record_offset);
  const auto fail = [&where](const std::string& what) { return Status::corruption(where + ": " + what); };
  auto length = header.u32(where);
  if (!length.ok()) return in_header(length.status());
  if (*length < kMinSize) {
    return fail("length " + std::to_string(*length) + " is less than the minimum " + std::to_string(kMinSize));
  }
  auto bytes = header.bytes(*length - 4, where);
  if (!bytes.ok()) return in_header(bytes.status());

  // The fixed fields fit (length >= 37); the name and shape are checked against the length first.
  ByteCursor fields(*bytes, record_offset + 4);
  TensorRecord record;
  const auto dtype = fields.u16("dtype");
  const auto encoding = fields.u8("encoding");
  const auto rank = fields.u8("rank");
  const auto name_length = fields.u32("name length");
  if (!dtype.ok() || !encoding.ok() || !rank.ok() || !name_length.ok()) return fail("fixed fields are cut short");
  if (*rank > kMaxRank) return fail("rank " + std::to_string(*rank) + " exceeds 32");
  if (*name_length == 0) return fail("empty name");
  const std::uint64_t needed = kFixedSize + std::uint64_t{*name_length} + 8u * *rank;
  if (*length < needed) {
    return fail("length " + std::to_string(*length) + " is less than the " + std::to_string(needed) +
                " bytes its name and shape need");
  }
  OWF_ASSIGN_OR_RETURN(const auto name, fields.bytes(*name_length, "name"));
  record.name = as_chars(name);
  if (const std::size_t bad = find_invalid_utf8(record.name); bad != std::string_view::npos) {
    return fail("name is not valid UTF-8 at byte " + std::to_string(bad));
  }
  record.dtype_id = *dtype;
  record.encoding = static_cast<Encoding>(*encoding);
  record.shape.resize(*rank);
  for (std::uint64_t& dim : record.shape) {
    OWF_ASSIGN_OR_RETURN(dim, fields.u64("dimension"));
  }
  OWF_ASSIGN_OR_RETURN(record.offset, fields.u64("offset"));
  OWF_ASSIGN_OR_RETURN(record.stored_length, fields.u64("stored length"));
  OWF_ASSIGN_OR_RETURN(record.checksum, fields.u64("checksum"));
  record.extension_length = fields.remaining();
  record.record_offset = record_offset;
  return record;
}

// ---- checksums and zeros

std::uint64_t xxh3(std::span<const std::byte> bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

Xxh3Stream::Xxh3Stream() : state_(XXH3_createState()) {
  if (state_ == nullptr) throw std::bad_alloc();
  XXH3_64bits_reset(state_);
}

Xxh3Stream::~Xxh3Stream() { XXH3_freeState(state_); }

void Xxh3Stream::update(std::span<const std::byte> bytes) { XXH3_64bits_update(state_, bytes.data(), bytes.size()); }

std::uint64_t Xxh3Stream::digest() const { return XXH3_64bits_digest(state_); }

std::uint64_t header_capacity_for(std::uint64_t header_length, const WriteOptions& options) {
  const std::uint64_t without_copy = header_length + options.header_slack;
  if (!options.header_copy_room) return without_copy;
  const std::uint64_t with_copy =
      without_copy + (header_length + kHeaderAlignment - 1) / kHeaderAlignment * kHeaderAlignment;
  return with_copy <= kMaxHeaderCapacity ? with_copy : without_copy;
}

Status write_zeros(const WriteAt& write_at, std::uint64_t offset, std::uint64_t length) {
  static constexpr std::size_t kZeroPiece = 64u << 10;
  const std::vector<std::byte> zeros(std::min<std::uint64_t>(kZeroPiece, length));
  for (std::uint64_t done = 0; done < length;) {
    const std::uint64_t piece = std::min<std::uint64_t>(zeros.size(), length - done);
    OWF_RETURN_IF_ERROR(write_at(offset + done, std::span(zeros).first(piece)));
    done += piece;
  }
  return {};
}

}  // namespace owf::detail
