#include "pytorch/pickle_writer.h"

#include <limits>
#include <string>

#include "owf/internal/bytes.h"

namespace owf::formats::pytorch {

PickleWriter::PickleWriter() {
  op(0x80);  // PROTO
  op(2);
}

void PickleWriter::op(std::uint8_t code) { bytes_.push_back(static_cast<std::byte>(code)); }

void PickleWriter::mark() { op('('); }
void PickleWriter::stop() { op('.'); }
void PickleWriter::boolean(bool value) { op(value ? 0x88 : 0x89); }  // NEWTRUE / NEWFALSE
void PickleWriter::empty_tuple() { op(')'); }
void PickleWriter::tuple() { op('t'); }
void PickleWriter::set_items() { op('u'); }
void PickleWriter::reduce() { op('R'); }
void PickleWriter::persistent_id() { op('Q'); }

void PickleWriter::integer(std::uint64_t value) {
  if (value <= std::numeric_limits<std::uint8_t>::max()) {
    op('K');  // BININT1
    append_le<std::uint8_t>(bytes_, static_cast<std::uint8_t>(value));
  } else if (value <= std::numeric_limits<std::uint16_t>::max()) {
    op('M');  // BININT2
    append_le<std::uint16_t>(bytes_, static_cast<std::uint16_t>(value));
  } else if (value <= static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max())) {
    op('J');  // BININT: signed 32-bit
    append_le<std::uint32_t>(bytes_, static_cast<std::uint32_t>(value));
  } else {
    // LONG1: little-endian two's complement, one more byte when the top bit is set.
    std::vector<std::byte> digits;
    for (std::uint64_t rest = value; rest != 0; rest >>= 8) digits.push_back(static_cast<std::byte>(rest & 0xFF));
    if (std::to_integer<std::uint8_t>(digits.back()) & 0x80) digits.push_back(std::byte{0});
    op(0x8a);
    append_le<std::uint8_t>(bytes_, static_cast<std::uint8_t>(digits.size()));
    append_bytes(bytes_, digits);
  }
}

void PickleWriter::text(std::string_view utf8) {
  op('X');  // BINUNICODE
  append_le<std::uint32_t>(bytes_, static_cast<std::uint32_t>(utf8.size()));
  append_bytes(bytes_, as_bytes(utf8));
}

void PickleWriter::global(std::string_view module, std::string_view name) {
  op('c');
  append_bytes(bytes_, as_bytes(std::string(module) + "\n" + std::string(name) + "\n"));
}

}  // namespace owf::formats::pytorch
