#include "owf/internal/protobuf.h"

#include <bit>
#include <string>

namespace owf::protobuf {
namespace {

constexpr int kMaxVarintBytes = 10;
constexpr std::uint64_t kMaxFieldNumber = (1u << 29) - 1;

std::string at(std::uint64_t offset) { return " at offset " + std::to_string(offset); }

Status wrong_wire_type(const Field& field, std::string_view what, std::string_view expected) {
  const std::string name = what.empty() ? "field " + std::to_string(field.number) : std::string(what);
  return Status::corruption(name + at(field.offset) + " is " + std::string(wire_type_name(field.type)) + ", expected " +
                            std::string(expected));
}

// A fixed-width scalar run: packed (LEN, a multiple of `width` bytes) or a
// single value of `single` wire type.
Status for_each_fixed(const Field& field, std::uint32_t width, WireType single, const ValueVisitor& visit) {
  if (field.type == single) return visit(field.value, field.offset);
  if (field.type != WireType::kLen)
    return wrong_wire_type(field, "", std::string(wire_type_name(single)) + " or packed");
  if (field.payload.size() % width != 0) {
    return Status::corruption("packed field " + std::to_string(field.number) + at(field.offset) + ": " +
                              std::to_string(field.payload.size()) + " bytes are not a multiple of " +
                              std::to_string(width));
  }
  for (std::size_t i = 0; i < field.payload.size(); i += width) {
    const std::byte* p = field.payload.data() + i;
    const std::uint64_t value = width == 4 ? load_le<std::uint32_t>(p) : load_le<std::uint64_t>(p);
    OWF_RETURN_IF_ERROR(visit(value, field.offset + i));
  }
  return {};
}

}  // namespace

std::string_view wire_type_name(WireType type) {
  switch (type) {
    case WireType::kVarint: return "varint";
    case WireType::kFixed64: return "fixed64";
    case WireType::kLen: return "LEN";
    case WireType::kStartGroup: return "group start";
    case WireType::kEndGroup: return "group end";
    case WireType::kFixed32: return "fixed32";
  }
  return "undefined";
}

std::uint64_t value_size(const Field& field) {
  switch (field.type) {
    case WireType::kLen: return field.payload.size();
    case WireType::kFixed32: return 4;
    case WireType::kFixed64: return 8;
    default: break;
  }
  std::uint64_t size = 1;
  for (std::uint64_t rest = field.value >> 7; rest != 0; rest >>= 7) ++size;
  return size;
}

Status expect_type(const Field& field, WireType type, std::string_view what) {
  if (field.type == type) return {};
  return wrong_wire_type(field, what, wire_type_name(type));
}

Result<std::uint64_t> read_varint(ByteCursor& cursor, std::string_view what) {
  const std::uint64_t start = cursor.offset();
  std::uint64_t value = 0;
  for (int i = 0; i < kMaxVarintBytes; ++i) {
    if (cursor.at_end()) {
      return Status::corruption(std::string(what) + at(start) + " is truncated after " + std::to_string(i) + " bytes");
    }
    OWF_ASSIGN_OR_RETURN(const std::uint8_t byte, cursor.u8(what));
    // The tenth byte carries only bit 63; anything more does not fit 64 bits.
    if (i == kMaxVarintBytes - 1 && byte > 1) {
      return Status::corruption(std::string(what) + at(start) + " does not fit in 64 bits");
    }
    value |= static_cast<std::uint64_t>(byte & 0x7F) << (7 * i);
    if ((byte & 0x80) == 0) return value;
  }
  return Status::corruption(std::string(what) + at(start) + " is longer than 10 bytes");
}

Result<Field> MessageReader::next() {
  const std::uint64_t tag_offset = cursor_.offset();
  OWF_ASSIGN_OR_RETURN(const std::uint64_t tag, read_varint(cursor_, "field tag"));
  Field field;
  const std::uint64_t number = tag >> 3;
  if (number == 0 || number > kMaxFieldNumber) {
    return Status::corruption("field tag" + at(tag_offset) + " has invalid field number " + std::to_string(number));
  }
  field.number = static_cast<std::uint32_t>(number);
  field.type = static_cast<WireType>(tag & 7);
  field.offset = cursor_.offset();
  // Names are built only for errors: this runs once per field of the file.
  const auto name = [&] { return "field " + std::to_string(number); };
  const auto take = [&](std::uint64_t size) -> Result<std::span<const std::byte>> {
    if (size > cursor_.remaining()) return cursor_.require(size, name());
    return cursor_.bytes(size, "");
  };
  switch (field.type) {
    case WireType::kVarint: {
      auto value = read_varint(cursor_, "varint");
      if (!value.ok()) return value.status().with_context(name());
      field.value = *value;
      return field;
    }
    case WireType::kFixed64: {
      OWF_ASSIGN_OR_RETURN(const auto bytes, take(8));
      field.value = load_le<std::uint64_t>(bytes.data());
      return field;
    }
    case WireType::kFixed32: {
      OWF_ASSIGN_OR_RETURN(const auto bytes, take(4));
      field.value = load_le<std::uint32_t>(bytes.data());
      return field;
    }
    case WireType::kLen: {
      auto length = read_varint(cursor_, "length");
      if (!length.ok()) return length.status().with_context(name());
      field.offset = cursor_.offset();
      OWF_ASSIGN_OR_RETURN(field.payload, take(*length));
      return field;
    }
    case WireType::kStartGroup:
    case WireType::kEndGroup:
      return Status::corruption(name() + at(tag_offset) + " uses groups, which are not supported");
  }
  return Status::corruption(name() + at(tag_offset) + " has undefined wire type " + std::to_string(tag & 7));
}

Result<MessageReader> MessageReader::enter(const Field& field) const {
  if (field.type != WireType::kLen) return wrong_wire_type(field, "", "a message");
  if (depth_ + 1 > kMaxDepth) {
    return Status::corruption("message" + at(field.offset) + " is nested more than " + std::to_string(kMaxDepth) +
                              " levels deep");
  }
  return MessageReader(field.payload, field.offset, depth_ + 1);
}

Status for_each_field(const MessageReader& parent, const Field& field, const FieldVisitor& visit) {
  OWF_ASSIGN_OR_RETURN(MessageReader reader, parent.enter(field));
  const MessageReader message = reader;
  while (!reader.at_end()) {
    OWF_ASSIGN_OR_RETURN(const Field item, reader.next());
    OWF_RETURN_IF_ERROR(visit(message, item));
  }
  return {};
}

Status for_each_varint(const Field& field, const ValueVisitor& visit) {
  if (field.type == WireType::kVarint) return visit(field.value, field.offset);
  if (field.type != WireType::kLen) return wrong_wire_type(field, "", "varint or packed");
  ByteCursor cursor(field.payload, field.offset);
  while (!cursor.at_end()) {
    const std::uint64_t offset = cursor.offset();
    OWF_ASSIGN_OR_RETURN(const std::uint64_t value, read_varint(cursor, "packed varint"));
    OWF_RETURN_IF_ERROR(visit(value, offset));
  }
  return {};
}

Status for_each_fixed32(const Field& field, const ValueVisitor& visit) {
  return for_each_fixed(field, 4, WireType::kFixed32, visit);
}

Status for_each_fixed64(const Field& field, const ValueVisitor& visit) {
  return for_each_fixed(field, 8, WireType::kFixed64, visit);
}

void append_varint(std::vector<std::byte>& out, std::uint64_t value) {
  for (; value >= 0x80; value >>= 7) out.push_back(static_cast<std::byte>((value & 0x7F) | 0x80));
  out.push_back(static_cast<std::byte>(value));
}

void MessageWriter::add_tag(std::uint32_t number, WireType type) {
  append_varint(bytes_, std::uint64_t{number} << 3 | static_cast<std::uint8_t>(type));
}

void MessageWriter::add_varint(std::uint32_t number, std::uint64_t value) {
  add_tag(number, WireType::kVarint);
  append_varint(bytes_, value);
}

void MessageWriter::add_fixed32(std::uint32_t number, std::uint32_t value) {
  add_tag(number, WireType::kFixed32);
  append_le<std::uint32_t>(bytes_, value);
}

void MessageWriter::add_float(std::uint32_t number, float value) {
  add_fixed32(number, std::bit_cast<std::uint32_t>(value));
}

void MessageWriter::add_len(std::uint32_t number, std::span<const std::byte> payload) {
  add_tag(number, WireType::kLen);
  append_varint(bytes_, payload.size());
  append_bytes(bytes_, payload);
}

}  // namespace owf::protobuf
