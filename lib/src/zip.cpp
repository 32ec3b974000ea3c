// Zip archives (PKWARE APPNOTE.TXT 6.3), limited to what .npz files and
// PyTorch checkpoints use: one disk, methods stored (0) and deflated (8), no
// encryption, zip64 sizes and offsets. Record layouts, all little-endian:
//
//   local header     30 bytes  signature 0x04034b50, version, flags, method,
//                              time, date, crc32, compressed size, size,
//                              name length, extra length; then name, extra, data
//   central header   46 bytes  signature 0x02014b50, version made by, version,
//                              flags, method, time, date, crc32, compressed
//                              size, size, name/extra/comment lengths, disk,
//                              internal and external attributes, local header
//                              offset; then name, extra, comment
//   zip64 end        56 bytes  signature 0x06064b50, record size - 12, versions,
//                              disks, entry counts, directory size and offset
//   zip64 locator    20 bytes  signature 0x07064b50, disk, zip64 end offset, disks
//   end of directory 22 bytes  signature 0x06054b50, disks, entry counts,
//                              directory size and offset, comment length
//
// A 32-bit size or offset of 0xFFFFFFFF means "see the zip64 extra field"
// (id 0x0001), which holds the real values as u64 in the order size,
// compressed size, local header offset, for those fields that are saturated.
//
// This is the only file that includes zlib.
#include "owf/internal/zip.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <initializer_list>
#include <numeric>
#include <optional>
#include <string>
#include <utility>

#include "owf/internal/bytes.h"
#include "owf/internal/checked.h"

