#include "http_response.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "owf/internal/strings.h"
#include "owf/text.h"

namespace owf::detail {
namespace {

std::string_view trim(std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}

// Decimal digits only (no sign, no spaces), without overflow.
std::optional<std::uint64_t> parse_decimal(std::string_view digits) {
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

std::string range_text(std::uint64_t first, std::uint64_t last) {
  return "bytes " + std::to_string(first) + "-" + std::to_string(last);
}

}  // namespace

std::optional<ContentRange> parse_content_range(std::string_view value) {
  value = trim(value);
  constexpr std::string_view kUnit = "bytes ";
  if (value.size() < kUnit.size() || !equals_ignoring_case(value.substr(0, kUnit.size()), kUnit)) return std::nullopt;
  value.remove_prefix(kUnit.size());
  const auto slash = value.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view range = value.substr(0, slash);
  const std::string_view total = value.substr(slash + 1);
  ContentRange parsed;
  if (total != "*") {
    parsed.total = parse_decimal(total);
    if (!parsed.total) return std::nullopt;
  }
  if (range == "*") return parsed.total ? std::optional(parsed) : std::nullopt;  // "bytes */*" says nothing
  const auto dash = range.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  parsed.first = parse_decimal(range.substr(0, dash));
  parsed.last = parse_decimal(range.substr(dash + 1));
  if (!parsed.first || !parsed.last || *parsed.last < *parsed.first) return std::nullopt;
  if (parsed.total && *parsed.last >= *parsed.total) return std::nullopt;
  return parsed;
}

void ResponseHead::add_line(std::string_view line) {
  line = trim(line);
  if (line.starts_with("HTTP/")) {
    *this = ResponseHead{};
    // "HTTP/1.1 206 Partial Content", "HTTP/2 200"
    const auto space = line.find(' ');
    if (space == std::string_view::npos) return;
    const std::string_view code = line.substr(space + 1, 3);
    const bool three_digits = code.size() == 3 && (space + 4 == line.size() || line[space + 4] == ' ');
    const auto number = parse_decimal(code);
    if (three_digits && number && *number >= 100) status = static_cast<int>(*number);
    return;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return;
  const std::string_view name = line.substr(0, colon);
  const std::string value(trim(line.substr(colon + 1)));
  if (equals_ignoring_case(name, "content-range")) {
    content_range = value;
  } else if (equals_ignoring_case(name, "etag")) {
    etag = value;
  } else if (equals_ignoring_case(name, "last-modified")) {
    last_modified = value;
  } else if (equals_ignoring_case(name, "location")) {
    location = value;
  }
}

Result<std::uint64_t> check_range_answer(const ResponseHead& head, std::uint64_t first, std::uint64_t last,
                                         std::optional<std::uint64_t> expected_total, std::string_view pinned,
                                         std::string_view where) {
  const std::string asked = " to a request for " + range_text(first, last);
  const std::string context = std::string(where) + ": ";
  if (head.status == 200) {
    return Status::not_supported(context +
                                 "the server does not support range requests (it answered 200 with the "
                                 "whole file" +
                                 asked + "); download the file and read it locally");
  }
  if (head.status == 416 && !expected_total) {  // "bytes */0": the first request, to an empty file
    const auto range = parse_content_range(head.content_range);
    if (range && !range->first && range->total == 0) return 0;
  }
  if (head.status != 206) {
    return Status::io_error(context + "unexpected HTTP status " + std::to_string(head.status) + asked);
  }
  const auto range = parse_content_range(head.content_range);
  if (!range || !range->first) {
    const std::string got = head.content_range.empty() ? "none" : quote(head.content_range);
    return Status::io_error(context + "206 answer" + asked + " has no valid Content-Range (got " + got + ")");
  }
  // A range that runs past the end is shortened (RFC 9110 §14.1.2): only the first request, made
  // before the size is known, asks for one.
  const bool shortened = !expected_total && range->total && *range->last + 1 == *range->total && *range->last < last;
  if (*range->first != first || (*range->last != last && !shortened) || !range->total ||
      (expected_total && *range->total != *expected_total)) {
    const std::string expected_size = expected_total ? "/" + std::to_string(*expected_total) : "/SIZE";
    return Status::io_error(context + "wrong Content-Range " + quote(head.content_range) + asked + " (expected " +
                            range_text(first, last) + expected_size + ")");
  }
  if (!pinned.empty() && head.validator() != pinned) {
    const std::string now = head.validator().empty() ? "none" : quote(head.validator());
    return Status::io_error(context + "the file changed while being read (its " +
                            (head.etag.empty() && !head.last_modified.empty() ? "Last-Modified" : "ETag") + " was " +
                            quote(pinned) + ", now " + now + ")");
  }
  return *range->total;
}

}  // namespace owf::detail
