// Random-access byte sources: what every reader gets its bytes from. A local
// file is memory-mapped (regions are spans into the map, no copy); an http://
// or https:// URL is read with range requests, each region fetched on demand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "owf/export.h"
#include "owf/status.h"

namespace OWF_EXPORT owf {

// Bytes of one region of a source: borrowed from the source (a local file's
// map, or a remote file's cached first bytes), valid while the source lives, or
// owned when they were fetched for this region. Movable; the span survives a move.
class Region {
 public:
  Region() = default;
  static Region borrowed(std::span<const std::byte> bytes) { return Region(bytes, {}); }
  static Region owned(std::vector<std::byte> bytes) { return Region({}, std::move(bytes)); }
  Region(Region&&) = default;
  Region& operator=(Region&&) = default;
  Region(const Region&) = delete;  // a copy's span would point into the original
  Region& operator=(const Region&) = delete;

  std::span<const std::byte> bytes() const { return view_; }
  std::size_t size() const { return view_.size(); }

  // Bytes [offset, offset + size) of this region (which must hold them), keeping what it owns.
  Region sub(std::uint64_t offset, std::uint64_t size) && {
    Region part(std::move(*this));
    part.view_ = part.view_.subspan(offset, size);
    return part;
  }

 private:
  Region(std::span<const std::byte> view, std::vector<std::byte> owned)
      : owned_(std::move(owned)), view_(owned_.empty() ? view : std::span<const std::byte>(owned_)) {}

  std::vector<std::byte> owned_;
  std::span<const std::byte> view_;
};

// How URLs are fetched.
struct HttpOptions {
  // Request headers ("Name: value"), e.g. credentials, sent with every request in addition to those
  // of the OWF_HTTP_HEADERS environment variable (one per line). Never shown in messages.
  std::vector<std::string> headers;
  bool insecure = false;       // skip TLS certificate and host name verification
  unsigned max_redirects = 8;  // the Hub redirects once, to its CDN
  unsigned retries = 4;        // per request, on connection errors and 5xx answers, with backoff
  // Range requests in flight at once for one read: a read of at least twice kMinParallelRangeBytes is
  // split into up to this many parts of at least kMinParallelRangeBytes each, fetched in parallel (one
  // connection rarely reaches a CDN link's speed). 1 keeps one request per read.
  unsigned connections = 1;
};

inline constexpr std::uint64_t kMinParallelRangeBytes = 4u << 20;

// A file's bytes, read at any offset. Implementations are immutable after
// opening, and every method may be called from several threads at once.
// Errors name the file (a URL without credentials or query) and the offset.
class ByteSource {
 public:
  virtual ~ByteSource() = default;

  // The path, or the URL as display_url() shows it.
  virtual const std::string& name() const = 0;
  virtual std::uint64_t size() const = 0;

  // Copies bytes [offset, offset + dst.size()) into dst; fails for a range beyond size().
  virtual Status read_at(std::uint64_t offset, std::span<std::byte> dst) const = 0;

  // Bytes [offset, offset + size): no copy for a local file, one request (at most) for a URL.
  virtual Result<Region> region(std::uint64_t offset, std::uint64_t size) const = 0;

  // The whole file as one span when it is memory-mapped (local files), for zero-copy views.
  virtual std::optional<std::span<const std::byte>> mapped() const { return std::nullopt; }
};

// A source over bytes in memory (borrowed, or owned by `bytes`), named `name`; mapped() returns
// them. For readers that take a ByteSource given a buffer.
std::shared_ptr<const ByteSource> memory_source(std::string name, Region bytes);

// `source` itself when it is mapped, else a source over all its bytes, fetched in one request, for
// readers that need the whole file in memory.
Result<std::shared_ptr<const ByteSource>> whole_in_memory(std::shared_ptr<const ByteSource> source);

// Whether `location` is an http:// or https:// URL (scheme case-insensitive).
bool is_url(std::string_view location);

// `url` without user name, password, query string and fragment: what messages
// and provenance may record.
std::string display_url(std::string_view url);

// display_url() of a URL; a local path as it is.
std::string display_name(const std::filesystem::path& location);

// The last part of display_name(): what readers' messages name a file by.
std::string display_filename(const std::filesystem::path& location);

// What the first request to a URL asks for: enough for most safetensors and owf
// headers, so that reading them costs no other request.
inline constexpr std::uint64_t kUrlPrefixBytes = 1u << 20;

// Opens a local file (mapped) or a URL. A URL is checked with one range request
// for its first kUrlPrefixBytes (kept for later reads): it must exist and answer ranges
// (206 with a matching Content-Range); its ETag or Last-Modified is pinned, and
// a later answer with another is an error (the file changed while being read).
Result<std::shared_ptr<const ByteSource>> open_source(const std::filesystem::path& location,
                                                      const HttpOptions& http = {});

// What URL reads have cost in this process so far (every source together).
struct HttpStatistics {
  std::uint64_t requests = 0;  // requests sent, retries and redirects included
  std::uint64_t bytes = 0;     // body bytes received
  std::uint64_t retries = 0;   // requests repeated after a connection error or a 5xx answer
};
HttpStatistics http_statistics();

}  // namespace owf
