// URLs read with HTTP range requests over libcurl, the only file that includes
// it. Every answer is checked (206, Content-Range, the pinned ETag) before its
// body is taken, and the body goes straight into the caller's buffer.
#include "http_source.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "http_response.h"
#include "owf/threads.h"
#include "owf/version.h"
#include "range_check.h"

namespace owf {
namespace {

std::atomic<std::uint64_t> g_requests{0};
std::atomic<std::uint64_t> g_bytes{0};
std::atomic<std::uint64_t> g_retries{0};

constexpr long kConnectTimeoutSeconds = 30;
constexpr long kStallSeconds = 60;  // a connection that delivers nothing for this long is dropped (and resumed)
constexpr auto kFirstBackoff = std::chrono::milliseconds(100);

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Transport failures after which the same request may succeed; the rest (TLS
// verification, too many redirects, a malformed URL) would fail again.
bool is_transient(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return true;
    default: return false;
  }
}

using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

// "Name: value" lines of OWF_HTTP_HEADERS and of options.headers. Malformed
// ones are refused by their position only: they may hold credentials.
Result<HeaderList> request_headers(const HttpOptions& options) {
  std::vector<std::string> lines;
  if (const char* env = std::getenv("OWF_HTTP_HEADERS")) {
    std::string_view text(env);
    for (std::size_t n = 1; !text.empty(); ++n) {
      const auto end = std::min(text.find('\n'), text.size());
      std::string line(text.substr(0, end));
      text.remove_prefix(std::min(end + 1, text.size()));
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      if (line.find(':') == std::string::npos || line.front() == ':') {
        return Status::invalid_argument("OWF_HTTP_HEADERS: line " + std::to_string(n) + " is not 'Name: value'");
      }
      lines.push_back(std::move(line));
    }
  }
  for (std::size_t i = 0; i < options.headers.size(); ++i) {
    const std::string& line = options.headers[i];
    if (line.find(':') == std::string::npos || line.front() == ':' ||
        line.find_first_of("\r\n") != std::string::npos) {
      return Status::invalid_argument("HTTP header " + std::to_string(i + 1) + " is not 'Name: value'");
    }
    lines.push_back(line);
  }
  HeaderList list(nullptr, curl_slist_free_all);
  for (const std::string& line : lines) {
    curl_slist* grown = curl_slist_append(list.get(), line.c_str());
    if (grown == nullptr) return Status::io_error("out of memory for HTTP headers");
    list.release();
    list.reset(grown);
  }
  return list;
}

// One request's state, shared with curl's callbacks.
struct Transfer {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::optional<std::uint64_t> expected_total;
  std::string_view pinned;
  std::string_view where;

  detail::ResponseHead head;
  std::span<std::byte> dst;  // where the body goes
  std::size_t received = 0;
  bool checked = false;             // the head was checked (on the first body byte, or after the transfer)
  Result<std::uint64_t> total = 0;  // the check's outcome
  bool overlong = false;

  // Checks the head once: a refused head stops the transfer before its body is taken.
  bool accept_head() {
    if (!checked) {
      checked = true;
      total = detail::check_range_answer(head, first, last, expected_total, pinned, where);
    }
    return total.ok();
  }
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<Transfer*>(user)->head.add_line(std::string_view(data, size * count));
  return size * count;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (!transfer.accept_head()) return 0;  // aborts with CURLE_WRITE_ERROR
  if (n > transfer.dst.size() - transfer.received) {
    transfer.overlong = true;
    return 0;
  }
  std::memcpy(transfer.dst.data() + transfer.received, data, n);
  transfer.received += n;
  g_bytes.fetch_add(n, std::memory_order_relaxed);
  return n;
}

// What the first answer says about the file, which every later answer must repeat.
struct FileIdentity {
  std::uint64_t size = 0;
  std::string validator;  // ETag, else Last-Modified; empty when the server sends neither
};

class HttpSource final : public ByteSource {
 public:
  HttpSource(std::string url, HeaderList headers, const HttpOptions& options)
      : url_(std::move(url)), name_(display_url(url_)), headers_(std::move(headers)), options_(options) {}

