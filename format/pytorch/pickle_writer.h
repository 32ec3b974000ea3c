// Emits pickle protocol 2 opcodes, as Python's pickler does for the plain
// values a state dict needs. The caller sequences opcodes; this class only
// encodes them (integers in the smallest form, strings as BINUNICODE).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace owf::formats::pytorch {

class PickleWriter {
 public:
  PickleWriter();  // starts with PROTO 2

  void mark();
  void stop();
  void boolean(bool value);
  void integer(std::uint64_t value);
  void text(std::string_view utf8);  // BINUNICODE: shorter than 4 GiB
  void empty_tuple();
  void tuple();      // from the last mark
  void set_items();  // from the last mark into the dict below it
  void global(std::string_view module, std::string_view name);
  void reduce();
  void persistent_id();  // BINPERSID: the tuple on top is a persistent id

  const std::vector<std::byte>& bytes() const { return bytes_; }

 private:
  void op(std::uint8_t code);
  std::vector<std::byte> bytes_;
};

}  // namespace owf::formats::pytorch
