// A bounded reader for the protocol buffers wire format, enough to walk ONNX
// files without generated code, and a writer of the same encoding. A message is
// a sequence of fields:
//
//   tag    varint: field_number << 3 | wire_type      (field_number >= 1)
//   value  wire_type 0 varint   1..10 bytes, 7 bits each, least significant first
//                    1 fixed64  8 bytes little-endian
//                    2 LEN      varint length, then that many bytes
//                               (strings, bytes, nested messages, packed repeated scalars)
//                    5 fixed32  4 bytes little-endian
//
// Wire types 3 and 4 (groups, deprecated) and 6, 7 (undefined) are refused.
// Every length is checked against the bytes that remain before it is used; a
// varint longer than 10 bytes or above 64 bits is refused; nested messages are
// bounded at kMaxDepth. Nothing is copied: LEN payloads are views into the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "owf/internal/bytes.h"
#include "owf/status.h"

namespace owf {
namespace protobuf {

// The deepest nesting of messages a reader enters (as libprotobuf's default).
inline constexpr int kMaxDepth = 100;

enum class WireType : std::uint8_t {
  kVarint = 0,
  kFixed64 = 1,
  kLen = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

// One field as it appears on the wire.
struct Field {
  std::uint32_t number = 0;
  WireType type = WireType::kVarint;
  std::uint64_t value = 0;             // kVarint, kFixed32, kFixed64: the value
  std::span<const std::byte> payload;  // kLen: the bytes (a view into the input)
  std::uint64_t offset = 0;            // absolute offset of the value or payload
};

// Reads one varint at the cursor. Fails when it is truncated, longer than 10
// bytes, or does not fit in 64 bits; `what` names it in the message.
Result<std::uint64_t> read_varint(ByteCursor& cursor, std::string_view what);

// Walks the fields of one message. The reader views `bytes` (which must outlive
// it); offsets in messages are absolute (base_offset + position).
class MessageReader {
 public:
  MessageReader(std::span<const std::byte> bytes, std::uint64_t base_offset, int depth = 0)
      : cursor_(bytes, base_offset), depth_(depth) {}

  bool at_end() const { return cursor_.at_end(); }
  std::uint64_t offset() const { return cursor_.offset(); }
  int depth() const { return depth_; }

  // The next field. Fails on a malformed tag, a group or undefined wire type,
  // or a value that runs past the end of the message.
  Result<Field> next();

  // A reader for the message carried by a LEN field, one level deeper. Fails
  // for another wire type or beyond kMaxDepth.
  Result<MessageReader> enter(const Field& field) const;

 private:
  ByteCursor cursor_;
  int depth_ = 0;
};

// Calls `visit` with each field of the message that LEN field `field` of
// `parent`'s message carries, and that message's reader (to enter fields of it).
using FieldVisitor = std::function<Status(const MessageReader& message, const Field& item)>;
Status for_each_field(const MessageReader& parent, const Field& field, const FieldVisitor& visit);

// The name of a wire type for messages: "varint", "LEN", ...
std::string_view wire_type_name(WireType type);

// Bytes the field's value occupies on the wire (without its tag; a LEN field's
// length prefix not counted). For a varint: its shortest encoding.
std::uint64_t value_size(const Field& field);

// Fails unless `field` has wire type `type`; `what` names the field in the
// message ("ModelProto.ir_version").
Status expect_type(const Field& field, WireType type, std::string_view what);

// Repeated scalar fields arrive packed (one LEN field holding the values back
// to back) or unpacked (one field per value); parsers must accept both. These
// call `visit` with each value of a field and its absolute offset, or fail when
// the encoding does not match the scalar kind (a packed fixed32 run whose length
// is not a multiple of 4, a truncated varint, a wrong wire type).
using ValueVisitor = std::function<Status(std::uint64_t value, std::uint64_t offset)>;
Status for_each_varint(const Field& field, const ValueVisitor& visit);
Status for_each_fixed32(const Field& field, const ValueVisitor& visit);
Status for_each_fixed64(const Field& field, const ValueVisitor& visit);

// Appends `value` as a varint in its shortest encoding.
void append_varint(std::vector<std::byte>& out, std::uint64_t value);

// Builds one message, appending fields in the order they are added (serializers add them by field
// number). Not thread-safe; the bytes are the writer's until it is destroyed.
class MessageWriter {
 public:
  void add_varint(std::uint32_t number, std::uint64_t value);
  // int32 and enum fields: a negative value is sign-extended to 64 bits, as protobuf encodes it.
  void add_int32(std::uint32_t number, std::int32_t value) {
    add_varint(number, static_cast<std::uint64_t>(static_cast<std::int64_t>(value)));
  }
  void add_bool(std::uint32_t number, bool value) { add_varint(number, value ? 1 : 0); }
  void add_fixed32(std::uint32_t number, std::uint32_t value);
  void add_float(std::uint32_t number, float value);
  void add_len(std::uint32_t number, std::span<const std::byte> payload);
  void add_string(std::uint32_t number, std::string_view text) { add_len(number, as_bytes(text)); }
  void add_message(std::uint32_t number, const MessageWriter& message) { add_len(number, message.bytes()); }

  std::span<const std::byte> bytes() const { return bytes_; }

 private:
  void add_tag(std::uint32_t number, WireType type);
  std::vector<std::byte> bytes_;
};

}  // namespace protobuf
}  // namespace owf