  ~HttpSource() override {
    for (CURL* handle : idle_) curl_easy_cleanup(handle);
  }

  // The first request: the file's size, its validator, and its first bytes.
  Status start() {
    std::optional<FileIdentity> learned;
    prefix_.resize(kUrlPrefixBytes);
    OWF_ASSIGN_OR_RETURN(const std::uint64_t received, fetch(0, prefix_, learned));
    prefix_.resize(received);
    prefix_.shrink_to_fit();
    identity_ = std::move(*learned);
    return {};
  }

  const std::string& name() const override { return name_; }
  std::uint64_t size() const override { return identity_.size; }

  Status read_at(std::uint64_t offset, std::span<std::byte> dst) const override {
    OWF_RETURN_IF_ERROR(detail::check_within(name_, "read", offset, dst.size(), identity_.size));
    if (offset < prefix_.size()) {  // the part the first request already fetched
      const std::size_t cached = std::min<std::uint64_t>(dst.size(), prefix_.size() - offset);
      std::memcpy(dst.data(), prefix_.data() + offset, cached);
      offset += cached;
      dst = dst.subspan(cached);
    }
    if (dst.empty()) return {};
    const std::uint64_t most = std::max(1u, options_.connections);
    const std::size_t parts = std::max<std::uint64_t>(1, std::min(dst.size() / kMinParallelRangeBytes, most));
    const std::size_t part_size = dst.size() / parts;  // the last part takes the remainder
    return parallel_for(parts, static_cast<unsigned>(parts), [&](std::size_t i, unsigned) {
      const std::size_t start = i * part_size;
      std::optional<FileIdentity> known = identity_;
      return fetch(offset + start, dst.subspan(start, i + 1 < parts ? part_size : dst.size() - start), known).status();
    });
  }

  Result<Region> region(std::uint64_t offset, std::uint64_t size) const override {
    OWF_RETURN_IF_ERROR(detail::check_within(name_, "read", offset, size, identity_.size));
    if (offset + size <= prefix_.size()) return Region::borrowed(std::span(prefix_).subspan(offset, size));
    std::vector<std::byte> bytes(size);
    OWF_RETURN_IF_ERROR(read_at(offset, bytes));
    return Region::owned(std::move(bytes));
  }

 private:
  // Fills dst with the bytes at `offset`, resuming after a dropped connection and
  // retrying transient failures with backoff; returns the bytes received. With
  // `known` empty (the first request) the first answer sets it, and a small file
  // fills only part of dst.
  Result<std::uint64_t> fetch(std::uint64_t offset, std::span<std::byte> dst,
                              std::optional<FileIdentity>& known) const;

  // One request for [transfer.first, transfer.last].
  CURLcode perform(CURL* handle, Transfer& transfer) const;

  // Why an attempt failed (OK if it did not), and whether repeating it may help.
  Status attempt_error(const Transfer& transfer, CURLcode code, bool& transient) const;

  CURL* take_handle() const {
    {
      const std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        CURL* handle = idle_.back();
        idle_.pop_back();
        return handle;
      }
    }
    return curl_easy_init();
  }
  void give_back(CURL* handle) const {
    const std::lock_guard lock(mutex_);
    idle_.push_back(handle);
  }

  std::string url_;
  std::string name_;
  HeaderList headers_;
  HttpOptions options_;
  FileIdentity identity_;
  std::vector<std::byte> prefix_;
  // Handles keep their connections open between requests.
  mutable std::mutex mutex_;
  mutable std::vector<CURL*> idle_;
};

CURLcode HttpSource::perform(CURL* handle, Transfer& transfer) const {
  curl_easy_reset(handle);
  const std::string range = std::to_string(transfer.first) + "-" + std::to_string(transfer.last);
  const std::string agent = "owf/" + std::string(OWF_VERSION_STRING);
  curl_easy_setopt(handle, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(handle, CURLOPT_RANGE, range.c_str());
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers_.get());
  curl_easy_setopt(handle, CURLOPT_USERAGENT, agent.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(handle, CURLOPT_MAXREDIRS, static_cast<long>(options_.max_redirects));
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds);
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, kStallSeconds);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, options_.insecure ? 0L : 1L);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, options_.insecure ? 0L : 2L);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
  const CURLcode code = curl_easy_perform(handle);
  long redirects = 0;
  curl_easy_getinfo(handle, CURLINFO_REDIRECT_COUNT, &redirects);
  g_requests.fetch_add(1 + static_cast<std::uint64_t>(std::max(0L, redirects)), std::memory_order_relaxed);
  return code;
}

