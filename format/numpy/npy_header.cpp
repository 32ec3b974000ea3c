#include "numpy/npy_header.h"

#include <array>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "owf/internal/bytes.h"
#include "owf/internal/checked.h"
#include "owf/text.h"

namespace owf::formats::numpy {
namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr std::uint64_t kPreambleV1 = 10;     // magic, version, u16 length
constexpr std::uint64_t kDataAlignment = 64;  // numpy's ARRAY_ALIGN
// Python literals in a header nest only in structured descrs, which owf refuses.
constexpr int kMaxNesting = 16;

struct DescrType {
  char kind;           // numpy's type character: b, u, i, f, c
  std::uint32_t size;  // itemsize in bytes
  DType dtype;
};

constexpr std::array kDescrTypes = {
    DescrType{'b', 1, DType::kBool}, DescrType{'u', 1, DType::kU8},    DescrType{'u', 2, DType::kU16},
    DescrType{'u', 4, DType::kU32},  DescrType{'u', 8, DType::kU64},   DescrType{'i', 1, DType::kI8},
    DescrType{'i', 2, DType::kI16},  DescrType{'i', 4, DType::kI32},   DescrType{'i', 8, DType::kI64},
    DescrType{'f', 2, DType::kF16},  DescrType{'f', 4, DType::kF32},   DescrType{'f', 8, DType::kF64},
    DescrType{'c', 8, DType::kC64},  DescrType{'c', 16, DType::kC128},
};

// A Python literal as a header holds it.
struct Literal {
  enum class Kind { kString, kBool, kInt, kTuple, kList, kNone };
  Kind kind = Kind::kNone;
  std::string text;            // string contents, or the int's digits as written
  bool flag = false;           // bool value; for ints: negative
  std::uint64_t number = 0;    // magnitude of an int
  std::vector<Literal> items;  // tuple or list elements
  std::uint64_t offset = 0;    // where it starts, for messages
};

// Parses the dict literal of a header: strings in single or double quotes
// without escapes, True/False/None, decimal ints (with Python 2's 'L'), tuples
// and lists, nested at most kMaxNesting deep.
class LiteralParser {
 public:
  LiteralParser(std::string_view text, std::uint64_t base_offset, std::string where)
      : text_(text), base_offset_(base_offset), where_(std::move(where)) {}

  // The dict's (key, value) pairs in order; the text after it must be whitespace.
  Result<std::vector<std::pair<Literal, Literal>>> parse_dict() {
    skip_space();
    if (!consume('{')) return error("header does not start with a dict '{'");
    std::vector<std::pair<Literal, Literal>> entries;
    skip_space();
    while (!consume('}')) {
      if (!entries.empty()) {
        if (!consume(',')) return error("expected ',' or '}' in the header dict");
        skip_space();
        if (consume('}')) break;  // trailing comma
      }
      OWF_ASSIGN_OR_RETURN(Literal key, parse_value(1));
      if (key.kind != Literal::Kind::kString) return error_at(key.offset, "header dict key is not a string");
      skip_space();
      if (!consume(':')) return error("expected ':' after key " + quote(key.text));
      OWF_ASSIGN_OR_RETURN(Literal value, parse_value(1));
      entries.emplace_back(std::move(key), std::move(value));
      skip_space();
    }
    skip_space();
    if (position_ != text_.size()) return error("unexpected text after the header dict");
    return entries;
  }

 private:
  Result<Literal> parse_value(int depth) {
    skip_space();
    if (depth > kMaxNesting) return error("header literal nests deeper than " + std::to_string(kMaxNesting));
    if (position_ == text_.size()) return error("header ends inside the dict");
    Literal value;
    value.offset = position_;
    const char c = text_[position_];
    if (c == '\'' || c == '"') return parse_string(std::move(value));
    if (c == '(' || c == '[') return parse_sequence(std::move(value), depth);
    if (c == '-' || (c >= '0' && c <= '9')) return parse_int(std::move(value));
    for (const auto& [word, kind, flag] :
         {std::tuple{"True", Literal::Kind::kBool, true}, std::tuple{"False", Literal::Kind::kBool, false},
          std::tuple{"None", Literal::Kind::kNone, false}}) {
      if (text_.substr(position_).starts_with(word)) {
        position_ += std::string_view(word).size();
        value.kind = kind;
        value.flag = flag;
        return value;
      }
    }
    return error("unexpected character in the header dict");
  }

  Result<Literal> parse_string(Literal value) {
    const char quote_char = text_[position_++];
    const std::size_t end = text_.find_first_of(std::string{quote_char, '\\', '\n'}, position_);
    if (end == std::string_view::npos || text_[end] == '\n') return error_at(value.offset, "unterminated string");
    if (text_[end] == '\\') return error_at(end, "escape sequences in header strings are not supported");
    value.kind = Literal::Kind::kString;
    value.text = std::string(text_.substr(position_, end - position_));
    position_ = end + 1;
    return value;
  }

