// The protobuf wire reader on hand-built messages: every wire type, packed and
// unpacked repeated scalars, and the damage it must refuse (truncated and
// overlong varints, lengths past the end, groups, deep nesting).
#include "owf/internal/protobuf.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "proto_builder.h"

namespace {

using owf::ByteCursor;
using owf::protobuf::Field;
using owf::protobuf::MessageReader;
using owf::protobuf::WireType;
using owf::test::Proto;
namespace protobuf = owf::protobuf;

std::vector<std::byte> bytes_of(std::initializer_list<std::uint8_t> values) {
  std::vector<std::byte> out;
  for (const std::uint8_t value : values) out.push_back(static_cast<std::byte>(value));
  return out;
}

owf::Result<std::uint64_t> varint_of(std::initializer_list<std::uint8_t> values) {
  const auto data = bytes_of(values);
  ByteCursor cursor(data, 100);
  return protobuf::read_varint(cursor, "test varint");
}

std::vector<Field> all_fields(std::span<const std::byte> message) {
  std::vector<Field> fields;
  MessageReader reader(message, 0);
  while (!reader.at_end()) {
    auto field = reader.next();
    REQUIRE_MESSAGE(field.ok(), field.status().message());
    fields.push_back(*field);
  }
  return fields;
}

std::string first_error(std::span<const std::byte> message) {
  MessageReader reader(message, 0);
  while (!reader.at_end()) {
    auto field = reader.next();
    if (!field.ok()) return field.status().message();
  }
  return "";
}

}  // namespace

TEST_CASE("varints decode least significant group first") {
  CHECK(*varint_of({0x00}) == 0);
  CHECK(*varint_of({0x7F}) == 127);
  CHECK(*varint_of({0xAC, 0x02}) == 300);
  CHECK(*varint_of({0x80, 0x00}) == 0);  // non-minimal encodings are valid protobuf
  CHECK(*varint_of({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}) == UINT64_MAX);
}

