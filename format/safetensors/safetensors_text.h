// Names in messages: safetensors names come from JSON strings, which may hold
// control characters (a "\n" escape) that would break a one-line message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace owf::formats::safetensors {

// `name` in single quotes with control characters shown as \xNN.
inline std::string quote(std::string_view name) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (const char c : name) {
    const auto byte = static_cast<std::uint8_t>(c);
    if (byte < 0x20 || byte == 0x7F) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace owf::formats::safetensors
