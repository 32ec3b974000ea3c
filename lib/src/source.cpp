// Byte sources: local files over MappedFile, URLs over http_source.cpp.
#include "owf/source.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "http_source.h"
#include "owf/internal/strings.h"
#include "owf/io.h"
#include "range_check.h"

namespace owf {
namespace {

// A source whose bytes are all in memory: a mapped local file, or a buffer.
class MemorySource : public ByteSource {
 public:
  MemorySource(std::string name, std::span<const std::byte> bytes) : name_(std::move(name)), bytes_(bytes) {}

  const std::string& name() const override { return name_; }
  std::uint64_t size() const override { return bytes_.size(); }
  Status read_at(std::uint64_t offset, std::span<std::byte> dst) const override {
    OWF_RETURN_IF_ERROR(detail::check_within(name_, "region", offset, dst.size(), bytes_.size()));
    std::copy_n(bytes_.begin() + static_cast<std::ptrdiff_t>(offset), dst.size(), dst.begin());
    return {};
  }
  Result<Region> region(std::uint64_t offset, std::uint64_t size) const override {
    OWF_RETURN_IF_ERROR(detail::check_within(name_, "region", offset, size, bytes_.size()));
    return Region::borrowed(bytes_.subspan(offset, size));
  }
  std::optional<std::span<const std::byte>> mapped() const override { return bytes_; }

 protected:
  void set_bytes(std::span<const std::byte> bytes) { bytes_ = bytes; }

 private:
  std::string name_;
  std::span<const std::byte> bytes_;
};

class LocalSource final : public MemorySource {
 public:
  explicit LocalSource(MappedFile file) : MemorySource(file.path().string(), {}), file_(std::move(file)) {
    set_bytes(file_.bytes());
  }
  Status read_at(std::uint64_t offset, std::span<std::byte> dst) const override { return file_.read_at(offset, dst); }

 private:
  MappedFile file_;
};

class BufferSource final : public MemorySource {
 public:
  BufferSource(std::string name, Region bytes, std::shared_ptr<const ByteSource> owner)
      : MemorySource(std::move(name), bytes.bytes()), bytes_(std::move(bytes)), owner_(std::move(owner)) {}

 private:
  Region bytes_;                             // the span survives the move
  std::shared_ptr<const ByteSource> owner_;  // what `bytes_` may borrow from
};

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return detail::equals_ignoring_case(text.substr(0, std::min(text.size(), prefix.size())), prefix);
}

}  // namespace

std::shared_ptr<const ByteSource> memory_source(std::string name, Region bytes) {
  return std::make_shared<BufferSource>(std::move(name), std::move(bytes), nullptr);
}

Result<std::shared_ptr<const ByteSource>> whole_in_memory(std::shared_ptr<const ByteSource> source) {
  if (source->mapped()) return source;
  OWF_ASSIGN_OR_RETURN(Region whole, source->region(0, source->size()));
  std::string name = source->name();
  return std::shared_ptr<const ByteSource>(
      std::make_shared<BufferSource>(std::move(name), std::move(whole), std::move(source)));
}

bool is_url(std::string_view location) {
  return starts_with_ignoring_case(location, "http://") || starts_with_ignoring_case(location, "https://");
}

std::string display_url(std::string_view url) {
  url = url.substr(0, std::min(url.find('?'), url.find('#')));
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const auto authority_begin = scheme_end + 3;
  const auto authority_end = std::min(url.find('/', authority_begin), url.size());
  const auto at = url.substr(0, authority_end).rfind('@');
  if (at == std::string_view::npos || at < authority_begin) return std::string(url);
  return std::string(url.substr(0, authority_begin)) + std::string(url.substr(at + 1));
}

std::string display_name(const std::filesystem::path& location) {
  return is_url(location.native()) ? display_url(location.native()) : location.string();
}

std::string display_filename(const std::filesystem::path& location) {
  return std::filesystem::path(display_name(location)).filename().string();
}

Result<std::shared_ptr<const ByteSource>> open_source(const std::filesystem::path& location, const HttpOptions& http) {
  if (is_url(location.native())) return detail::open_http_source(location.native(), http);
  OWF_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(location));
  return std::shared_ptr<const ByteSource>(std::make_shared<LocalSource>(std::move(file)));
}

}  // namespace owf
