// Test helper: builds protocol buffers messages byte by byte, so tests can
// hand-craft ONNX files and SentencePiece models (valid and damaged) without libprotobuf.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

#include "owf/internal/bytes.h"
#include "owf/internal/protobuf.h"

namespace owf::test {

using protobuf::append_varint;

// One message under construction, valid or damaged (protobuf::MessageWriter writes valid ones
// only); every method appends one field.
class Proto {
 public:
  Proto& tag(std::uint32_t field, std::uint32_t wire_type) {
    append_varint(bytes_, std::uint64_t{field} << 3 | wire_type);
    return *this;
  }
  Proto& varint(std::uint32_t field, std::uint64_t value) {
    tag(field, 0);
    append_varint(bytes_, value);
    return *this;
  }
  // An int32/int64 field holding a negative value: sign-extended to 64 bits.
  Proto& signed_varint(std::uint32_t field, std::int64_t value) {
    return varint(field, static_cast<std::uint64_t>(value));
  }
  Proto& fixed32(std::uint32_t field, std::uint32_t value) {
    tag(field, 5);
    append_le<std::uint32_t>(bytes_, value);
    return *this;
  }
  Proto& fixed64(std::uint32_t field, std::uint64_t value) {
    tag(field, 1);
    append_le<std::uint64_t>(bytes_, value);
    return *this;
  }
  Proto& len(std::uint32_t field, std::span<const std::byte> payload) {
    tag(field, 2);
    append_varint(bytes_, payload.size());
    append_bytes(bytes_, payload);
    return *this;
  }
  Proto& text(std::uint32_t field, std::string_view value) { return len(field, as_bytes(value)); }
  Proto& message(std::uint32_t field, const Proto& inner) { return len(field, inner.bytes()); }

  Proto& packed_varints(std::uint32_t field, std::initializer_list<std::int64_t> values) {
    std::vector<std::byte> payload;
    for (const std::int64_t value : values) append_varint(payload, static_cast<std::uint64_t>(value));
    return len(field, payload);
  }
  Proto& packed_floats(std::uint32_t field, std::initializer_list<float> values) {
    std::vector<std::byte> payload;
    for (const float value : values) append_le<std::uint32_t>(payload, std::bit_cast<std::uint32_t>(value));
    return len(field, payload);
  }
  Proto& packed_doubles(std::uint32_t field, std::initializer_list<double> values) {
    std::vector<std::byte> payload;
    for (const double value : values) append_le<std::uint64_t>(payload, std::bit_cast<std::uint64_t>(value));
    return len(field, payload);
  }
  // Raw bytes appended as they are (for damaged messages).
  Proto& raw(std::initializer_list<std::uint8_t> values) {
    for (const std::uint8_t value : values) bytes_.push_back(static_cast<std::byte>(value));
    return *this;
  }

  std::span<const std::byte> bytes() const { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
};

}  // namespace owf::test
