// What a range reader needs from an HTTP response, parsed from the header lines
// as they arrive and checked against the request: pure functions, no network
// (so they are fuzzed: tests/fuzz/fuzz_http.cpp). RFC 9110 §14.4 (Content-Range).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "owf/status.h"

namespace owf::detail {

// "bytes FIRST-LAST/TOTAL", or "bytes */TOTAL" (an unsatisfiable range: no
// first/last); TOTAL may be "*" (unknown).
struct ContentRange {
  std::optional<std::uint64_t> first;
  std::optional<std::uint64_t> last;
  std::optional<std::uint64_t> total;
};

// nullopt when `value` is not a well-formed byte Content-Range (last < first,
// last >= total, digits that overflow, anything after TOTAL but spaces).
std::optional<ContentRange> parse_content_range(std::string_view value);

// The status and the headers of one response. A redirect or an interim (1xx)
// answer is followed by another status line, which starts a new head.
struct ResponseHead {
  int status = 0;  // 0 until a status line was seen
  std::string content_range;  // raw value; empty when absent
  std::string etag;
  std::string last_modified;
  std::string location;  // for messages about redirects

  // Feeds one header line as curl passes it (with its CRLF). Malformed lines are
  // ignored, as HTTP clients do; a malformed status line leaves status 0.
  void add_line(std::string_view line);

  // ETag, else Last-Modified: what must stay the same across one job's answers.
  std::string validator() const { return !etag.empty() ? etag : last_modified; }
};

// The bytes of the answer to a request for [first, last] of a file, which
// `head` answered; `expected_total` is the file's size when known from an earlier
// answer. Fails, naming `where` (the display URL), for an answer that is not 206,
// lacks or mismatches Content-Range, or whose validator differs from `pinned`
// (when that is not empty). On success: the file's total size.
Result<std::uint64_t> check_range_answer(const ResponseHead& head, std::uint64_t first, std::uint64_t last,
                                         std::optional<std::uint64_t> expected_total, std::string_view pinned,
                                         std::string_view where);

// Whether an answer with this status is worth repeating (5xx, and 429 Too Many Requests).
inline bool is_transient_status(int status) { return status == 429 || (status >= 500 && status <= 599); }

}  // namespace owf::detail