namespace owf {
namespace {

constexpr std::uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr std::uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr std::uint32_t kEndSignature = 0x06054b50;
constexpr std::uint32_t kZip64EndSignature = 0x06064b50;
constexpr std::uint32_t kZip64LocatorSignature = 0x07064b50;

constexpr std::uint64_t kLocalHeaderSize = 30;
constexpr std::uint64_t kCentralHeaderSize = 46;
constexpr std::uint64_t kEndSize = 22;
constexpr std::uint64_t kZip64EndSize = 56;
constexpr std::uint64_t kZip64LocatorSize = 20;
constexpr std::uint64_t kMaxCommentSize = 0xFFFF;
// What open reads from the end: the end record after the longest comment, and the zip64 records before it.
constexpr std::uint64_t kTailSize = kZip64EndSize + kZip64LocatorSize + kEndSize + kMaxCommentSize;
// Reading a local header fetches this much of its extra field with it (zip64 sizes, alignment
// padding of up to 64 bytes are what writers put there), so that one request usually does.
constexpr std::uint64_t kLocalExtraAllowance = 1024;

// Offsets of fields patched after the data is written.
constexpr std::uint64_t kLocalCrcOffset = 14;
constexpr std::uint64_t kLocalCompressedSizeOffset = 18;

constexpr std::uint16_t kZip64ExtraId = 0x0001;
// Private extra field that pads local headers so data is aligned ("OW"; PyTorch uses "FB").
constexpr std::uint16_t kPaddingExtraId = 0x574F;
constexpr std::uint64_t kExtraHeaderSize = 4;  // id, data size

constexpr std::uint16_t kFlagEncrypted = 0x0001;
constexpr std::uint16_t kFlagDataDescriptor = 0x0008;
constexpr std::uint16_t kFlagStrongEncryption = 0x0040;
constexpr std::uint16_t kFlagUtf8Name = 0x0800;

constexpr std::uint16_t kMethodStored = 0;
constexpr std::uint16_t kMethodDeflated = 8;

constexpr std::uint16_t kVersionDefault = 20;  // 2.0: deflate
constexpr std::uint16_t kVersionZip64 = 45;    // 4.5: zip64 extensions

// Every entry carries 1980-01-01 00:00:00, the earliest DOS date, so that the
// same entries always give the same archive.
constexpr std::uint16_t kDosTime = 0;
constexpr std::uint16_t kDosDate = (1 << 5) | 1;

constexpr std::uint32_t kMax16 = 0xFFFF;
constexpr std::uint64_t kMax32 = 0xFFFFFFFF;

// Deflate's best case is a 258-byte match in two bits: at most 1032 bytes out per byte in.
constexpr std::uint64_t kMaxDeflateRatio = 1032;
constexpr std::uint32_t kMaxAlignment = 32768;  // the padding must fit an extra field
constexpr std::size_t kCopyPieceSize = 4u << 20;
constexpr std::size_t kInflateScratchSize = 1u << 20;
constexpr std::uint64_t kZlibMaxPiece = 1u << 30;  // zlib counts in 32-bit uInt

std::string in_quotes(std::string_view name) { return "'" + std::string(name) + "'"; }

// "archive.npz: entry 'w.npy'", the prefix of messages about one entry.
std::string entry_context(std::string_view archive, std::string_view entry) {
  return std::string(archive) + ": entry " + in_quotes(entry);
}

std::string range_text(std::uint64_t begin, std::uint64_t end) {
  return std::to_string(begin) + ".." + std::to_string(end);
}

// Entry names are relative paths with '/' separators: nothing that could
// escape the directory an archive is extracted into. Returns what is wrong
// with `name`, or nullptr.
const char* entry_name_problem(std::string_view name) {
  if (name.empty()) return "entry name is empty";
  if (name.find('\0') != std::string_view::npos) return "entry name contains a NUL byte";
  if (name.find('\\') != std::string_view::npos) return "entry name contains a backslash";
  if (name.front() == '/') return "entry name is an absolute path";
  for (std::size_t start = 0; start <= name.size();) {
    const std::size_t slash = std::min(name.find('/', start), name.size());
    if (name.substr(start, slash - start) == "..") return "entry name has a '..' component";
    start = slash + 1;
  }
  return nullptr;
}

// A name that occurs more than once, if any.
std::optional<std::string_view> find_duplicate(std::vector<std::string_view> names) {
  std::sort(names.begin(), names.end());
  const auto repeat = std::adjacent_find(names.begin(), names.end());
  if (repeat == names.end()) return std::nullopt;
  return *repeat;
}

std::uint32_t crc32_update(std::uint32_t crc, std::span<const std::byte> bytes) {
  const auto* data = reinterpret_cast<const Bytef*>(bytes.data());
  return static_cast<std::uint32_t>(crc32_z(crc, data, bytes.size()));
}

// The data of extra field `id` within an extra block, and its absolute offset.
struct ExtraField {
  std::span<const std::byte> data;
  std::uint64_t offset = 0;
};

Result<std::optional<ExtraField>> find_extra_field(std::span<const std::byte> extra, std::uint64_t extra_offset,
                                                   std::uint16_t id) {
  ByteCursor cursor(extra, extra_offset);
  // Fewer than 4 trailing bytes are padding some writers leave; Python's zipfile ignores them too.
  while (cursor.remaining() >= kExtraHeaderSize) {
    OWF_ASSIGN_OR_RETURN(const std::uint16_t field_id, cursor.u16("extra field id"));
    OWF_ASSIGN_OR_RETURN(const std::uint16_t size, cursor.u16("extra field size"));
    const std::uint64_t offset = cursor.offset();
    OWF_ASSIGN_OR_RETURN(const auto data, cursor.bytes(size, "extra field data"));
    if (field_id == id) return std::optional<ExtraField>(ExtraField{data, offset});
  }
  return std::optional<ExtraField>();
}

// Replaces each value that holds the 32-bit sentinel 0xFFFFFFFF by the next
// u64 of the zip64 extra field, in the order given (APPNOTE 4.5.3).
Status resolve_zip64(std::span<const std::byte> extra, std::uint64_t extra_offset,
                     std::initializer_list<std::uint64_t*> values) {
  const bool saturated = std::any_of(values.begin(), values.end(), [](const std::uint64_t* v) { return *v == kMax32; });
  if (!saturated) return {};
  OWF_ASSIGN_OR_RETURN(const auto field, find_extra_field(extra, extra_offset, kZip64ExtraId));
  if (!field) {
    return Status::corruption("size or offset 0xFFFFFFFF but no zip64 extra field at offset " +
                              std::to_string(extra_offset));
  }
  ByteCursor cursor(field->data, field->offset);
  for (std::uint64_t* value : values) {
    if (*value != kMax32) continue;
    OWF_ASSIGN_OR_RETURN(*value, cursor.u64("zip64 extra field value"));
  }
  return {};
}

// Where the central directory is, from the end records.
struct Directory {
  std::uint64_t entry_count = 0;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::uint64_t end_records_offset = 0;  // first byte of the zip64 end record or end record
};

// The last bytes of the archive, which open reads first: the end record (after the longest
// comment) and the zip64 records before it, and often the central directory too.
struct Tail {
  Region bytes;
  std::uint64_t offset = 0;
};

// Bytes [offset, offset + size) of the archive: a view of the tail when it holds them, else read.
Result<Region> archive_bytes(const ByteSource& archive, const Tail& tail, std::uint64_t offset, std::uint64_t size) {
  const auto end = checked_add(offset, size);
  if (!end || *end > archive.size()) {
    return Status::corruption(std::to_string(size) + " bytes at offset " + std::to_string(offset) +
                              " run past the end of the archive (" + std::to_string(archive.size()) + " bytes)");
  }
  if (offset >= tail.offset && *end <= tail.offset + tail.bytes.size()) {
    return Region::borrowed(tail.bytes.bytes().subspan(offset - tail.offset, size));
  }
  return archive.region(offset, size);
}

Result<Directory> read_zip64_end(const ByteSource& archive, const Tail& tail, std::uint64_t locator_offset) {
  OWF_ASSIGN_OR_RETURN(const Region locator_bytes, archive_bytes(archive, tail, locator_offset, kZip64LocatorSize));
  ByteCursor locator(locator_bytes.bytes(), locator_offset);
  OWF_RETURN_IF_ERROR(locator.skip(4, "zip64 locator signature"));
  OWF_ASSIGN_OR_RETURN(const std::uint32_t end_disk, locator.u32("zip64 locator disk"));
  OWF_ASSIGN_OR_RETURN(const std::uint64_t end_offset, locator.u64("zip64 end record offset"));
  OWF_ASSIGN_OR_RETURN(const std::uint32_t disks, locator.u32("zip64 locator disk count"));
  if (end_disk != 0 || disks > 1) return Status::not_supported("multi-disk archives are not supported");
  if (end_offset > locator_offset || locator_offset - end_offset < kZip64EndSize) {
    return Status::corruption("zip64 end record offset " + std::to_string(end_offset) + " in the locator at offset " +
                              std::to_string(locator_offset) + " leaves no room for the record");
  }
  OWF_ASSIGN_OR_RETURN(const Region record_bytes, archive_bytes(archive, tail, end_offset, kZip64EndSize));
  ByteCursor record(record_bytes.bytes(), end_offset);
  OWF_ASSIGN_OR_RETURN(const std::uint32_t signature, record.u32("zip64 end record signature"));
  if (signature != kZip64EndSignature) {
    return Status::corruption("no zip64 end record signature at offset " + std::to_string(end_offset));
  }
  OWF_RETURN_IF_ERROR(record.skip(8 + 2 + 2, "zip64 end record size and versions"));
  OWF_ASSIGN_OR_RETURN(const std::uint32_t disk, record.u32("zip64 end record disk"));
  OWF_ASSIGN_OR_RETURN(const std::uint32_t directory_disk, record.u32("zip64 end record directory disk"));
  OWF_ASSIGN_OR_RETURN(const std::uint64_t disk_entries, record.u64("zip64 end record entries on disk"));
  Directory directory;
  OWF_ASSIGN_OR_RETURN(directory.entry_count, record.u64("zip64 end record entry count"));
  OWF_ASSIGN_OR_RETURN(directory.size, record.u64("zip64 end record directory size"));
  OWF_ASSIGN_OR_RETURN(directory.offset, record.u64("zip64 end record directory offset"));
  if (disk != 0 || directory_disk != 0 || disk_entries != directory.entry_count) {
    return Status::not_supported("multi-disk archives are not supported");
  }
  directory.end_records_offset = end_offset;
  return directory;
}

// Finds the end record by a backwards search over the last 22 + 65535 bytes
// (the record ends with a comment of at most 65535 bytes), then the zip64
// records that may precede it.
Result<Directory> find_directory(const ByteSource& archive, const Tail& tail) {
  const std::uint64_t archive_size = archive.size();
  if (archive_size < kEndSize) {
    return Status::corruption("the archive has " + std::to_string(archive_size) +
                              " bytes, fewer than the 22 of an end of central directory record");
  }
  const std::span<const std::byte> bytes = tail.bytes.bytes();
  const std::uint64_t last = archive_size - kEndSize;
  const std::uint64_t first = last > kMaxCommentSize ? last - kMaxCommentSize : 0;
  std::optional<std::uint64_t> end_offset;
  for (std::uint64_t at = last + 1; at-- > first;) {
    const std::byte* record = bytes.data() + (at - tail.offset);
    if (load_le<std::uint32_t>(record) == kEndSignature &&
        at + kEndSize + load_le<std::uint16_t>(record + 20) == archive_size) {
      end_offset = at;
      break;
    }
  }
  if (!end_offset) {
    return Status::corruption("no end of central directory record in the last " + std::to_string(archive_size - first) +
                              " bytes (not a zip archive, or truncated)");
  }
  ByteCursor end(bytes.subspan(*end_offset - tail.offset, kEndSize), *end_offset);
  OWF_RETURN_IF_ERROR(end.skip(4, "end record signature"));
  OWF_ASSIGN_OR_RETURN(const std::uint16_t disk, end.u16("end record disk"));
  OWF_ASSIGN_OR_RETURN(const std::uint16_t directory_disk, end.u16("end record directory disk"));
  OWF_ASSIGN_OR_RETURN(const std::uint16_t disk_entries, end.u16("end record entries on disk"));
  OWF_ASSIGN_OR_RETURN(const std::uint16_t entries, end.u16("end record entry count"));
  OWF_ASSIGN_OR_RETURN(const std::uint32_t size, end.u32("end record directory size"));
  OWF_ASSIGN_OR_RETURN(const std::uint32_t offset, end.u32("end record directory offset"));

  Directory directory;
  // The tail reaches kZip64LocatorSize bytes before the earliest end record.
  if (*end_offset >= kZip64LocatorSize &&
      load_le<std::uint32_t>(bytes.data() + (*end_offset - kZip64LocatorSize - tail.offset)) ==
          kZip64LocatorSignature) {
    OWF_ASSIGN_OR_RETURN(directory, read_zip64_end(archive, tail, *end_offset - kZip64LocatorSize));
  } else {
    if (disk != 0 || directory_disk != 0 || disk_entries != entries) {
      return Status::not_supported("multi-disk archives are not supported");
    }
    directory = {entries, offset, size, *end_offset};
  }
  const auto directory_end = checked_add(directory.offset, directory.size);
  if (!directory_end || *directory_end > directory.end_records_offset) {
    return Status::corruption("central directory at offset " + std::to_string(directory.offset) + " (" +
                              std::to_string(directory.size) + " bytes) runs past the end records at offset " +
                              std::to_string(directory.end_records_offset));
  }
  if (directory.entry_count > directory.size / kCentralHeaderSize) {
    return Status::corruption("central directory claims " + std::to_string(directory.entry_count) +
                              " entries but its " + std::to_string(directory.size) + " bytes hold at most " +
                              std::to_string(directory.size / kCentralHeaderSize));
  }
  return directory;
}

// One central directory header, decoded.
struct CentralHeader {
  ZipEntry entry;
  std::uint16_t flags = 0;
};

Result<CentralHeader> read_central_header(ByteCursor& cursor) {
  const std::uint64_t header_offset = cursor.offset();
  OWF_ASSIGN_OR_RETURN(const std::uint32_t signature, cursor.u32("central header signature"));
  if (signature != kCentralHeaderSignature) {
    return Status::corruption("no central header signature at offset " + std::to_string(header_offset));
  }
  CentralHeader header;
  OWF_RETURN_IF_ERROR(cursor.skip(4, "central header versions"));
  OWF_ASSIGN_OR_RETURN(header.flags, cursor.u16("central header flags"));
  OWF_ASSIGN_OR_RETURN(header.entry.method, cursor.u16("central header method"));
  OWF_RETURN_IF_ERROR(cursor.skip(4, "central header time and date"));
  OWF_ASSIGN_OR_RETURN(header.entry.crc32, cursor.u32("central header crc32"));
  OWF_ASSIGN_OR_RETURN(header.entry.compressed_size, cursor.u32("central header compressed size"));
  OWF_ASSIGN_OR_RETURN(header.entry.size, cursor.u32("central header size"));
  OWF_ASSIGN_OR_RETURN(const std::uint16_t name_length, cursor.u16("central header name length"));
  OWF_ASSIGN_OR_RETURN(const std::uint16_t extra_length, cursor.u16("central header extra length"));
  OWF_ASSIGN_OR_RETURN(const std::uint16_t comment_length, cursor.u16("central header comment length"));
  OWF_ASSIGN_OR_RETURN(const std::uint16_t disk, cursor.u16("central header disk"));
  OWF_RETURN_IF_ERROR(cursor.skip(2 + 4, "central header attributes"));
  OWF_ASSIGN_OR_RETURN(header.entry.local_header_offset, cursor.u32("central header local header offset"));
  OWF_ASSIGN_OR_RETURN(const auto name, cursor.bytes(name_length, "central header name"));
  header.entry.name = std::string(as_chars(name));
  const std::uint64_t extra_offset = cursor.offset();
  OWF_ASSIGN_OR_RETURN(const auto extra, cursor.bytes(extra_length, "central header extra field"));
  OWF_RETURN_IF_ERROR(cursor.skip(comment_length, "central header comment"));

  // Built only for a message: archives can hold very many entries.
  const auto where = [&header, header_offset] {
    return "entry " + in_quotes(header.entry.name) + " (central header at offset " + std::to_string(header_offset) +
           ")";
  };
  const Status zip64 = resolve_zip64(
      extra, extra_offset, {&header.entry.size, &header.entry.compressed_size, &header.entry.local_header_offset});
  if (!zip64.ok()) return zip64.with_context(where());
  if (const char* problem = entry_name_problem(header.entry.name)) return Status::corruption(where() + ": " + problem);
  if (disk != 0 && disk != kMax16) return Status::not_supported(where() + ": multi-disk archives are not supported");
  if (header.flags & (kFlagEncrypted | kFlagStrongEncryption)) {
    return Status::not_supported(where() + ": encrypted entries are not supported");
  }
  if (header.entry.method != kMethodStored && header.entry.method != kMethodDeflated) {
    return Status::not_supported(where() + ": compression method " + std::to_string(header.entry.method) +
                                 " is not supported (only 0 stored and 8 deflated)");
  }
  // Callers allocate `size` bytes before inflating: refuse sizes deflate cannot produce.
  if (header.entry.method == kMethodDeflated && header.entry.size / kMaxDeflateRatio > header.entry.compressed_size) {
    return Status::corruption(where() + ": size " + std::to_string(header.entry.size) +
                              " is more than deflate can make of " + std::to_string(header.entry.compressed_size) +
                              " compressed bytes");
  }
  if (header.entry.method == kMethodStored && header.entry.compressed_size != header.entry.size) {
    return Status::corruption(where() + ": stored entry has compressed size " +
                              std::to_string(header.entry.compressed_size) + " but size " +
                              std::to_string(header.entry.size));
  }
  return header;
}

// The size of the local header at the start of `bytes` (archive offset
// `offset`), name and extra field included, from its fixed part.
Result<std::uint64_t> local_header_size(std::span<const std::byte> bytes, std::uint64_t offset) {
  ByteCursor cursor(bytes, offset);
  OWF_RETURN_IF_ERROR(cursor.skip(kLocalHeaderSize - 4, "local header"));
  OWF_ASSIGN_OR_RETURN(const std::uint16_t name_length, cursor.u16("local header name length"));
  OWF_ASSIGN_OR_RETURN(const std::uint16_t extra_length, cursor.u16("local header extra length"));
  return kLocalHeaderSize + name_length + extra_length;
}

// Checks the local header at the start of `bytes` (archive offset `offset`,
// the whole header) against the central one of `entry`; returns the offset of
// the entry's data.
Result<std::uint64_t> read_local_header(std::span<const std::byte> bytes, std::uint64_t offset, const ZipEntry& entry,
                                        bool data_descriptor) {
  ByteCursor cursor(bytes, offset);
  OWF_ASSIGN_OR_RETURN(const std::uint32_t signature, cursor.u32("local header signature"));
  if (signature != kLocalHeaderSignature) {
    return Status::corruption("no local header signature at offset " + std::to_string(offset));
  }
  OWF_RETURN_IF_ERROR(cursor.skip(2, "local header version"));
  OWF_ASSIGN_OR_RETURN(const std::uint16_t flags, cursor.u16("local header flags"));
  OWF_ASSIGN_OR_RETURN(const std::uint16_t method, cursor.u16("local header method"));
  OWF_RETURN_IF_ERROR(cursor.skip(4, "local header time and date"));
  OWF_ASSIGN_OR_RETURN(const std::uint32_t crc, cursor.u32("local header crc32"));
  OWF_ASSIGN_OR_RETURN(std::uint64_t compressed_size, cursor.u32("local header compressed size"));
  OWF_ASSIGN_OR_RETURN(std::uint64_t size, cursor.u32("local header size"));
  OWF_ASSIGN_OR_RETURN(const std::uint16_t name_length, cursor.u16("local header name length"));
  OWF_ASSIGN_OR_RETURN(const std::uint16_t extra_length, cursor.u16("local header extra length"));
  OWF_ASSIGN_OR_RETURN(const auto name, cursor.bytes(name_length, "local header name"));
  const std::uint64_t extra_offset = cursor.offset();
  OWF_ASSIGN_OR_RETURN(const auto extra, cursor.bytes(extra_length, "local header extra field"));

  const auto where = [offset] { return "local header at offset " + std::to_string(offset); };
  if (as_chars(name) != entry.name) {
    return Status::corruption(where() + " names " + in_quotes(as_chars(name)) + ", the central directory " +
                              in_quotes(entry.name));
  }
  if (method != entry.method) {
    return Status::corruption(where() + " has method " + std::to_string(method) + ", the central directory " +
                              std::to_string(entry.method));
  }
  if ((flags & (kFlagEncrypted | kFlagStrongEncryption)) != 0) {
    return Status::not_supported(where() + ": encrypted entries are not supported");
  }
  // With a data descriptor the local header may hold zeros; the central directory has the values.
  if (!data_descriptor) {
    const Status zip64 = resolve_zip64(extra, extra_offset, {&size, &compressed_size});
    if (!zip64.ok()) return zip64.with_context(where());
    if (crc != entry.crc32 || size != entry.size || compressed_size != entry.compressed_size) {
      return Status::corruption(where() + " has crc32 " + std::to_string(crc) + ", sizes " +
                                std::to_string(compressed_size) + "/" + std::to_string(size) +
                                "; the central directory has crc32 " + std::to_string(entry.crc32) + ", sizes " +
                                std::to_string(entry.compressed_size) + "/" + std::to_string(entry.size));
    }
  }
  return cursor.offset();
}

// A span of the archive that an entry (its local header and data) or the
// central directory (entry == nullptr) occupies, for the overlap check.
struct Extent {
  std::uint64_t begin, end;
  const ZipEntry* entry;
};

std::string describe(const Extent& extent) {
  const std::string what = extent.entry ? "entry " + in_quotes(extent.entry->name) : "the central directory";
  return what + " (bytes " + range_text(extent.begin, extent.end) + ")";
}

Status check_no_overlap(std::vector<Extent> extents) {
  std::sort(extents.begin(), extents.end(), [](const Extent& a, const Extent& b) { return a.begin < b.begin; });
  for (std::size_t i = 1; i < extents.size(); ++i) {
    if (extents[i].begin < extents[i - 1].end) {
      return Status::corruption(describe(extents[i]) + " overlaps " + describe(extents[i - 1]));
    }
  }
  return {};
}

// Owns a zlib stream and ends it however the function that uses it returns.
class ZlibStream {
 public:
  explicit ZlibStream(int (*end)(z_streamp)) : end_(end) {}
  ZlibStream(const ZlibStream&) = delete;
  ZlibStream& operator=(const ZlibStream&) = delete;
  ~ZlibStream() {
    if (active_) end_(&stream_);
  }
  // `init_result` is what inflateInit2/deflateInit2 on get() returned.
  Status started(int init_result) {
    if (init_result != Z_OK)
      return Status::io_error("cannot initialize zlib (error " + std::to_string(init_result) + ")");
    active_ = true;
    return {};
  }
  z_stream* get() { return &stream_; }