Status HttpSource::attempt_error(const Transfer& transfer, CURLcode code, bool& transient) const {
  transient = false;
  const std::string asked = " (reading bytes " + std::to_string(transfer.first) + "-" + std::to_string(transfer.last) + ")";
  if (transfer.overlong) return Status::io_error(name_ + ": the answer holds more bytes than asked for" + asked);
  if (transfer.checked && !transfer.total.ok()) {
    const int status = transfer.head.status;
    transient = detail::is_transient_status(status);
    if (status == 404 || status == 410) return Status::not_found(name_ + ": HTTP " + std::to_string(status) + " (not found)");
    if (status == 401 || status == 403) {
      return Status::io_error(name_ + ": HTTP " + std::to_string(status) +
                              " (access denied: credentials missing or refused)");
    }
    return transfer.total.status();
  }
  if (code != CURLE_OK) {
    transient = is_transient(code);
    return Status::io_error(name_ + ": " + curl_easy_strerror(code) + asked);
  }
  return {};
}

Result<std::uint64_t> HttpSource::fetch(std::uint64_t offset, std::span<std::byte> dst,
                                        std::optional<FileIdentity>& known) const {
  CURL* handle = take_handle();
  if (handle == nullptr) return Status::io_error(name_ + ": cannot start an HTTP transfer");
  std::size_t done = 0;  // bytes of dst filled by earlier attempts
  unsigned failures = 0;
  Status error;
  for (;;) {
    Transfer transfer;
    transfer.first = offset + done;
    transfer.last = offset + dst.size() - 1;
    if (known) transfer.expected_total = known->size;
    if (known) transfer.pinned = known->validator;
    transfer.where = name_;
    transfer.dst = dst.subspan(done);
    const CURLcode code = perform(handle, transfer);
    if (code == CURLE_OK) (void)transfer.accept_head();  // an answer without a body was not checked yet
    bool transient = false;
    error = attempt_error(transfer, code, transient);
    if (!known && transfer.checked && transfer.total.ok()) {
      known = FileIdentity{*transfer.total, transfer.head.validator()};
      dst = dst.first(std::min<std::uint64_t>(dst.size(), known->size - std::min(offset, known->size)));
    }
    done += transfer.received;
    if (error.ok() && done >= dst.size()) break;
    if (error.ok()) {  // a clean end before the range's end (the server sent no Content-Length): resume
      error = Status::io_error(name_ + ": the answer ended after " + std::to_string(transfer.received) +
                               " bytes (reading bytes " + std::to_string(transfer.first) + "-" +
                               std::to_string(transfer.last) + ")");
      transient = true;
    }
    if (!transient) break;
    // An attempt that delivered bytes resumes at once; one that did not waits longer each time.
    if (transfer.received == 0) {
      if (failures >= options_.retries) break;
      std::this_thread::sleep_for(kFirstBackoff * (1u << std::min(failures, 6u)));
      ++failures;
    }
    g_retries.fetch_add(1, std::memory_order_relaxed);
  }
  give_back(handle);
  if (!error.ok() && done < dst.size()) return error;
  return done;
}

}  // namespace

namespace detail {

Result<std::shared_ptr<const ByteSource>> open_http_source(std::string_view url, const HttpOptions& options) {
  global_init();
  OWF_ASSIGN_OR_RETURN(HeaderList headers, request_headers(options));
  auto source = std::make_shared<HttpSource>(std::string(url), std::move(headers), options);
  OWF_RETURN_IF_ERROR(source->start());
  return std::shared_ptr<const ByteSource>(std::move(source));
}

}  // namespace detail

HttpStatistics http_statistics() {
  return {g_requests.load(std::memory_order_relaxed), g_bytes.load(std::memory_order_relaxed),
          g_retries.load(std::memory_order_relaxed)};
}

}  // namespace owf
