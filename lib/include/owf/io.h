// Files: read-only memory maps, and outputs that appear complete or not at all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include "owf/export.h"
#include "owf/status.h"

namespace OWF_EXPORT owf {

// A read-only mapping of a whole file. Movable, not copyable; the bytes stay
// valid until the MappedFile is destroyed. Empty files map to an empty span.
// Streaming copies should use read_at(): it reads through the file descriptor,
// so pages it touches do not add to the process's resident set as mapped pages
// do, and converting a large model keeps memory flat. Thread-safe.
class MappedFile {
 public:
  static Result<MappedFile> open(const std::filesystem::path& path);

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  std::uint64_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

  // Copies bytes [offset, offset + dst.size()) of the file into dst (pread).
  Status read_at(std::uint64_t offset, std::span<std::byte> dst) const;

 private:
  MappedFile(std::filesystem::path path, int fd, const std::byte* data, std::size_t size);

  std::filesystem::path path_;
  int fd_ = -1;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// An output file written to an unnamed file (O_TMPFILE) in the directory of
// `target` and linked or renamed onto it by commit() after an fsync, so the
// target is either complete and valid or untouched, and a process killed while
// writing leaves nothing behind. Where the file system has no O_TMPFILE, the
// file is a hidden `.NAME.tmp.XXXXXX` beside the target, removed when an
// uncommitted AtomicFile is destroyed (but left by a killed process). Errors
// name the target, never the temporary file.
// Several AtomicFiles (e.g. shards) can be committed one after another.
class AtomicFile {
 public:
  // Fails with kInvalidArgument when target exists and !overwrite.
  static Result<AtomicFile> create(const std::filesystem::path& target, bool overwrite);

  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&& other) noexcept;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  // Appends at the current end.
  Status write(std::span<const std::byte> bytes);
  // Writes at an absolute offset (e.g. a header patched after the data). Large
  // writes whose buffer address and file offset are congruent modulo
  // kDirectIOAlignment bypass the page cache for their aligned middle (O_DIRECT,
  // where the file system allows it): no copy, and commit() has little to flush.
  Status write_at(std::uint64_t offset, std::span<const std::byte> bytes);
  static constexpr std::size_t kDirectIOAlignment = 4096;
  std::uint64_t size() const { return size_; }
  // Reads back bytes already written (e.g. to checksum a region patched after it was written).
  Status read_at(std::uint64_t offset, std::span<std::byte> dst) const;

  // fsync, then rename onto the target (refusing to replace it unless the
  // AtomicFile was created with overwrite). After success the object is inert.
  Status commit();

  const std::filesystem::path& target() const { return target_; }

 private:
  AtomicFile(std::filesystem::path target, std::filesystem::path temp, int fd, bool overwrite);
  void abandon();
  Status write_buffered(std::uint64_t offset, std::span<const std::byte> bytes);
  Status link_into_place();
  Status rename_into_place();

  std::filesystem::path target_;
  std::filesystem::path temp_;  // empty while the file is unnamed (O_TMPFILE)
  int fd_ = -1;
  int direct_fd_ = -1;  // the temporary file opened again with O_DIRECT, or -1 where unsupported
  bool overwrite_ = false;
  std::uint64_t size_ = 0;
};

}  // namespace owf
