// Fuzz target for the HTTP response handling of range reads (lib/src/http_response.h). The input's
// first line is the request: "FIRST-LAST", then optionally "/TOTAL" (the size an earlier answer
// gave) and " VALIDATOR" (the pinned ETag or Last-Modified). Every further line is a header line,
// fed with its line end as curl passes it. Checked:
// - the head is what its last status line and the lines after it make (a redirect or a 1xx answer
//   before it leaves nothing behind), whatever the line ends;
// - a Content-Range that parses is well formed (first <= last < total where known) and is its value
//   written canonically (so no digits overflowed);
// - the check accepts exactly a 206 whose Content-Range is the asked range with the known total
//   (or, on the first request, shortened at the end of the file) and whose validator is the pinned
//   one, or the 416 of an empty file; what it accepts is accepted again by a resumed request, and
//   what it refuses names the URL.
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_response.h"

namespace {

namespace detail = owf::detail;

constexpr std::string_view kWhere = "https://example.test/model.safetensors";

struct Request {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::optional<std::uint64_t> expected_total;
  std::string_view pinned;
};

// Digits at the front of `text`, consumed; nullopt when there are none or they overflow.
std::optional<std::uint64_t> take_number(std::string_view& text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc()) return std::nullopt;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  return value;
}

std::optional<Request> parse_request(std::string_view line) {
  if (line.ends_with('\n')) line.remove_suffix(1);
  Request request;
  const auto first = take_number(line);
  if (!first || !line.starts_with('-')) return std::nullopt;
  line.remove_prefix(1);
  const auto last = take_number(line);
  if (!last || *last < *first) return std::nullopt;  // the reader never asks for an empty range
  request.first = *first;
  request.last = *last;
  if (line.starts_with('/')) {
    line.remove_prefix(1);
    request.expected_total = take_number(line);
    if (!request.expected_total) return std::nullopt;
  }
  if (line.starts_with(' ')) request.pinned = line.substr(1);
  return request;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::size_t length = end == std::string_view::npos ? text.size() : end + 1;
    lines.push_back(text.substr(0, length));
    text.remove_prefix(length);
  }
  return lines;
}

std::string_view without_line_end(std::string_view line) {
  while (line.ends_with('\n') || line.ends_with('\r')) line.remove_suffix(1);
  return line;
}

bool same(const detail::ResponseHead& a, const detail::ResponseHead& b) {
  return a.status == b.status && a.content_range == b.content_range && a.etag == b.etag &&
         a.last_modified == b.last_modified && a.location == b.location;
}

detail::ResponseHead head_of(const std::vector<std::string_view>& lines, std::size_t from, std::string_view end) {
  detail::ResponseHead head;
  for (std::size_t i = from; i < lines.size(); ++i) head.add_line(std::string(without_line_end(lines[i])) += end);
  return head;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The value between its outer spaces, with "bytes" in lower case and each number without its
// leading zeros: what a well-formed value must be once parsed and written back.
std::string normalized(std::string_view value) {
  while (!value.empty() && is_space(value.front())) value.remove_prefix(1);
  while (!value.empty() && is_space(value.back())) value.remove_suffix(1);
  std::string out;
  for (std::size_t i = 0; i < value.size();) {
    if (!is_digit(value[i])) {
      out += i < 5 ? static_cast<char>(std::tolower(static_cast<unsigned char>(value[i]))) : value[i];
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < value.size() && is_digit(value[end])) ++end;
    std::string_view number = value.substr(i, end - i);
    while (number.size() > 1 && number.front() == '0') number.remove_prefix(1);
    out += number;
    i = end;
  }
  return out;
}

std::string canonical(const detail::ContentRange& range) {
  const std::string span = range.first ? std::to_string(*range.first) + "-" + std::to_string(*range.last) : "*";
  return "bytes " + span + "/" + (range.total ? std::to_string(*range.total) : "*");
}

void check_content_range(std::string_view value) {
  const auto range = detail::parse_content_range(value);
  if (!range) return;
  if (range->first.has_value() != range->last.has_value() || (!range->first && !range->total)) std::abort();
  if (range->first && *range->first > *range->last) std::abort();
  if (range->last && range->total && *range->last >= *range->total) std::abort();
  if (canonical(*range) != normalized(value)) std::abort();
}

void check_answer(const detail::ResponseHead& head, const Request& request) {
  const auto answer =
      detail::check_range_answer(head, request.first, request.last, request.expected_total, request.pinned, kWhere);
  const auto range = detail::parse_content_range(head.content_range);
  const bool validator_ok = request.pinned.empty() || head.validator() == request.pinned;
  const bool total_ok = range && range->total && (!request.expected_total || *range->total == *request.expected_total);
  const bool exact = range && range->first == request.first && range->last == request.last;
  const bool shortened = range && range->first == request.first && !request.expected_total && range->total &&
                         *range->last + 1 == *range->total && *range->last < request.last;
  const bool empty_file = head.status == 416 && !request.expected_total && range && !range->first && range->total == 0;
  const bool acceptable = empty_file || (head.status == 206 && total_ok && (exact || shortened) && validator_ok);
  if (answer.ok() != acceptable) std::abort();
  if (!answer.ok()) {
    if (!answer.status().message().starts_with(std::string(kWhere) + ": ")) std::abort();
    return;
  }
  if (*answer != (empty_file ? 0 : *range->total)) std::abort();
  if (exact && !empty_file) {  // the same answer to a later request, the size known by then
    const auto again = detail::check_range_answer(head, request.first, request.last, *answer, request.pinned, kWhere);
    if (!again.ok() || *again != *answer) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto lines = split_lines(std::string_view(reinterpret_cast<const char*>(data), size));
  if (lines.empty()) return 0;

  detail::ResponseHead head;
  std::size_t last_status = 1;  // the head starts over at each status line
  for (std::size_t i = 1; i < lines.size(); ++i) {
    head.add_line(lines[i]);
    std::string_view line = lines[i];
    while (!line.empty() && is_space(line.front())) line.remove_prefix(1);
    if (line.starts_with("HTTP/")) last_status = i;
  }
  if (head.status != 0 && (head.status < 100 || head.status > 999)) std::abort();
  if (!same(head, head_of(lines, last_status, "")) || !same(head, head_of(lines, 1, "\r\n"))) std::abort();
  check_content_range(head.content_range);

  if (const auto request = parse_request(lines[0])) check_answer(head, *request);
  return 0;
}
