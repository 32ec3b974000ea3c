#include "owf/io.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "in_place_file.h"
#include "range_check.h"

namespace owf {
namespace {

// Buffered writes at least this large start their writeback at once (see
// AtomicFile::write_buffered); writes at least this large may go direct.
constexpr std::size_t kWritebackHint = 1u << 20;
constexpr std::size_t kDirectMinimum = 1u << 20;

// "path: what: strerror(errno)", read before anything can change errno.
Status os_error(const std::filesystem::path& path, std::string_view what) {
  const int error = errno;
  return Status::io_error(path.string() + ": " + std::string(what) + ": " + std::strerror(error));
}

void close_quietly(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// fsync of the directory that holds `path`, so a rename into it is durable.
Status sync_parent_directory(const std::filesystem::path& path) {
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return os_error(dir, "cannot open directory");
  const bool synced = ::fsync(fd) == 0;
  Status status = synced ? Status() : os_error(dir, "fsync of directory failed");
  close_quietly(fd);
  return status;
}

// Reads dst.size() bytes at `offset`, retrying short reads; hitting the end of
// the file is an error since callers check sizes first.
Status pread_all(int fd, const std::filesystem::path& path, std::uint64_t offset, std::span<std::byte> dst) {
  std::size_t done = 0;
  while (done < dst.size()) {
    const ssize_t n = ::pread(fd, dst.data() + done, dst.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_error(path, "read at offset " + std::to_string(offset + done) + " failed");
    if (n == 0) {
      return Status::io_error(path.string() + ": file shrank while reading at offset " + std::to_string(offset + done));
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Status pwrite_all(int fd, const std::filesystem::path& path, std::uint64_t offset, std::span<const std::byte> bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_error(path, "write at offset " + std::to_string(offset + done) + " failed");
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

// ---- MappedFile

MappedFile::MappedFile(std::filesystem::path path, int fd, const std::byte* data, std::size_t size)
    : path_(std::move(path)), fd_(fd), data_(data), size_(size) {}

Result<MappedFile> MappedFile::open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::not_found(path.string() + ": no such file");
    return os_error(path, "cannot open");
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    Status status = os_error(path, "cannot stat");
    close_quietly(fd);
    return status;
  }
  if (!S_ISREG(info.st_mode)) {
    close_quietly(fd);
    return Status::invalid_argument(path.string() + ": not a regular file");
  }
  const auto size = static_cast<std::size_t>(info.st_size);
  if (size == 0) return MappedFile(path, fd, nullptr, 0);  // mmap refuses length 0
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) {
    Status status = os_error(path, "cannot map " + std::to_string(size) + " bytes");
    close_quietly(fd);
    return status;
  }
  return MappedFile(path, fd, static_cast<const std::byte*>(map), size);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    MappedFile released(std::move(*this));  // unmaps and closes what this held, at scope end
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
  close_quietly(fd_);
}

Status MappedFile::read_at(std::uint64_t offset, std::span<std::byte> dst) const {
  OWF_RETURN_IF_ERROR(detail::check_within(path_.string(), "read", offset, dst.size(), size_));
  return pread_all(fd_, path_, offset, dst);
}

// ---- AtomicFile

AtomicFile::AtomicFile(std::filesystem::path target, std::filesystem::path temp, int fd, bool overwrite)
    : target_(std::move(target)), temp_(std::move(temp)), fd_(fd), overwrite_(overwrite) {}

namespace {

// "/proc/self/fd/N": how an unnamed file is reopened or linked without privileges.
std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// Gives the unnamed (O_TMPFILE) file `fd` the name `path`; fails with EEXIST if it exists.
bool link_unnamed(int fd, const std::filesystem::path& path) {
  if (::linkat(fd, "", AT_FDCWD, path.c_str(), AT_EMPTY_PATH) == 0) return true;
  if (errno != EPERM && errno != ENOENT) return false;  // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH
  return ::linkat(AT_FDCWD, fd_path(fd).c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0;
}

// A name for a temporary file beside `target` that no other file has right now.
std::filesystem::path temporary_name(const std::filesystem::path& target, unsigned attempt) {
  static std::atomic<unsigned> counter = 0;
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".tmp.%d.%u.%u", static_cast<int>(::getpid()), counter++, attempt);
  return target.parent_path() / ("." + target.filename().string() + suffix);
}

}  // namespace

Result<AtomicFile> AtomicFile::create(const std::filesystem::path& target, bool overwrite) {
  struct stat existing {};
  const bool exists = ::stat(target.c_str(), &existing) == 0;
  if (exists && !overwrite) return Status::invalid_argument(target.string() + ": file exists");
  if (exists && S_ISDIR(existing.st_mode)) return Status::invalid_argument(target.string() + ": is a directory");

  // The output is written to an unnamed file in the target's directory (so the final link or
  // rename stays within one file system); a killed process leaves nothing behind. Where the file
  // system has no O_TMPFILE, a hidden named file takes its place and is removed on failure.
  const std::filesystem::path dir = target.parent_path().empty() ? "." : target.parent_path();
  std::filesystem::path temp;
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
    std::string pattern = (dir / ("." + target.filename().string() + ".tmp.XXXXXX")).string();
    fd = ::mkostemp(pattern.data(), O_CLOEXEC);
    if (fd >= 0) temp = pattern;
  }
  if (fd < 0) return os_error(target, "cannot create the output file");
  AtomicFile file(target, temp, fd, overwrite);
  // Opened again with O_DIRECT: -1 on e.g. tmpfs, and then every write is buffered.
  file.direct_fd_ = ::open(temp.empty() ? fd_path(fd).c_str() : temp.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
  // An output gets the usual permissions, or keeps the ones it replaces.
  const mode_t mode = exists ? (existing.st_mode & 07777) : 0644;
  if (::fchmod(fd, mode) != 0) return os_error(target, "cannot set permissions");
  return file;
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : target_(std::move(other.target_)),
      temp_(std::move(other.temp_)),
      fd_(std::exchange(other.fd_, -1)),
      direct_fd_(std::exchange(other.direct_fd_, -1)),
      overwrite_(other.overwrite_),
      size_(other.size_) {
  other.temp_.clear();
}

AtomicFile& AtomicFile::operator=(AtomicFile&& other) noexcept {
  if (this != &other) {
    abandon();
    target_ = std::move(other.target_);
    temp_ = std::exchange(other.temp_, {});
    fd_ = std::exchange(other.fd_, -1);
    direct_fd_ = std::exchange(other.direct_fd_, -1);
    overwrite_ = other.overwrite_;
    size_ = other.size_;
  }
  return *this;
}

AtomicFile::~AtomicFile() { abandon(); }

void AtomicFile::abandon() {
  close_quietly(direct_fd_);
  close_quietly(fd_);
  if (!temp_.empty()) ::unlink(temp_.c_str());
  temp_.clear();
}

Status AtomicFile::write(std::span<const std::byte> bytes) { return write_at(size_, bytes); }

Status AtomicFile::write_at(std::uint64_t offset, std::span<const std::byte> bytes) {
  if (fd_ < 0) return Status::invalid_argument(target_.string() + ": write after commit");
  OWF_RETURN_IF_ERROR(detail::check_within(target_.string(), "write", offset, bytes.size(), INT64_MAX));
  // The aligned middle of a large write goes straight to the device; the
  // partial blocks at either end go through the page cache.
  const std::size_t head = (kDirectIOAlignment - offset % kDirectIOAlignment) % kDirectIOAlignment;
  const bool congruent =
      reinterpret_cast<std::uintptr_t>(bytes.data()) % kDirectIOAlignment == offset % kDirectIOAlignment;
  if (direct_fd_ >= 0 && congruent && bytes.size() >= kDirectMinimum && bytes.size() > head) {
    const std::size_t middle = (bytes.size() - head) / kDirectIOAlignment * kDirectIOAlignment;
    OWF_RETURN_IF_ERROR(write_buffered(offset, bytes.first(head)));
    const Status direct = pwrite_all(direct_fd_, target_, offset + head, bytes.subspan(head, middle));
    if (!direct.ok()) {
      // Some file systems accept O_DIRECT at open() and refuse it at write(): stay buffered from now on.
      close_quietly(direct_fd_);
      OWF_RETURN_IF_ERROR(write_buffered(offset + head, bytes.subspan(head, middle)));
    }
    OWF_RETURN_IF_ERROR(write_buffered(offset + head + middle, bytes.subspan(head + middle)));
  } else {
    OWF_RETURN_IF_ERROR(write_buffered(offset, bytes));
  }
  size_ = std::max(size_, offset + bytes.size());
  return {};
}

Status AtomicFile::write_buffered(std::uint64_t offset, std::span<const std::byte> bytes) {
  OWF_RETURN_IF_ERROR(pwrite_all(fd_, target_, offset, bytes));
  if (bytes.size() >= kWritebackHint) {
    // Start writing these pages to disk now, without waiting: commit()'s fsync
    // then finds little left to flush. Only a hint, so its result is ignored.
    ::sync_file_range(fd_, static_cast<off_t>(offset), static_cast<off_t>(bytes.size()), SYNC_FILE_RANGE_WRITE);
  }
  return {};
}

Status AtomicFile::read_at(std::uint64_t offset, std::span<std::byte> dst) const {
  if (fd_ < 0) return Status::invalid_argument(target_.string() + ": read after commit");
  OWF_RETURN_IF_ERROR(detail::check_within(target_.string(), "read", offset, dst.size(), size_));
  return pread_all(fd_, target_, offset, dst);
}

Status AtomicFile::commit() {
  if (fd_ < 0) return Status::invalid_argument(target_.string() + ": already committed");
  close_quietly(direct_fd_);  // direct writes are complete when write() returns; fsync(fd_) covers metadata
  if (::fsync(fd_) != 0) return os_error(target_, "fsync failed");
  if (temp_.empty()) {
    OWF_RETURN_IF_ERROR(link_into_place());
  } else {
    OWF_RETURN_IF_ERROR(rename_into_place());
  }
  if (::close(std::exchange(fd_, -1)) != 0) return os_error(target_, "close failed");
  return sync_parent_directory(target_);
}

Status AtomicFile::link_into_place() {
  if (!overwrite_) {
    if (link_unnamed(fd_, target_)) return {};
    if (errno == EEXIST) return Status::invalid_argument(target_.string() + ": file exists");
    return os_error(target_, "cannot link into place");
  }
  // rename() is the only atomic replacement: name the file beside the target for the moment of the rename.
  for (unsigned attempt = 0;; ++attempt) {
    temp_ = temporary_name(target_, attempt);
    if (link_unnamed(fd_, temp_)) break;
    if (errno != EEXIST || attempt == 100) {
      temp_.clear();
      return os_error(target_, "cannot link into place");
    }
  }
  return rename_into_place();
}

Status AtomicFile::rename_into_place() {
  if (overwrite_) {
    if (::rename(temp_.c_str(), target_.c_str()) != 0) return os_error(target_, "cannot rename into place");
  } else if (::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, target_.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) return Status::invalid_argument(target_.string() + ": file exists");
    if (errno != EINVAL && errno != ENOSYS) return os_error(target_, "cannot rename into place");
    // The file system lacks RENAME_NOREPLACE: link() refuses an existing target just the same.
    if (::link(temp_.c_str(), target_.c_str()) != 0) {
      if (errno == EEXIST) return Status::invalid_argument(target_.string() + ": file exists");
      return os_error(target_, "cannot link into place");
    }
    ::unlink(temp_.c_str());
  }
  temp_.clear();
  return {};
}

// ---- InPlaceFile

namespace detail {

Result<InPlaceFile> InPlaceFile::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return os_error(path, "cannot open for writing");
  return InPlaceFile(path, fd);
}

InPlaceFile::InPlaceFile(InPlaceFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}

InPlaceFile::~InPlaceFile() { close_quietly(fd_); }

Status InPlaceFile::write_at(std::uint64_t offset, std::span<const std::byte> bytes) {
  return pwrite_all(fd_, path_, offset, bytes);
}

Status InPlaceFile::sync() { return ::fsync(fd_) == 0 ? Status() : os_error(path_, "fsync failed"); }

}  // namespace detail
}  // namespace owf