 private:
  z_stream stream_{};
  int (*end_)(z_streamp);
  bool active_ = false;
};

// Points the stream's input at the next piece of `data` (zlib counts in
// 32-bit units) once the previous piece is used up.
void feed_input(z_stream* stream, std::span<const std::byte> data, std::uint64_t& consumed) {
  if (stream->avail_in != 0) return;
  const std::uint64_t piece = std::min<std::uint64_t>(data.size() - consumed, kZlibMaxPiece);
  stream->next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(data.data() + consumed));
  stream->avail_in = static_cast<uInt>(piece);
  consumed += piece;
}

using OutputWindow = std::function<std::span<std::byte>(std::uint64_t produced)>;

// Inflates raw deflate data that must produce exactly `size` bytes into the
// windows `next_window(produced)` returns (each at most kZlibMaxPiece bytes),
// and returns the CRC-32 of the output.
Result<std::uint32_t> inflate_with_crc(std::span<const std::byte> compressed, std::uint64_t size,
                                       const OutputWindow& next_window) {
  ZlibStream inflater(inflateEnd);
  z_stream* stream = inflater.get();
  OWF_RETURN_IF_ERROR(inflater.started(inflateInit2(stream, -MAX_WBITS)));
  std::uint64_t consumed = 0;
  std::uint64_t produced = 0;
  std::uint32_t crc = 0;
  std::array<std::byte, 1> overflow{};
  for (;;) {
    feed_input(stream, compressed, consumed);
    // Past the recorded size, a one-byte window catches output that should not be there.
    const std::span<std::byte> window = produced < size ? next_window(produced) : std::span<std::byte>(overflow);
    stream->next_out = reinterpret_cast<Bytef*>(window.data());
    stream->avail_out = static_cast<uInt>(window.size());
    const int result = inflate(stream, Z_NO_FLUSH);
    const std::uint64_t written = window.size() - stream->avail_out;
    if (produced >= size && written > 0) {
      return Status::corruption("deflate data inflates to more than the " + std::to_string(size) + " bytes recorded");
    }
    crc = crc32_update(crc, window.first(written));
    produced += written;
    if (result == Z_STREAM_END) break;
    if (result == Z_BUF_ERROR && stream->avail_in == 0 && consumed == compressed.size()) {
      return Status::corruption("deflate data ends after " + std::to_string(produced) + " of " + std::to_string(size) +
                                " bytes");
    }
    if (result != Z_OK && result != Z_BUF_ERROR) {
      return Status::corruption(std::string("deflate data is damaged: ") +
                                (stream->msg ? stream->msg : "zlib error " + std::to_string(result)));
    }
  }
  if (produced != size) {
    return Status::corruption("deflate data inflates to " + std::to_string(produced) + " bytes, not the " +
                              std::to_string(size) + " recorded");
  }
  return crc;
}

Status compare_crc(const ZipEntry& entry, std::uint64_t data_offset, std::uint32_t computed, const std::string& where) {
  if (computed == entry.crc32) return {};
  return Status::corruption(where + ": data at offset " + std::to_string(data_offset) + " has CRC-32 " +
                            std::to_string(computed) + ", the central directory records " +
                            std::to_string(entry.crc32));
}

// Extra field lengths of a local header whose data starts aligned.
std::uint64_t padding_extra_size(std::uint64_t header_end, std::uint32_t alignment) {
  if (header_end % alignment == 0) return 0;
  // The padding field needs its own 4-byte header, so align the end of that.
  const std::uint64_t padded_end = (header_end + kExtraHeaderSize + alignment - 1) / alignment * alignment;
  return padded_end - header_end;
}

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::uint16_t name_flags(std::string_view name) { return is_ascii(name) ? 0 : kFlagUtf8Name; }

// Everything of an entry that its headers record.
struct EntryFields {
  std::string_view name;
  std::uint16_t method = kMethodStored;
  std::uint32_t crc32 = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t size = 0;
  std::uint64_t local_header_offset = 0;
};

// A local header; with `zip64` its sizes go into a zip64 extra field (both of
// them, as APPNOTE 4.5.3 requires for local headers), so they can be patched
// to any value later. The data after it starts at a multiple of `alignment`.
std::vector<std::byte> encode_local_header(const EntryFields& entry, bool zip64, std::uint32_t alignment) {
  const std::uint64_t zip64_extra_size = zip64 ? kExtraHeaderSize + 16 : 0;
  const std::uint64_t padding = padding_extra_size(
      entry.local_header_offset + kLocalHeaderSize + entry.name.size() + zip64_extra_size, alignment);
  std::vector<std::byte> out;
  out.reserve(kLocalHeaderSize + entry.name.size() + zip64_extra_size + padding);
  append_le<std::uint32_t>(out, kLocalHeaderSignature);
  append_le<std::uint16_t>(out, zip64 ? kVersionZip64 : kVersionDefault);
  append_le<std::uint16_t>(out, name_flags(entry.name));
  append_le<std::uint16_t>(out, entry.method);
  append_le<std::uint16_t>(out, kDosTime);
  append_le<std::uint16_t>(out, kDosDate);
  append_le<std::uint32_t>(out, entry.crc32);
  append_le<std::uint32_t>(out, zip64 ? kMax32 : static_cast<std::uint32_t>(entry.compressed_size));
  append_le<std::uint32_t>(out, zip64 ? kMax32 : static_cast<std::uint32_t>(entry.size));
  append_le<std::uint16_t>(out, static_cast<std::uint16_t>(entry.name.size()));
  append_le<std::uint16_t>(out, static_cast<std::uint16_t>(zip64_extra_size + padding));
  append_bytes(out, as_bytes(entry.name));
  if (zip64) {
    append_le<std::uint16_t>(out, kZip64ExtraId);
    append_le<std::uint16_t>(out, 16);
    append_le<std::uint64_t>(out, entry.size);
    append_le<std::uint64_t>(out, entry.compressed_size);
  }
  if (padding != 0) {
    append_le<std::uint16_t>(out, kPaddingExtraId);
    append_le<std::uint16_t>(out, static_cast<std::uint16_t>(padding - kExtraHeaderSize));
    out.resize(out.size() + padding - kExtraHeaderSize);
  }
  return out;
}

std::uint32_t saturate32(std::uint64_t value) { return static_cast<std::uint32_t>(std::min(value, kMax32)); }

void append_central_header(std::vector<std::byte>& out, const EntryFields& entry) {
  // Each value that does not fit 32 bits goes into the zip64 extra field, in this order.
  std::vector<std::uint64_t> zip64_values;
  for (const std::uint64_t value : {entry.size, entry.compressed_size, entry.local_header_offset}) {
    if (value >= kMax32) zip64_values.push_back(value);
  }
  const std::uint16_t zip64_data_size = static_cast<std::uint16_t>(8 * zip64_values.size());
  const std::uint16_t version = zip64_values.empty() ? kVersionDefault : kVersionZip64;
  append_le<std::uint32_t>(out, kCentralHeaderSignature);
  append_le<std::uint16_t>(out, version);  // made by: MS-DOS attributes, this version
  append_le<std::uint16_t>(out, version);
  append_le<std::uint16_t>(out, name_flags(entry.name));
  append_le<std::uint16_t>(out, entry.method);
  append_le<std::uint16_t>(out, kDosTime);
  append_le<std::uint16_t>(out, kDosDate);
  append_le<std::uint32_t>(out, entry.crc32);
  append_le<std::uint32_t>(out, saturate32(entry.compressed_size));
  append_le<std::uint32_t>(out, saturate32(entry.size));
  append_le<std::uint16_t>(out, static_cast<std::uint16_t>(entry.name.size()));
  append_le<std::uint16_t>(out, zip64_values.empty() ? 0 : kExtraHeaderSize + zip64_data_size);
  append_le<std::uint16_t>(out, 0);  // comment length
  append_le<std::uint16_t>(out, 0);  // disk
  append_le<std::uint16_t>(out, 0);  // internal attributes
  append_le<std::uint32_t>(out, 0);  // external attributes
  append_le<std::uint32_t>(out, saturate32(entry.local_header_offset));
  append_bytes(out, as_bytes(entry.name));
  if (!zip64_values.empty()) {
    append_le<std::uint16_t>(out, kZip64ExtraId);
    append_le<std::uint16_t>(out, zip64_data_size);
    for (const std::uint64_t value : zip64_values) append_le<std::uint64_t>(out, value);
  }
}

void append_end_records(std::vector<std::byte>& out, std::uint64_t entry_count, std::uint64_t directory_offset,
                        std::uint64_t directory_size) {
  if (entry_count >= kMax16 || directory_size >= kMax32 || directory_offset >= kMax32) {
    const std::uint64_t zip64_end_offset = directory_offset + directory_size;
    append_le<std::uint32_t>(out, kZip64EndSignature);
    append_le<std::uint64_t>(out, kZip64EndSize - 12);  // size of the rest of the record
    append_le<std::uint16_t>(out, kVersionZip64);
    append_le<std::uint16_t>(out, kVersionZip64);
    append_le<std::uint32_t>(out, 0);  // this disk
    append_le<std::uint32_t>(out, 0);  // directory disk
    append_le<std::uint64_t>(out, entry_count);
    append_le<std::uint64_t>(out, entry_count);
    append_le<std::uint64_t>(out, directory_size);
    append_le<std::uint64_t>(out, directory_offset);
    append_le<std::uint32_t>(out, kZip64LocatorSignature);
    append_le<std::uint32_t>(out, 0);  // disk of the zip64 end record
    append_le<std::uint64_t>(out, zip64_end_offset);
    append_le<std::uint32_t>(out, 1);  // disks
  }
  const auto count16 = static_cast<std::uint16_t>(std::min<std::uint64_t>(entry_count, kMax16));
  append_le<std::uint32_t>(out, kEndSignature);
  append_le<std::uint16_t>(out, 0);  // this disk
  append_le<std::uint16_t>(out, 0);  // directory disk
  append_le<std::uint16_t>(out, count16);
  append_le<std::uint16_t>(out, count16);
  append_le<std::uint32_t>(out, saturate32(directory_size));
  append_le<std::uint32_t>(out, saturate32(directory_offset));
  append_le<std::uint16_t>(out, 0);  // comment length
}

template <typename T>
Status patch_le(AtomicFile& file, std::uint64_t offset, T value) {
  std::array<std::byte, sizeof(T)> bytes{};
  store_le<T>(bytes.data(), value);
  return file.write_at(offset, bytes);
}

}  // namespace

