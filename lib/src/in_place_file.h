// An existing file opened for writing in place (metadata edits). Internal to
// the library; defined in io.cpp beside AtomicFile, whose write loop it shares.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>

#include "owf/status.h"

namespace owf::detail {

class InPlaceFile {
 public:
  static Result<InPlaceFile> open(const std::filesystem::path& path);

  InPlaceFile(InPlaceFile&& other) noexcept;
  InPlaceFile& operator=(InPlaceFile&&) = delete;
  InPlaceFile(const InPlaceFile&) = delete;
  InPlaceFile& operator=(const InPlaceFile&) = delete;
  ~InPlaceFile();

  Status write_at(std::uint64_t offset, std::span<const std::byte> bytes);
  // fsync: everything written so far is durable before anything written next.
  Status sync();

 private:
  InPlaceFile(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace owf::detail