  Result<Literal> parse_int(Literal value) {
    value.kind = Literal::Kind::kInt;
    value.flag = consume('-');
    const std::size_t digits = position_;
    while (position_ < text_.size() && text_[position_] >= '0' && text_[position_] <= '9') {
      const auto next = checked_mul(value.number, 10);
      const auto sum = next ? checked_add(*next, static_cast<std::uint64_t>(text_[position_] - '0')) : std::nullopt;
      if (!sum) return error_at(value.offset, "integer exceeds 2^64");
      value.number = *sum;
      ++position_;
    }
    if (position_ == digits) return error_at(value.offset, "'-' is not followed by digits");
    value.text = std::string(text_.substr(value.offset, position_ - value.offset));
    if (position_ < text_.size() && (text_[position_] == 'L' || text_[position_] == 'l')) ++position_;  // Python 2
    return value;
  }

  // A tuple "(a, b)" or list "[a, b]". "(a)" is not a tuple in Python but a
  // parenthesized value, and is returned as that value.
  Result<Literal> parse_sequence(Literal value, int depth) {
    const char close = text_[position_++] == '(' ? ')' : ']';
    value.kind = close == ')' ? Literal::Kind::kTuple : Literal::Kind::kList;
    bool trailing_comma = false;
    skip_space();
    while (!consume(close)) {
      if (!value.items.empty() && !trailing_comma) return error("expected ',' or '" + std::string(1, close) + "'");
      OWF_ASSIGN_OR_RETURN(Literal item, parse_value(depth + 1));
      value.items.push_back(std::move(item));
      skip_space();
      trailing_comma = consume(',');
      skip_space();
    }
    if (close == ')' && value.items.size() == 1 && !trailing_comma) return std::move(value.items.front());
    return value;
  }

  void skip_space() {
    while (position_ < text_.size() && (text_[position_] == ' ' || text_[position_] == '\t' ||
                                        text_[position_] == '\n' || text_[position_] == '\r')) {
      ++position_;
    }
  }
  bool consume(char c) {
    if (position_ >= text_.size() || text_[position_] != c) return false;
    ++position_;
    return true;
  }
  Status error(std::string what) const { return error_at(position_, std::move(what)); }
  Status error_at(std::size_t at, std::string what) const {
    return Status::corruption(where_ + ": " + what + " at offset " + std::to_string(base_offset_ + at));
  }

  std::string_view text_;
  std::uint64_t base_offset_;
  std::string where_;
  std::size_t position_ = 0;
};

template <typename T>
Result<std::uint64_t> widen(Result<T> value) {
  if (!value.ok()) return value.status();
  return std::uint64_t{*value};
}

// Parses a descr string such as "<f4" into the dtype and byte order.
Status parse_descr(const Literal& descr, NpyArray& array, const std::string& where) {
  const std::string context = where + ": descr " + quote(descr.text);
  if (descr.text == "|O" || descr.text == "<O" || descr.text == ">O" || descr.text == "O") {
    return Status::not_supported(context + ": object arrays hold pickled Python objects and are not supported");
  }
  if (descr.text.size() < 3) return Status::corruption(context + " is not a numpy type");
  const char order = descr.text[0];
  const char kind = descr.text[1];
  const std::string size_text = descr.text.substr(2);
  if (std::string_view("SUVaMm").find(kind) != std::string_view::npos) {
    return Status::not_supported(context + ": string, void and datetime arrays are not supported");
  }
  if (std::string_view("<>|=").find(order) == std::string_view::npos) {
    return Status::corruption(context + ": byte order '" + std::string(1, order) + "' is not one of < > |");
  }
  const DescrType* type = nullptr;
  for (const DescrType& candidate : kDescrTypes) {
    if (candidate.kind == kind && std::to_string(candidate.size) == size_text) type = &candidate;
  }
  if (type == nullptr) {
    if ((kind == 'f' && size_text == "16") || (kind == 'c' && size_text == "32")) {
      return Status::not_supported(context + ": extended precision is not supported");
    }
    return Status::corruption(context + " is not a numpy type");
  }
  if (type->size > 1 && order == '|')
    return Status::corruption(context + ": a multi-byte type needs byte order < or >");
  if (type->size > 1 && order == '=') {
    return Status::not_supported(context + ": native byte order '=' does not say how the file stores bytes");
  }
  array.dtype = type->dtype;
  array.big_endian = type->size > 1 && order == '>';
  return {};
}

Status parse_shape(const Literal& shape, NpyArray& array, const std::string& where) {
  if (shape.kind != Literal::Kind::kTuple) return Status::corruption(where + ": 'shape' is not a tuple");
  for (const Literal& dim : shape.items) {
    if (dim.kind != Literal::Kind::kInt) {
      return Status::corruption(where + ": 'shape' holds a value that is not an int");
    }
    if (dim.flag && dim.number != 0) {
      return Status::corruption(where + ": negative dimension " + dim.text + " in 'shape'");
    }
    array.shape.push_back(dim.number);
  }
  return {};
}

}  // namespace

