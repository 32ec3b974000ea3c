// Names in messages. .npy headers are Latin-1 text from the file and zip
// member names are bytes, so anything outside printable ASCII is shown as \xNN:
// a message stays one line of valid text whatever the input holds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace owf::formats::numpy {

// `text` in single quotes, bytes outside printable ASCII as \xNN.
inline std::string quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (const char c : text) {
    const auto byte = static_cast<std::uint8_t>(c);
    if (byte >= 0x20 && byte < 0x7F) {
      out += c;
    } else {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out + "'";
}

}  // namespace owf::formats::numpy