TEST_CASE("damaged varints are refused with their offset") {
  const auto truncated = varint_of({0x80, 0x80});
  REQUIRE_FALSE(truncated.ok());
  CHECK(truncated.status().message() == "test varint at offset 100 is truncated after 2 bytes");

  const auto empty = varint_of({});
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.status().message().find("truncated after 0 bytes") != std::string::npos);

  const auto overlong = varint_of({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
  REQUIRE_FALSE(overlong.ok());
  CHECK(overlong.status().code() == owf::ErrorCode::kCorruption);
  CHECK(overlong.status().message().find("does not fit in 64 bits") != std::string::npos);

  const auto too_big = varint_of({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02});
  REQUIRE_FALSE(too_big.ok());
  CHECK(too_big.status().message() == "test varint at offset 100 does not fit in 64 bits");
}

TEST_CASE("each wire type yields its value and offset") {
  Proto message;
  message.varint(1, 150).fixed32(2, 0xDEADBEEF).fixed64(3, 0x0123456789ABCDEFull).text(4, "hi");
  const auto fields = all_fields(message.bytes());
  REQUIRE(fields.size() == 4);
  CHECK(fields[0].number == 1);
  CHECK(fields[0].type == WireType::kVarint);
  CHECK(fields[0].value == 150);
  CHECK(fields[0].offset == 1);
  CHECK(fields[1].type == WireType::kFixed32);
  CHECK(fields[1].value == 0xDEADBEEF);
  CHECK(fields[2].type == WireType::kFixed64);
  CHECK(fields[2].value == 0x0123456789ABCDEFull);
  CHECK(fields[3].type == WireType::kLen);
  CHECK(owf::as_chars(fields[3].payload) == "hi");
  CHECK(fields[3].offset == message.bytes().size() - 2);
}

TEST_CASE("value sizes count the bytes on the wire") {
  Proto message;
  message.varint(1, 0).varint(1, 300).varint(1, UINT64_MAX).fixed32(2, 1).fixed64(3, 1).text(4, "abc");
  std::vector<std::uint64_t> sizes;
  for (const Field& field : all_fields(message.bytes())) sizes.push_back(protobuf::value_size(field));
  CHECK(sizes == std::vector<std::uint64_t>{1, 2, 10, 4, 8, 3});
}

TEST_CASE("large field numbers and unknown fields are walked over") {
  Proto message;
  message.varint(536870911, 7).text(1000, "skipped").varint(1, 1);
  const auto fields = all_fields(message.bytes());
  REQUIRE(fields.size() == 3);
  CHECK(fields[0].number == 536870911);
  CHECK(fields[2].value == 1);
}

TEST_CASE("a length beyond the message is refused") {
  Proto message;
  message.tag(4, 2).raw({0x05, 'a', 'b'});
  CHECK(first_error(message.bytes()) == "field 4 at offset 2 needs 5 bytes, only 2 remain");

  Proto huge;  // a length near 2^64 must not wrap around
  huge.tag(4, 2).raw({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01});
  CHECK(first_error(huge.bytes()).find("needs 18446744073709551615 bytes") != std::string::npos);
}

TEST_CASE("truncated fixed-width values are refused") {
  Proto fixed32;
  fixed32.tag(2, 5).raw({1, 2, 3});
  CHECK(first_error(fixed32.bytes()) == "field 2 at offset 1 needs 4 bytes, only 3 remain");
  Proto fixed64;
  fixed64.tag(3, 1).raw({1, 2, 3, 4, 5, 6, 7});
  CHECK(first_error(fixed64.bytes()) == "field 3 at offset 1 needs 8 bytes, only 7 remain");
}

TEST_CASE("groups, undefined wire types and field number 0 are refused") {
  Proto group;
  group.tag(5, 3);
  CHECK(first_error(group.bytes()) == "field 5 at offset 0 uses groups, which are not supported");
  Proto group_end;
  group_end.tag(5, 4);
  CHECK(first_error(group_end.bytes()).find("uses groups") != std::string::npos);
  Proto undefined;
  undefined.tag(5, 6).raw({0});
  CHECK(first_error(undefined.bytes()) == "field 5 at offset 0 has undefined wire type 6");
  Proto zero;
  zero.raw({0x00, 0x00});
  CHECK(first_error(zero.bytes()) == "field tag at offset 0 has invalid field number 0");
  Proto too_large;  // field number 2^29 does not exist
  too_large.varint(1u << 29, 0);
  CHECK(first_error(too_large.bytes()).find("invalid field number 536870912") != std::string::npos);
}

namespace {

// Enters the LEN field 1 of each level until a message has no such field.
owf::Status descend(MessageReader reader) {
  while (!reader.at_end()) {
    OWF_ASSIGN_OR_RETURN(const Field field, reader.next());
    if (field.number != 1) continue;
    OWF_ASSIGN_OR_RETURN(MessageReader inner, reader.enter(field));
    OWF_RETURN_IF_ERROR(descend(inner));
  }
  return {};
}

Proto nested(int levels) {
  Proto message;
  message.varint(2, 1);
  for (int i = 0; i < levels; ++i) {
    Proto outer;
    outer.message(1, message);
    message = outer;
  }
  return message;
}

}  // namespace

TEST_CASE("nesting is bounded") {
  CHECK(descend(MessageReader(nested(protobuf::kMaxDepth).bytes(), 0)).ok());
  const owf::Status too_deep = descend(MessageReader(nested(protobuf::kMaxDepth + 1).bytes(), 0));
  REQUIRE_FALSE(too_deep.ok());
  CHECK(too_deep.message().find("nested more than 100 levels deep") != std::string::npos);
}

TEST_CASE("for_each_field visits a nested message's fields one level deeper") {
  Proto inner;
  inner.varint(1, 5).text(2, "x");
  Proto outer;
  outer.message(3, inner);
  const auto fields = all_fields(outer.bytes());
  const MessageReader parent(outer.bytes(), 0, 7);
  std::vector<std::uint32_t> numbers;
  REQUIRE(protobuf::for_each_field(parent, fields[0], [&](const MessageReader& message, const Field& item) {
            CHECK(message.depth() == 8);
            numbers.push_back(item.number);
            return owf::Status();
          }).ok());
  CHECK(numbers == std::vector<std::uint32_t>{1, 2});
  const owf::Status stopped = protobuf::for_each_field(
      parent, fields[0], [](const MessageReader&, const Field&) { return owf::Status::corruption("stop"); });
  CHECK(stopped.message() == "stop");
}

TEST_CASE("entering a field that is not LEN is refused") {
  Proto message;
  message.varint(7, 1);
  const auto fields = all_fields(message.bytes());
  const auto entered = MessageReader(message.bytes(), 0).enter(fields[0]);
  REQUIRE_FALSE(entered.ok());
  CHECK(entered.status().message() == "field 7 at offset 1 is varint, expected a message");
}

TEST_CASE("repeated varints are read packed and unpacked") {
  Proto message;
  message.packed_varints(1, {1, 300, -2}).varint(1, 5);
  std::vector<std::uint64_t> values, offsets;
  for (const Field& field : all_fields(message.bytes())) {
    REQUIRE(protobuf::for_each_varint(field, [&](std::uint64_t value, std::uint64_t offset) {
              values.push_back(value);
              offsets.push_back(offset);
              return owf::Status();
            }).ok());
  }
  CHECK(values == std::vector<std::uint64_t>{1, 300, static_cast<std::uint64_t>(-2), 5});
  CHECK(offsets[0] == 2);
  CHECK(offsets[1] == 3);  // the varint 300 starts after the one-byte 1

  Proto truncated;
  truncated.tag(1, 2).raw({0x02, 0x01, 0x80});
  const auto fields = all_fields(truncated.bytes());
  const owf::Status status =
      protobuf::for_each_varint(fields[0], [](std::uint64_t, std::uint64_t) { return owf::Status(); });
  CHECK(status.message() == "packed varint at offset 3 is truncated after 1 bytes");
}

TEST_CASE("repeated fixed-width values are read packed and unpacked") {
  Proto message;
  message.packed_floats(4, {1.5f, -2.0f}).fixed32(4, 0x40400000).packed_doubles(10, {0.25}).fixed64(10, 7);
  std::vector<std::uint64_t> floats, doubles;
  const auto collect = [](std::vector<std::uint64_t>& out) {
    return [&out](std::uint64_t value, std::uint64_t) {
      out.push_back(value);
      return owf::Status();
    };
  };
  for (const Field& field : all_fields(message.bytes())) {
    if (field.number == 4) REQUIRE(protobuf::for_each_fixed32(field, collect(floats)).ok());
    if (field.number == 10) REQUIRE(protobuf::for_each_fixed64(field, collect(doubles)).ok());
  }
  CHECK(floats == std::vector<std::uint64_t>{0x3FC00000, 0xC0000000, 0x40400000});
  CHECK(doubles == std::vector<std::uint64_t>{0x3FD0000000000000ull, 7});
}

TEST_CASE("packed runs of the wrong size or fields of the wrong wire type are refused") {
  Proto message;
  message.tag(4, 2).raw({0x03, 1, 2, 3}).varint(4, 1).fixed32(7, 1);
  const auto fields = all_fields(message.bytes());
  const auto ignore = [](std::uint64_t, std::uint64_t) { return owf::Status(); };
  CHECK(protobuf::for_each_fixed32(fields[0], ignore).message() ==
        "packed field 4 at offset 2: 3 bytes are not a multiple of 4");
  CHECK(protobuf::for_each_fixed32(fields[1], ignore).message() ==
        "field 4 at offset 6 is varint, expected fixed32 or packed");
  CHECK(protobuf::for_each_varint(fields[2], ignore).message() ==
        "field 7 at offset 8 is fixed32, expected varint or packed");
  CHECK(protobuf::expect_type(fields[2], WireType::kLen, "TensorProto.name").message() ==
        "TensorProto.name at offset 8 is fixed32, expected LEN");
}

TEST_CASE("the writer encodes each field as the wire format defines, byte for byte") {
  protobuf::MessageWriter inner;
  inner.add_string(1, "ab");
  protobuf::MessageWriter message;
  message.add_varint(1, 300);
  message.add_int32(2, -1);
  message.add_bool(3, true);
  message.add_float(4, 1.5f);
  message.add_message(16, inner);
  const auto expected = bytes_of({0x08, 0xAC, 0x02,                                                  // 1: 300
                                  0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01,  // 2: -1
                                  0x18, 0x01,                                                        // 3: true
                                  0x25, 0x00, 0x00, 0xC0, 0x3F,                                      // 4: 1.5f
                                  0x82, 0x01, 0x04, 0x0A, 0x02, 'a',  'b'});                         // 16: {1: "ab"}
  CHECK(std::vector<std::byte>(message.bytes().begin(), message.bytes().end()) == expected);
  // And the reader takes back what the writer wrote.
  const auto fields = all_fields(message.bytes());
  REQUIRE(fields.size() == 5);
  CHECK(fields[1].value == UINT64_MAX);
  CHECK(fields[4].number == 16);
  CHECK(fields[4].payload.size() == 4);
}
