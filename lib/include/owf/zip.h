// Zip archives, as far as .npz and PyTorch checkpoints need them: reading
// stored and deflated entries (with zip64) from memory, and writing stored or
// deflated entries with aligned data. Every offset and size in an archive is
// checked against the archive before use; local and central headers must agree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "owf/export.h"
#include "owf/io.h"
#include "owf/status.h"

namespace OWF_EXPORT owf {

struct ZipEntry {
  std::string name;
  std::uint16_t method = 0;  // 0 stored, 8 deflated
  std::uint32_t crc32 = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t size = 0;
  std::uint64_t data_offset = 0;  // of the (compressed) data within the archive
};

class ZipReader {
 public:
  // `archive` must outlive the reader; `display_name` prefixes every message.
  static Result<ZipReader> open(std::span<const std::byte> archive, std::string display_name);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  // The entry with this name (O(log n)), or nullptr.
  const ZipEntry* find(std::string_view name) const;

  // The bytes of a stored entry, without a copy (kNotSupported when deflated).
  Result<std::span<const std::byte>> stored_data(const ZipEntry& entry) const;
  // Decompresses (or copies) the whole entry; dst.size() must equal entry.size.
  // Checks the CRC-32.
  Status extract(const ZipEntry& entry, std::span<std::byte> dst) const;
  Status check_crc(const ZipEntry& entry) const;

 private:
  std::span<const std::byte> archive_;
  std::string display_name_;
  std::vector<ZipEntry> entries_;
  std::vector<std::size_t> by_name_;  // indices into entries_, sorted by name
};

// Writes a zip archive into an AtomicFile, which the caller commits after finish().
class ZipWriter {
 public:
  explicit ZipWriter(AtomicFile& file) : file_(file) {}

  // A stored entry of `size` bytes pulled from `source` in pieces, whose data
  // starts at a multiple of `alignment` in the archive (padding goes into the
  // local header's extra field).
  Status add_stored(std::string_view name, std::uint64_t size,
                    const std::function<Status(std::uint64_t offset, std::span<std::byte> dst)>& source,
                    std::uint32_t alignment = 1);
  Status add_stored(std::string_view name, std::span<const std::byte> data, std::uint32_t alignment = 1);
  Status add_deflated(std::string_view name, std::span<const std::byte> data);

  // Writes the central directory (zip64 when needed).
  Status finish();

 private:
  struct Written {
    std::string name;
    std::uint16_t method;
    std::uint32_t crc32;
    std::uint64_t compressed_size, size, local_header_offset;
  };
  AtomicFile& file_;
  std::vector<Written> written_;
};

}  // namespace owf