Result<ZipReader> ZipReader::open(std::span<const std::byte> archive, std::string display_name) {
  return open(memory_source(display_name, Region::borrowed(archive)), std::move(display_name));
}

Result<ZipReader> ZipReader::open(std::shared_ptr<const ByteSource> archive, std::string display_name) {
  const std::uint64_t archive_size = archive->size();
  const std::uint64_t tail_size = std::min(archive_size, kTailSize);
  auto tail_bytes = archive->region(archive_size - tail_size, tail_size);
  if (!tail_bytes.ok()) return tail_bytes.status().with_context(display_name);
  const Tail tail{std::move(tail_bytes).value(), archive_size - tail_size};
  auto directory = find_directory(*archive, tail);
  if (!directory.ok()) return directory.status().with_context(display_name);
  auto directory_bytes = archive_bytes(*archive, tail, directory->offset, directory->size);
  if (!directory_bytes.ok()) return directory_bytes.status().with_context(display_name);

  ZipReader reader;
  reader.archive_ = std::move(archive);
  reader.display_name_ = std::move(display_name);
  reader.entries_.reserve(directory->entry_count);
  ByteCursor cursor(directory_bytes->bytes(), directory->offset);
  for (std::uint64_t i = 0; i < directory->entry_count; ++i) {
    auto header = read_central_header(cursor);
    if (!header.ok()) return header.status().with_context(reader.display_name_);
    reader.data_descriptors_.push_back((header->flags & kFlagDataDescriptor) != 0);
    reader.entries_.push_back(std::move(header->entry));
  }
  const std::size_t count = reader.entries_.size();
  reader.lazy_->data_offsets.assign(count, 0);
  reader.limits_.assign(count, archive_size);
  const bool mapped = reader.archive_->mapped().has_value();
  if (mapped) {
    // Reading every local header costs nothing here, and the overlap check can then use real extents.
    for (std::size_t i = 0; i < count; ++i) OWF_RETURN_IF_ERROR(reader.data(i, 0).status());
  }
  // entries_ no longer grows, so the extents can point into it. Without the local headers, an
  // entry's extent is as long as its fixed header, name and data at least, and must end by the
  // start of the next extent.
  std::vector<Extent> extents;
  extents.reserve(count + 1);
  extents.push_back({directory->offset, directory->offset + directory->size, nullptr});
  for (std::size_t i = 0; i < count; ++i) {
    const ZipEntry& entry = reader.entries_[i];
    const std::uint64_t begin = entry.local_header_offset;
    if (mapped) {
      extents.push_back({begin, reader.lazy_->data_offsets[i] + entry.compressed_size, &entry});
      continue;
    }
    const auto end = checked_add(begin, kLocalHeaderSize + entry.name.size() + entry.compressed_size);
    if (!end || *end > archive_size) {
      return Status::corruption(entry_context(reader.display_name_, entry.name) + ": local header at offset " +
                                std::to_string(begin) + " and " + std::to_string(entry.compressed_size) +
                                " bytes of data run past the end of the archive (" + std::to_string(archive_size) +
                                " bytes)");
    }
    extents.push_back({begin, *end, &entry});
  }
  OWF_RETURN_IF_ERROR(check_no_overlap(extents).with_context(reader.display_name_));
  if (!mapped) {
    std::sort(extents.begin(), extents.end(), [](const Extent& a, const Extent& b) { return a.begin < b.begin; });
    for (std::size_t i = 0; i + 1 < extents.size(); ++i) {
      if (extents[i].entry) reader.limits_[extents[i].entry - reader.entries_.data()] = extents[i + 1].begin;
    }
  }
  auto& by_name = reader.by_name_;
  by_name.resize(count);
  std::iota(by_name.begin(), by_name.end(), std::size_t{0});
  const auto name_of = [&entries = reader.entries_](std::size_t i) -> std::string_view { return entries[i].name; };
  std::ranges::sort(by_name, {}, name_of);
  if (const auto repeat = std::ranges::adjacent_find(by_name, {}, name_of); repeat != by_name.end()) {
    return Status::corruption(entry_context(reader.display_name_, name_of(*repeat)) + " appears twice");
  }
  return reader;
}

