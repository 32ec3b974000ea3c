// Byte order lives here and nowhere else: explicit little-endian loads and
// stores (compilers turn the shifts into single moves), and a bounds-checked
// cursor that every parser uses to walk untrusted bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "owf/status.h"

namespace owf {

template <typename T>
inline T load_le(const std::byte* p) {
  static_assert(std::is_unsigned_v<T>);
  T value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) value |= static_cast<T>(std::to_integer<std::uint8_t>(p[i])) << (8 * i);
  return value;
}

template <typename T>
inline void store_le(std::byte* p, T value) {
  static_assert(std::is_unsigned_v<T>);
  for (std::size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<std::byte>(value >> (8 * i));
}

// Appends the little-endian encoding of `value` to `out`.
template <typename T>
inline void append_le(std::vector<std::byte>& out, T value) {
  const std::size_t at = out.size();
  out.resize(at + sizeof(T));
  store_le<T>(out.data() + at, value);
}

inline void append_bytes(std::vector<std::byte>& out, std::span<const std::byte> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

inline std::span<const std::byte> as_bytes(std::string_view text) {
  return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

inline std::string_view as_chars(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// Reads fields from untrusted bytes. Every read checks what remains first and
// fails with "<what> at offset N needs K bytes, only R remain"; offsets in
// messages are absolute (base_offset + position), so they point into the file.
class ByteCursor {
 public:
  explicit ByteCursor(std::span<const std::byte> data, std::uint64_t base_offset = 0)
      : data_(data), base_offset_(base_offset) {}

  std::uint64_t offset() const { return base_offset_ + position_; }
  std::uint64_t position() const { return position_; }
  std::uint64_t remaining() const { return data_.size() - position_; }
  bool at_end() const { return position_ == data_.size(); }

  template <typename T>
  Result<T> le(std::string_view what) {
    OWF_RETURN_IF_ERROR(require(sizeof(T), what));
    const T value = load_le<T>(data_.data() + position_);
    position_ += sizeof(T);
    return value;
  }
  Result<std::uint8_t> u8(std::string_view what) { return le<std::uint8_t>(what); }
  Result<std::uint16_t> u16(std::string_view what) { return le<std::uint16_t>(what); }
  Result<std::uint32_t> u32(std::string_view what) { return le<std::uint32_t>(what); }
  Result<std::uint64_t> u64(std::string_view what) { return le<std::uint64_t>(what); }

  // The next `size` bytes, without a copy.
  Result<std::span<const std::byte>> bytes(std::uint64_t size, std::string_view what) {
    OWF_RETURN_IF_ERROR(require(size, what));
    const auto view = data_.subspan(position_, size);
    position_ += size;
    return view;
  }

  Status skip(std::uint64_t size, std::string_view what) { return bytes(size, what).status(); }

  // Fails unless `size` more bytes remain.
  Status require(std::uint64_t size, std::string_view what) const {
    if (size <= remaining()) return {};
    return Status::corruption(std::string(what) + " at offset " + std::to_string(offset()) + " needs " +
                              std::to_string(size) + " bytes, only " + std::to_string(remaining()) + " remain");
  }

 private:
  std::span<const std::byte> data_;
  std::uint64_t base_offset_ = 0;
  std::uint64_t position_ = 0;
};

}  // namespace owf
