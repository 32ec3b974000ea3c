#include "gguf/gguf_file.h"

#include <limits>

#include "owf/text.h"

namespace owf::formats::gguf {
namespace {

struct ValueTypeName {
  ValueType type;
  std::string_view name;
  std::size_t size;
};

constexpr ValueTypeName kValueTypes[] = {
    {ValueType::kU8, "u8", 1},       {ValueType::kI8, "i8", 1},     {ValueType::kU16, "u16", 2},
    {ValueType::kI16, "i16", 2},     {ValueType::kU32, "u32", 4},   {ValueType::kI32, "i32", 4},
    {ValueType::kF32, "f32", 4},     {ValueType::kBool, "bool", 1}, {ValueType::kString, "string", 0},
    {ValueType::kArray, "array", 0}, {ValueType::kU64, "u64", 8},   {ValueType::kI64, "i64", 8},
    {ValueType::kF64, "f64", 8},
};

struct PlainType {
  std::uint32_t ggml_type;
  DType dtype;
};

// ggml's non-block types; every other ggml type is a block type stored as owf dtype 256 + type.
constexpr PlainType kPlainTypes[] = {
    {0, DType::kF32},  {1, DType::kF16},  {24, DType::kI8},  {25, DType::kI16},
    {26, DType::kI32}, {27, DType::kI64}, {28, DType::kF64}, {30, DType::kBF16},
};
constexpr std::uint32_t kBlockTypeBase = 256;

std::string at_offset(std::uint64_t offset) { return " at offset " + std::to_string(offset); }

// The readers below take `what` (the field, for messages) as a view and build text only on
// failure: they run once per array element, and a vocabulary has hundreds of thousands.

// A GGUF string: u64 length, then that many bytes, the length checked against what remains.
Result<std::string> read_string(ByteCursor& cursor, std::string_view what) {
  const std::uint64_t start = cursor.offset();
  OWF_ASSIGN_OR_RETURN(const std::uint64_t length, cursor.u64(what));
  if (length > cursor.remaining()) {
    return Status::corruption(std::string(what) + at_offset(start) + ": length " + std::to_string(length) +
                              " exceeds the " + std::to_string(cursor.remaining()) + " bytes that remain");
  }
  OWF_ASSIGN_OR_RETURN(const auto bytes, cursor.bytes(length, what));
  return std::string(as_chars(bytes));
}

// Appends one element of `type` to kv.numbers or kv.strings.
Status read_element(ByteCursor& cursor, ValueType type, std::string_view what, KeyValue& kv) {
  const std::uint64_t start = cursor.offset();
  switch (value_size(type)) {
    case 0: {
      OWF_ASSIGN_OR_RETURN(std::string text, read_string(cursor, what));
      kv.strings.push_back(std::move(text));
      return {};
    }
    case 1: {
      OWF_ASSIGN_OR_RETURN(const std::uint8_t bits, cursor.u8(what));
      if (type == ValueType::kBool && bits > 1) {
        return Status::corruption(std::string(what) + at_offset(start) + ": bool value " + std::to_string(bits) +
                                  " is neither 0 nor 1");
      }
      kv.numbers.push_back(bits);
      return {};
    }
    case 2: {
      OWF_ASSIGN_OR_RETURN(const std::uint16_t bits, cursor.u16(what));
      kv.numbers.push_back(bits);
      return {};
    }
    case 4: {
      OWF_ASSIGN_OR_RETURN(const std::uint32_t bits, cursor.u32(what));
      kv.numbers.push_back(bits);
      return {};
    }
    default: {
      OWF_ASSIGN_OR_RETURN(const std::uint64_t bits, cursor.u64(what));
      kv.numbers.push_back(bits);
      return {};
    }
  }
}

Result<ValueType> read_value_type(ByteCursor& cursor, const std::string& what) {
  const std::uint64_t start = cursor.offset();
  OWF_ASSIGN_OR_RETURN(const std::uint32_t id, cursor.u32(what));
  const auto type = value_type_from_id(id);
  if (!type) return Status::corruption(what + at_offset(start) + ": unknown value type " + std::to_string(id));
  return *type;
}

void append_element(std::vector<std::byte>& out, const KeyValue& kv, std::size_t index) {
  switch (value_size(kv.value_type())) {
    case 0: append_string(out, kv.strings[index]); break;
    case 1: append_le(out, static_cast<std::uint8_t>(kv.numbers[index])); break;
    case 2: append_le(out, static_cast<std::uint16_t>(kv.numbers[index])); break;
    case 4: append_le(out, static_cast<std::uint32_t>(kv.numbers[index])); break;
    default: append_le(out, kv.numbers[index]); break;
  }
}

}  // namespace

std::optional<ValueType> value_type_from_id(std::uint32_t id) {
  for (const auto& entry : kValueTypes) {
    if (static_cast<std::uint32_t>(entry.type) == id) return entry.type;
  }
  return std::nullopt;
}

std::string_view value_type_name(ValueType type) {
  for (const auto& entry : kValueTypes) {
    if (entry.type == type) return entry.name;
  }
  return "?";
}

std::optional<ValueType> value_type_from_name(std::string_view name) {
  for (const auto& entry : kValueTypes) {
    if (entry.name == name) return entry.type;
  }
  return std::nullopt;
}

std::size_t value_size(ValueType type) {
  for (const auto& entry : kValueTypes) {
    if (entry.type == type) return entry.size;
  }
  return 0;
}

KeyValue string_key_value(std::string key, std::string text) {
  KeyValue kv;
  kv.key = std::move(key);
  kv.type = ValueType::kString;
  kv.strings.push_back(std::move(text));
  return kv;
}

KeyValue u32_key_value(std::string key, std::uint32_t value) {
  KeyValue kv;
  kv.key = std::move(key);
  kv.type = ValueType::kU32;
  kv.numbers.push_back(value);
  return kv;
}

Result<KeyValue> read_key_value(ByteCursor& cursor, std::uint64_t max_elements) {
  KeyValue kv;
  kv.file_offset = cursor.offset();
  OWF_ASSIGN_OR_RETURN(kv.key, read_string(cursor, "key"));
  const std::string what = "key " + quote(kv.key);
  OWF_ASSIGN_OR_RETURN(kv.type, read_value_type(cursor, what + ": value type"));
  if (kv.type != ValueType::kArray) {
    OWF_RETURN_IF_ERROR(read_element(cursor, kv.type, what + ": value", kv));
    return kv;
  }
  const std::uint64_t array_start = cursor.offset();
  OWF_ASSIGN_OR_RETURN(kv.element_type, read_value_type(cursor, what + ": array element type"));
  if (kv.element_type == ValueType::kArray) {
    return Status::not_supported(what + at_offset(array_start) + ": nested arrays are not supported");
  }
  const std::uint64_t count_start = cursor.offset();
  OWF_ASSIGN_OR_RETURN(const std::uint64_t count, cursor.u64(what + ": array count"));
  // Every element takes at least its fixed size (a string at least its 8-byte length), so a
  // count the remaining bytes cannot hold is refused before anything is reserved.
  const std::uint64_t min_element_bytes = kv.element_type == ValueType::kString ? 8 : value_size(kv.element_type);
  if (count > cursor.remaining() / min_element_bytes) {
    return Status::corruption(what + at_offset(count_start) + ": array count " + std::to_string(count) +
                              " needs at least " + std::to_string(min_element_bytes) + " bytes per element, only " +
                              std::to_string(cursor.remaining()) + " bytes remain");
  }
  if (count > max_elements) {
    return Status::not_supported(what + at_offset(count_start) + ": array count " + std::to_string(count) +
                                 " exceeds what owf reads (" + std::to_string(kMaxValueElements) +
                                 " elements in all key-values)");
  }
  if (kv.element_type == ValueType::kString) {
    kv.strings.reserve(count);
  } else {
    kv.numbers.reserve(count);
  }
  const std::string element_what = what + ": array element";
  for (std::uint64_t i = 0; i < count; ++i) {
    OWF_RETURN_IF_ERROR(read_element(cursor, kv.element_type, element_what, kv));
  }
  return kv;
}

Result<TensorRecord> read_tensor_record(ByteCursor& cursor) {
  TensorRecord record;
  record.file_offset = cursor.offset();
  OWF_ASSIGN_OR_RETURN(record.name, read_string(cursor, "tensor name"));
  const std::string what = "tensor " + quote(record.name);
  const std::uint64_t dims_start = cursor.offset();
  OWF_ASSIGN_OR_RETURN(const std::uint32_t n_dims, cursor.u32(what + ": n_dims"));
  if (n_dims > kMaxDims) {
    return Status::corruption(what + at_offset(dims_start) + ": " + std::to_string(n_dims) +
                              " dimensions exceed GGUF's limit of " + std::to_string(kMaxDims));
  }
  for (std::uint32_t i = 0; i < n_dims; ++i) {
    const std::uint64_t dim_start = cursor.offset();
    OWF_ASSIGN_OR_RETURN(const std::uint64_t dim, cursor.u64(what + ": ne[" + std::to_string(i) + "]"));
    if (dim > kMaxDimension) {
      return Status::corruption(what + at_offset(dim_start) + ": ne[" + std::to_string(i) +
                                "] = " + std::to_string(dim) + " exceeds INT64_MAX");
    }
    record.dims.push_back(dim);
  }
  OWF_ASSIGN_OR_RETURN(record.ggml_type, cursor.u32(what + ": type"));
  OWF_ASSIGN_OR_RETURN(record.offset, cursor.u64(what + ": data offset"));
  return record;
}

void append_string(std::vector<std::byte>& out, std::string_view text) {
  append_le<std::uint64_t>(out, text.size());
  append_bytes(out, as_bytes(text));
}

void append_key_value(std::vector<std::byte>& out, const KeyValue& kv) {
  append_string(out, kv.key);
  append_le(out, static_cast<std::uint32_t>(kv.type));
  if (kv.type == ValueType::kArray) {
    append_le(out, static_cast<std::uint32_t>(kv.element_type));
    append_le<std::uint64_t>(out, kv.size());
  }
  for (std::size_t i = 0; i < kv.size(); ++i) append_element(out, kv, i);
}

void append_tensor_record(std::vector<std::byte>& out, const TensorRecord& record) {
  append_string(out, record.name);
  append_le(out, static_cast<std::uint32_t>(record.dims.size()));
  for (const std::uint64_t dim : record.dims) append_le(out, dim);
  append_le(out, record.ggml_type);
  append_le(out, record.offset);
}

std::optional<DType> dtype_from_ggml(std::uint32_t ggml_type) {
  for (const auto& plain : kPlainTypes) {
    if (plain.ggml_type == ggml_type) return plain.dtype;
  }
  if (ggml_type > std::numeric_limits<std::uint16_t>::max() - kBlockTypeBase) return std::nullopt;
  const DTypeInfo* info = find_dtype(static_cast<std::uint16_t>(kBlockTypeBase + ggml_type));
  if (info == nullptr || info->kind != DTypeKind::kQuantized) return std::nullopt;
  return info->id;
}

std::optional<std::uint32_t> ggml_from_dtype(DType dtype) {
  for (const auto& plain : kPlainTypes) {
    if (plain.dtype == dtype) return plain.ggml_type;
  }
  if (dtype_info(dtype).kind != DTypeKind::kQuantized) return std::nullopt;
  return static_cast<std::uint32_t>(dtype) - kBlockTypeBase;
}

std::string to_hex(std::string_view bytes, std::string_view separator) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  std::string hex;
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    if (!hex.empty()) hex += separator;
    hex += kHexDigits[byte >> 4];
    hex += kHexDigits[byte & 15];
  }
  return hex;
}

}  // namespace owf::formats::gguf
