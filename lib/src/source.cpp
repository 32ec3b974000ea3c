// Byte sources: local files over MappedFile, URLs over http_source.cpp.
#include "owf/source.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "http_source.h"
#include "owf/checked.h"
#include "owf/io.h"
#include "text.h"

namespace owf {
namespace {

class LocalSource final : public ByteSource {
 public:
  explicit LocalSource(MappedFile file) : file_(std::move(file)), name_(file_.path().string()) {}

  const std::string& name() const override { return name_; }
  std::uint64_t size() const override { return file_.size(); }
  Status read_at(std::uint64_t offset, std::span<std::byte> dst) const override { return file_.read_at(offset, dst); }
  Result<Region> region(std::uint64_t offset, std::uint64_t size) const override {
    const auto end = checked_add(offset, size);
    if (!end || *end > file_.size()) {
      return Status::invalid_argument(name_ + ": region of " + std::to_string(size) + " bytes at offset " +
                                      std::to_string(offset) + " runs past " + std::to_string(file_.size()) +
                                      " bytes");
    }
    return Region::borrowed(file_.bytes().subspan(offset, size));
  }
  std::optional<std::span<const std::byte>> mapped() const override { return file_.bytes(); }

 private:
  MappedFile file_;
  std::string name_;
};

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return detail::equals_ignoring_case(text.substr(0, std::min(text.size(), prefix.size())), prefix);
}

}  // namespace

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

Result<std::shared_ptr<const ByteSource>> open_source(const std::filesystem::path& location, const HttpOptions& http) {
  if (is_url(location.native())) return detail::open_http_source(location.native(), http);
  OWF_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(location));
  return std::shared_ptr<const ByteSource>(std::make_shared<LocalSource>(std::move(file)));
}

}  // namespace owf
