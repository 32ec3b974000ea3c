// Zip archives, as far as .npz and PyTorch checkpoints need them: reading
// stored and deflated entries (with zip64) from any ByteSource, central
// directory first, and writing stored or deflated entries with aligned data.
// Every offset and size in an archive is checked against the archive before
// use; local and central headers must agree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "owf/io.h"
#include "owf/source.h"
#include "owf/status.h"

namespace owf {

// An entry as the central directory records it.
struct ZipEntry {
  std::string name;
  std::uint16_t method = 0;  // 0 stored, 8 deflated
  std::uint32_t crc32 = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t size = 0;
  std::uint64_t local_header_offset = 0;
};

// Reads an archive's entries. Of a memory-mapped source every local header is
// read and checked at open and data comes without a copy. Of any other (a URL)
// open reads the tail and the central directory only (one request, two when the
// directory is larger than the tail), and an entry's local header is read with
// its data, when that is first asked for. Thread-safe after open.
class ZipReader {
 public:
  // `display_name` prefixes every message.
  static Result<ZipReader> open(std::shared_ptr<const ByteSource> archive, std::string display_name);
  // An archive in memory, which must outlive the reader.
  static Result<ZipReader> open(std::span<const std::byte> archive, std::string display_name);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  // The entry with this name (O(log n)), or nullptr.
  const ZipEntry* find(std::string_view name) const;

  // Where the entry's (compressed) data starts in the archive; reads its local
  // header (one request of a URL) the first time. kInvalidArgument for an entry
  // not from this archive.
  Result<std::uint64_t> data_offset(const ZipEntry& entry) const;
  // The first min(max_bytes, size) bytes of a stored entry (kNotSupported when
  // deflated): a view of a mapped archive (all of it whatever max_bytes), else
  // fetched in one request with the local header when that is not read yet.
  Result<Region> stored_data(const ZipEntry& entry,
                             std::uint64_t max_bytes = std::numeric_limits<std::uint64_t>::max()) const;
  // Decompresses (or copies) the whole entry; dst.size() must equal entry.size.
  // Checks the CRC-32.
  Status extract(const ZipEntry& entry, std::span<std::byte> dst) const;
  // Reads the whole entry (in pieces when stored) and checks its CRC-32.
  Status check_crc(const ZipEntry& entry) const;

 private:
  // What reading local headers learns, shared by the threads that read entries.
  struct Lazy {
    std::mutex mutex;
    std::vector<std::uint64_t> data_offsets;  // per entry; 0 until its local header is read
  };
  Result<std::size_t> index_of(const ZipEntry& entry) const;
  // The entry's data (min(max_bytes, compressed size) bytes of it), reading the local header
  // first when needed.
  Result<Region> data(std::size_t index, std::uint64_t max_bytes) const;

  std::shared_ptr<const ByteSource> archive_;
  std::string display_name_;
  std::vector<ZipEntry> entries_;
  std::vector<std::size_t> by_name_;    // indices into entries_, sorted by name
  std::vector<std::uint64_t> limits_;   // per entry: the offset its data must end by
  std::vector<bool> data_descriptors_;  // per entry: sizes in a data descriptor, not the local header
  std::unique_ptr<Lazy> lazy_ = std::make_unique<Lazy>();
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
