#include "owf/text.h"

#include <cstdint>

#include "owf/internal/strings.h"

namespace owf {

std::size_t utf8_sequence_length(std::string_view text, std::size_t at) {
  const auto lead = static_cast<std::uint8_t>(text[at]);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  std::uint8_t low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() - at < length) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const auto byte = static_cast<std::uint8_t>(text[at + k]);
    const std::uint8_t min = k == 1 ? low : 0x80, max = k == 1 ? high : 0xBF;
    if (byte < min || byte > max) return 0;
  }
  return length;
}

std::size_t find_invalid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) return i;
    i += length;
  }
  return std::string_view::npos;
}

bool is_valid_utf8(std::string_view text) { return find_invalid_utf8(text) == std::string_view::npos; }

bool is_terminal_control(std::string_view sequence) {
  const auto byte = [&sequence](std::size_t i) { return static_cast<std::uint8_t>(sequence[i]); };
  if (sequence.size() == 1) return byte(0) < 0x20 || byte(0) == 0x7F;
  if (sequence.size() == 2) return byte(0) == 0xC2 && byte(1) <= 0x9F;  // U+0080..U+009F
  if (sequence.size() != 3 || byte(0) != 0xE2) return false;
  const unsigned low = (unsigned{byte(1)} << 8) | byte(2);
  return (low >= 0x80AA && low <= 0x80AE) || (low >= 0x81A6 && low <= 0x81A9);  // U+202A..E, U+2066..9
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0 || is_terminal_control(text.substr(i, length))) {
      const std::size_t escaped = length == 0 ? 1 : length;
      for (std::size_t k = 0; k < escaped; ++k) {
        out += "\\x";
        detail::append_hex(out, static_cast<std::uint8_t>(text[i + k]));
      }
      i += escaped;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

std::string quote(std::string_view name) {
  constexpr std::size_t kMaxShown = 200;
  const bool cut = name.size() > kMaxShown;
  return "'" + printable(cut ? name.substr(0, kMaxShown) : name) + (cut ? "...'" : "'");
}

}  // namespace owf