Result<NpyArray> parse_npy_header(std::span<const std::byte> npy, std::uint64_t base_offset, std::string_view where) {
  const std::string prefix(where);
  if (npy.size() < kMagic.size() || as_chars(npy.first(kMagic.size())) != kMagic) {
    return Status::corruption(prefix + ": not a .npy array (no \\x93NUMPY magic at offset " +
                              std::to_string(base_offset) + ")");
  }
  ByteCursor cursor(npy.subspan(kMagic.size()), base_offset + kMagic.size());
  auto version = cursor.u16("version");
  if (!version.ok()) return version.status().with_context(prefix);
  const unsigned major = *version & 0xFF, minor = *version >> 8;  // two bytes: major, then minor
  if (major < 1 || major > 3 || minor != 0) {
    return Status::not_supported(prefix + ": .npy format version " + std::to_string(major) + "." +
                                 std::to_string(minor) + " is not supported (1.0, 2.0 and 3.0 are)");
  }
  // Version 1.0 has a u16 header length, later versions a u32.
  auto length = major == 1 ? widen(cursor.u16("header length")) : widen(cursor.u32("header length"));
  if (!length.ok()) return length.status().with_context(prefix);
  const std::uint64_t header_length = *length;
  if (header_length > kMaxHeaderLength) {
    return Status::corruption(prefix + ": header length " + std::to_string(header_length) + " at offset " +
                              std::to_string(base_offset + 8) + " exceeds the cap of " +
                              std::to_string(kMaxHeaderLength) + " bytes");
  }
  const std::uint64_t header_offset = cursor.offset();
  auto header = cursor.bytes(header_length, "header");
  if (!header.ok()) return header.status().with_context(prefix);

  LiteralParser parser(as_chars(*header), header_offset, prefix);
  OWF_ASSIGN_OR_RETURN(const auto entries, parser.parse_dict());
  NpyArray array;
  array.major_version = major;
  std::set<std::string> seen;
  for (const auto& [key, value] : entries) {
    if (!seen.insert(key.text).second) {
      return Status::corruption(prefix + ": header key " + quote(key.text) + " appears twice");
    }
    if (key.text == "descr") {
      if (value.kind == Literal::Kind::kList) {
        return Status::not_supported(prefix + ": structured dtypes (a descr list of fields) are not supported");
      }
      if (value.kind != Literal::Kind::kString) return Status::corruption(prefix + ": 'descr' is not a string");
      OWF_RETURN_IF_ERROR(parse_descr(value, array, prefix));
    } else if (key.text == "fortran_order") {
      if (value.kind != Literal::Kind::kBool) {
        return Status::corruption(prefix + ": 'fortran_order' is not True or False");
      }
      array.fortran_order = value.flag;
    } else if (key.text == "shape") {
      OWF_RETURN_IF_ERROR(parse_shape(value, array, prefix));
    } else {
      return Status::corruption(prefix + ": unknown header key " + quote(key.text));
    }
  }
  for (const char* required : {"descr", "fortran_order", "shape"}) {
    if (!seen.contains(required)) return Status::corruption(prefix + ": header lacks '" + required + "'");
  }
  array.data_offset = cursor.offset() - base_offset;
  return array;
}

std::optional<std::string> numpy_descr(DType dtype) {
  for (const DescrType& type : kDescrTypes) {
    if (type.dtype == dtype) return std::string(1, type.size == 1 ? '|' : '<') + type.kind + std::to_string(type.size);
  }
  return std::nullopt;
}

Result<std::vector<std::byte>> make_npy_header(DType dtype, std::span<const std::uint64_t> shape) {
  const std::optional<std::string> descr = numpy_descr(dtype);
  if (!descr) return Status::invalid_argument("numpy has no dtype " + std::string(dtype_info(dtype).name));
  std::string shape_text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) shape_text += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  shape_text += shape.size() == 1 ? ",)" : ")";
  std::string dict = "{'descr': '" + *descr + "', 'fortran_order': False, 'shape': " + shape_text + ", }";
  // Spaces, then '\n', up to the next multiple of 64 bytes counting the preamble.
  const std::uint64_t unpadded = kPreambleV1 + dict.size() + 1;
  dict.append((kDataAlignment - unpadded % kDataAlignment) % kDataAlignment, ' ');
  dict += '\n';
  if (dict.size() > kMaxHeaderLength) {
    return Status::invalid_argument("shape of " + std::to_string(shape.size()) +
                                    " dimensions is too long for a .npy header");
  }
  std::vector<std::byte> header;
  append_bytes(header, as_bytes(kMagic));
  append_le<std::uint8_t>(header, 1);
  append_le<std::uint8_t>(header, 0);
  append_le<std::uint16_t>(header, static_cast<std::uint16_t>(dict.size()));
  append_bytes(header, as_bytes(dict));
  return header;
}

}  // namespace owf::formats::numpy
