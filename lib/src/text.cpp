#include "owf/text.h"

#include <cstdint>

#include "text.h"

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

std::string quote(std::string_view name) {
  constexpr std::size_t kMaxShown = 200;
  const bool cut = name.size() > kMaxShown;
  if (cut) name = name.substr(0, kMaxShown);
  std::string out = "'";
  for (std::size_t i = 0; i < name.size();) {
    const std::size_t length = utf8_sequence_length(name, i);
    const auto byte = static_cast<std::uint8_t>(name[i]);
    if (length == 0 || byte < 0x20 || byte == 0x7F) {
      out += "\\x";
      detail::append_hex(out, byte);
      ++i;
    } else {
      out.append(name.substr(i, length));
      i += length;
    }
  }
  out += cut ? "...'" : "'";
  return out;
}

}  // namespace owf