const ZipEntry* ZipReader::find(std::string_view name) const {
  const auto name_of = [this](std::size_t i) -> std::string_view { return entries_[i].name; };
  const auto found = std::ranges::lower_bound(by_name_, name, {}, name_of);
  return found != by_name_.end() && name_of(*found) == name ? &entries_[*found] : nullptr;
}

Result<std::size_t> ZipReader::index_of(const ZipEntry& entry) const {
  const ZipEntry* own = find(entry.name);
  if (own == nullptr || own->local_header_offset != entry.local_header_offset ||
      own->compressed_size != entry.compressed_size) {
    return Status::invalid_argument(entry_context(display_name_, entry.name) + ": local header at offset " +
                                    std::to_string(entry.local_header_offset) + " (" +
                                    std::to_string(entry.compressed_size) + " bytes) is not in this archive");
  }
  return static_cast<std::size_t>(own - entries_.data());
}

Result<Region> ZipReader::data(std::size_t index, std::uint64_t max_bytes) const {
  const ZipEntry& entry = entries_[index];
  const std::uint64_t want = std::min(max_bytes, entry.compressed_size);
  std::uint64_t data_offset = 0;
  {
    const std::lock_guard lock(lazy_->mutex);
    data_offset = lazy_->data_offsets[index];
  }
  if (data_offset != 0) return archive_->region(data_offset, want);

  const std::string where = entry_context(display_name_, entry.name);
  const std::uint64_t begin = entry.local_header_offset;
  const std::uint64_t limit = limits_[index];
  if (begin > limit) {
    return Status::corruption(where + ": local header offset " + std::to_string(begin) +
                              " is beyond the end of the archive (" + std::to_string(limit) + " bytes)");
  }
  // One request for the header and the data wanted, when the extra field is no longer than usual.
  const std::uint64_t guess = kLocalHeaderSize + entry.name.size() + kLocalExtraAllowance + want;
  auto bytes = archive_->region(begin, std::min(limit - begin, guess));
  if (!bytes.ok()) return bytes.status().with_context(where);
  auto header_size = local_header_size(bytes->bytes(), begin);
  if (!header_size.ok()) return header_size.status().with_context(where);
  if (*header_size > bytes->size() && *header_size <= limit - begin) {
    OWF_ASSIGN_OR_RETURN(*bytes, archive_->region(begin, std::min(limit - begin, *header_size + want)));
  }
  auto found = read_local_header(bytes->bytes(), begin, entry, data_descriptors_[index]);
  if (!found.ok()) return found.status().with_context(where);
  data_offset = *found;
  if (entry.compressed_size > limit - data_offset) {
    const std::string bound = limit == archive_->size()
                                  ? "the end of the archive (" + std::to_string(limit) + " bytes)"
                                  : "the next entry or the central directory at offset " + std::to_string(limit);
    return Status::corruption(where + ": data at offset " + std::to_string(data_offset) + " (" +
                              std::to_string(entry.compressed_size) + " bytes) runs past " + bound);
  }
  {
    const std::lock_guard lock(lazy_->mutex);
    lazy_->data_offsets[index] = data_offset;
  }
  const std::uint64_t in_bytes = data_offset - begin;
  if (want <= bytes->size() - in_bytes) return std::move(bytes).value().sub(in_bytes, want);
  return archive_->region(data_offset, want);
}

Result<std::uint64_t> ZipReader::data_offset(const ZipEntry& entry) const {
  OWF_ASSIGN_OR_RETURN(const std::size_t index, index_of(entry));
  OWF_RETURN_IF_ERROR(data(index, 0).status());
  const std::lock_guard lock(lazy_->mutex);
  return lazy_->data_offsets[index];
}

Result<Region> ZipReader::stored_data(const ZipEntry& entry, std::uint64_t max_bytes) const {
  const std::string where = entry_context(display_name_, entry.name);
  if (entry.method != kMethodStored) return Status::not_supported(where + " is deflated, not stored");
  OWF_ASSIGN_OR_RETURN(const std::size_t index, index_of(entry));
  return data(index, archive_->mapped() ? entry.compressed_size : max_bytes);
}

Status ZipReader::extract(const ZipEntry& entry, std::span<std::byte> dst) const {
  const std::string where = entry_context(display_name_, entry.name);
  if (dst.size() != entry.size) {
    return Status::invalid_argument(where + ": buffer of " + std::to_string(dst.size()) + " bytes for " +
                                    std::to_string(entry.size) + " bytes of data");
  }
  OWF_ASSIGN_OR_RETURN(const std::size_t index, index_of(entry));
  OWF_ASSIGN_OR_RETURN(const Region data, this->data(index, entry.compressed_size));
  OWF_ASSIGN_OR_RETURN(const std::uint64_t offset, data_offset(entry));
  if (entry.method == kMethodStored) {
    std::copy(data.bytes().begin(), data.bytes().end(), dst.begin());
    return compare_crc(entry, offset, crc32_update(0, dst), where);
  }
  const OutputWindow window = [dst](std::uint64_t produced) {
    return dst.subspan(produced, std::min<std::uint64_t>(dst.size() - produced, kZlibMaxPiece));
  };
  auto crc = inflate_with_crc(data.bytes(), entry.size, window);
  if (!crc.ok()) return crc.status().with_context(where);
  return compare_crc(entry, offset, *crc, where);
}

Status ZipReader::check_crc(const ZipEntry& entry) const {
  const std::string where = entry_context(display_name_, entry.name);
  OWF_ASSIGN_OR_RETURN(const std::size_t index, index_of(entry));
  OWF_ASSIGN_OR_RETURN(const std::uint64_t offset, data_offset(entry));
  if (entry.method == kMethodStored && !archive_->mapped()) {
    // In pieces, so that memory stays flat however large the entry.
    std::vector<std::byte> piece(std::min<std::uint64_t>(entry.size, kCopyPieceSize));
    std::uint32_t crc = 0;
    for (std::uint64_t done = 0; done < entry.size;) {
      const auto dst = std::span<std::byte>(piece).first(std::min<std::uint64_t>(piece.size(), entry.size - done));
      if (Status read = archive_->read_at(offset + done, dst); !read.ok()) return read.with_context(where);
      crc = crc32_update(crc, dst);
      done += dst.size();
    }
    return compare_crc(entry, offset, crc, where);
  }
  OWF_ASSIGN_OR_RETURN(const Region data, this->data(index, entry.compressed_size));
  if (entry.method == kMethodStored) return compare_crc(entry, offset, crc32_update(0, data.bytes()), where);
  std::vector<std::byte> scratch(std::min<std::uint64_t>(entry.size, kInflateScratchSize));
  const OutputWindow window = [&scratch](std::uint64_t) { return std::span<std::byte>(scratch); };
  auto crc = inflate_with_crc(data.bytes(), entry.size, window);
  if (!crc.ok()) return crc.status().with_context(where);
  return compare_crc(entry, offset, *crc, where);
}

namespace {

// Checks what every add_* needs: a valid, representable name and alignment.
Status check_new_entry(const AtomicFile& file, std::string_view name, std::uint32_t alignment) {
  const std::string where = entry_context(file.target().filename().string(), name);
  if (const char* problem = entry_name_problem(name)) return Status::invalid_argument(where + ": " + problem);
  if (name.size() > kMax16) return Status::invalid_argument(where + ": name is longer than 65535 bytes");
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > kMaxAlignment) {
    return Status::invalid_argument(where + ": alignment " + std::to_string(alignment) +
                                    " is not a power of two up to 32768");
  }
  return {};
}

}  // namespace

Status ZipWriter::add_stored(std::string_view name, std::uint64_t size,
                             const std::function<Status(std::uint64_t offset, std::span<std::byte> dst)>& source,
                             std::uint32_t alignment) {
  OWF_RETURN_IF_ERROR(check_new_entry(file_, name, alignment));
  EntryFields entry{name, kMethodStored, 0, size, size, file_.size()};
  OWF_RETURN_IF_ERROR(file_.write(encode_local_header(entry, size >= kMax32, alignment)));
  std::vector<std::byte> piece(std::min<std::uint64_t>(size, kCopyPieceSize));
  for (std::uint64_t done = 0; done < size;) {
    const auto dst = std::span<std::byte>(piece).first(std::min<std::uint64_t>(piece.size(), size - done));
    OWF_RETURN_IF_ERROR(source(done, dst));
    entry.crc32 = crc32_update(entry.crc32, dst);
    OWF_RETURN_IF_ERROR(file_.write(dst));
    done += dst.size();
  }
  OWF_RETURN_IF_ERROR(patch_le<std::uint32_t>(file_, entry.local_header_offset + kLocalCrcOffset, entry.crc32));
  written_.push_back({std::string(name), kMethodStored, entry.crc32, size, size, entry.local_header_offset});
  return {};
}

Status ZipWriter::add_stored(std::string_view name, std::span<const std::byte> data, std::uint32_t alignment) {
  const auto copy = [data](std::uint64_t offset, std::span<std::byte> dst) {
    std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(offset), dst.size(), dst.begin());
    return Status();
  };
  return add_stored(name, data.size(), copy, alignment);
}

Status ZipWriter::add_deflated(std::string_view name, std::span<const std::byte> data) {
  OWF_RETURN_IF_ERROR(check_new_entry(file_, name, 1));
  EntryFields entry{name, kMethodDeflated, crc32_update(0, data), 0, data.size(), file_.size()};
  // The compressed size is known only at the end: leave room for 64 bits if it might need them.
  const bool zip64 = data.size() >= kMax32 || compressBound(data.size()) >= kMax32;
  OWF_RETURN_IF_ERROR(file_.write(encode_local_header(entry, zip64, 1)));

  ZlibStream deflater(deflateEnd);
  z_stream* stream = deflater.get();
  OWF_RETURN_IF_ERROR(
      deflater.started(deflateInit2(stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY)));
  std::vector<std::byte> output(kInflateScratchSize);
  std::uint64_t consumed = 0;
  int result = Z_OK;
  while (result != Z_STREAM_END) {
    feed_input(stream, data, consumed);
    stream->next_out = reinterpret_cast<Bytef*>(output.data());
    stream->avail_out = static_cast<uInt>(output.size());
    result = deflate(stream, consumed == data.size() ? Z_FINISH : Z_NO_FLUSH);
    if (result != Z_OK && result != Z_STREAM_END && result != Z_BUF_ERROR) {
      return Status::io_error("zlib deflate failed with error " + std::to_string(result));
    }
    const std::uint64_t produced = output.size() - stream->avail_out;
    OWF_RETURN_IF_ERROR(file_.write(std::span<const std::byte>(output).first(produced)));
    entry.compressed_size += produced;
  }
  if (zip64) {
    const std::uint64_t compressed_field =
        entry.local_header_offset + kLocalHeaderSize + name.size() + kExtraHeaderSize + 8;
    OWF_RETURN_IF_ERROR(patch_le<std::uint64_t>(file_, compressed_field, entry.compressed_size));
  } else {
    OWF_RETURN_IF_ERROR(patch_le<std::uint32_t>(file_, entry.local_header_offset + kLocalCompressedSizeOffset,
                                                static_cast<std::uint32_t>(entry.compressed_size)));
  }
  written_.push_back(
      {std::string(name), kMethodDeflated, entry.crc32, entry.compressed_size, entry.size, entry.local_header_offset});
  return {};
}

Status ZipWriter::finish() {
  std::vector<std::string_view> names;
  names.reserve(written_.size());
  for (const Written& entry : written_) names.push_back(entry.name);
  if (const auto duplicate = find_duplicate(std::move(names))) {
    return Status::invalid_argument(entry_context(file_.target().filename().string(), *duplicate) + " was added twice");
  }
  const std::uint64_t directory_offset = file_.size();
  std::vector<std::byte> out;
  for (const Written& entry : written_) {
    append_central_header(
        out, {entry.name, entry.method, entry.crc32, entry.compressed_size, entry.size, entry.local_header_offset});
  }
  append_end_records(out, written_.size(), directory_offset, out.size());
  return file_.write(out);
}

}  // namespace owf
