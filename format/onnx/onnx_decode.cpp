#include "onnx/onnx_decode.h"

#include <cstring>
#include <functional>
#include <limits>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "owf/dtype.h"
#include "owf/internal/bytes.h"
#include "owf/internal/checked.h"
#include "owf/internal/protobuf.h"
#include "owf/model.h"
#include "owf/text.h"

namespace owf::formats::onnx {
namespace {

using protobuf::Field;
using protobuf::MessageReader;
using protobuf::WireType;

// TensorProto fields that hold values by type (the "typed fields").
enum TypedField : std::uint32_t {
  kFloatData = 4,
  kInt32Data = 5,
  kInt64Data = 7,
  kDoubleData = 10,
  kUint64Data = 11,
};

std::string_view typed_field_name(std::uint32_t number) {
  switch (number) {
    case kFloatData: return "float_data";
    case kInt32Data: return "int32_data";
    case kInt64Data: return "int64_data";
    case kDoubleData: return "double_data";
    case kUint64Data: return "uint64_data";
  }
  return "?";
}

// An ONNX TensorProto.DataType that owf can hold, and the typed field its
// values live in when they are not in raw_data.
struct OnnxType {
  std::int32_t id;
  std::string_view name;
  DType dtype;
  TypedField typed_field;
};

constexpr OnnxType kTypes[] = {
    {1, "FLOAT", DType::kF32, kFloatData},
    {2, "UINT8", DType::kU8, kInt32Data},
    {3, "INT8", DType::kI8, kInt32Data},
    {4, "UINT16", DType::kU16, kInt32Data},
    {5, "INT16", DType::kI16, kInt32Data},
    {6, "INT32", DType::kI32, kInt32Data},
    {7, "INT64", DType::kI64, kInt64Data},
    {9, "BOOL", DType::kBool, kInt32Data},
    {10, "FLOAT16", DType::kF16, kInt32Data},
    {11, "DOUBLE", DType::kF64, kDoubleData},
    {12, "UINT32", DType::kU32, kUint64Data},
    {13, "UINT64", DType::kU64, kUint64Data},
    {14, "COMPLEX64", DType::kC64, kFloatData},
    {15, "COMPLEX128", DType::kC128, kDoubleData},
    {16, "BFLOAT16", DType::kBF16, kInt32Data},
    {17, "FLOAT8E4M3FN", DType::kF8E4M3FN, kInt32Data},
    {18, "FLOAT8E4M3FNUZ", DType::kF8E4M3FNUZ, kInt32Data},
    {19, "FLOAT8E5M2", DType::kF8E5M2, kInt32Data},
    {20, "FLOAT8E5M2FNUZ", DType::kF8E5M2FNUZ, kInt32Data},
    {21, "UINT4", DType::kU4, kInt32Data},
    {22, "INT4", DType::kI4, kInt32Data},
    {23, "FLOAT4E2M1", DType::kF4E2M1, kInt32Data},
    {24, "FLOAT8E8M0", DType::kF8E8M0, kInt32Data},
};

constexpr std::int32_t kOnnxString = 8;
constexpr std::int64_t kLocationExternal = 1;

Result<const OnnxType*> find_type(std::int64_t id) {
  for (const OnnxType& type : kTypes) {
    if (type.id == id) return &type;
  }
  switch (id) {
    case 0: return Status::corruption("data_type is missing (UNDEFINED)");
    case kOnnxString: return Status::not_supported("string tensors are not supported");
    case 25: return Status::not_supported("data type UINT2 (25) is not supported");
    case 26: return Status::not_supported("data type INT2 (26) is not supported");
  }
  return Status::not_supported("unknown data type " + std::to_string(id));
}

std::string at(std::uint64_t offset) { return " at offset " + std::to_string(offset); }

std::string describe(const OnnxType& type, const TensorInfo& info) {
  std::string text = std::string(type.name) + " [";
  for (std::size_t i = 0; i < info.shape.size(); ++i) text += (i ? ", " : "") + std::to_string(info.shape[i]);
  return text + "]";
}

// Appends `text` as a JSON string; bytes that are not UTF-8 become U+FFFD, as
// metadata must be valid UTF-8 and ONNX strings are only meant to be.
void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence_length(text, i);
    const char c = text[i];
    if (length == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<std::uint8_t>(c) < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  out += '"';
}

// Stores the low `width` bytes of `value` little-endian.
void store_width(std::byte* p, std::uint64_t value, std::uint32_t width) {
  switch (width) {
    case 1: store_le<std::uint8_t>(p, static_cast<std::uint8_t>(value)); break;
    case 2: store_le<std::uint16_t>(p, static_cast<std::uint16_t>(value)); break;
    case 4: store_le<std::uint32_t>(p, static_cast<std::uint32_t>(value)); break;
    default: store_le<std::uint64_t>(p, value); break;
  }
}

Result<std::string_view> string_field(const Field& field, std::string_view what) {
  OWF_RETURN_IF_ERROR(protobuf::expect_type(field, WireType::kLen, what));
  return as_chars(field.payload);
}

Result<std::uint64_t> varint_field(const Field& field, std::string_view what) {
  OWF_RETURN_IF_ERROR(protobuf::expect_type(field, WireType::kVarint, what));
  return field.value;
}

// A StringStringEntryProto: 1 key, 2 value.
Result<std::pair<std::string, std::string>> parse_entry(const MessageReader& parent, const Field& field) {
  std::pair<std::string, std::string> entry;
  OWF_RETURN_IF_ERROR(protobuf::for_each_field(parent, field, [&](const MessageReader&, const Field& item) -> Status {
    if (item.number == 1) {
      OWF_ASSIGN_OR_RETURN(entry.first, string_field(item, "StringStringEntryProto.key"));
    } else if (item.number == 2) {
      OWF_ASSIGN_OR_RETURN(entry.second, string_field(item, "StringStringEntryProto.value"));
    }
    return {};
  }));
  return entry;
}

// The fields of one TensorProto that matter here, values still on the wire.
struct TensorFields {
  std::uint64_t offset = 0;  // of the message
  std::string name;
  std::int64_t data_type = 0;
  std::vector<std::uint64_t> dims;
  std::optional<Field> raw_data;
  std::uint32_t typed_number = 0;  // the typed field present, if any
  std::vector<Field> typed;        // its occurrences, packed or one value each
  bool has_string_data = false;
  bool has_segment = false;
  std::int64_t data_location = 0;
  std::vector<std::pair<std::string, std::string>> external_data;

  Status add_typed(const Field& field) {
    if (typed_number != 0 && typed_number != field.number) {
      return Status::corruption("holds values in both " + std::string(typed_field_name(typed_number)) + " and " +
                                std::string(typed_field_name(field.number)) + at(field.offset));
    }
    typed_number = field.number;
    typed.push_back(field);
    return {};
  }
};

Result<TensorFields> parse_tensor_fields(MessageReader reader) {
  TensorFields tensor;
  tensor.offset = reader.offset();
  while (!reader.at_end()) {
    OWF_ASSIGN_OR_RETURN(const Field field, reader.next());
    switch (field.number) {
      case 1:
        OWF_RETURN_IF_ERROR(protobuf::for_each_varint(field, [&](std::uint64_t value, std::uint64_t offset) {
          if (static_cast<std::int64_t>(value) < 0) {
            return Status::corruption("dimension " + std::to_string(static_cast<std::int64_t>(value)) + at(offset) +
                                      " is negative");
          }
          tensor.dims.push_back(value);
          return Status();
        }));
        break;
      case 2: {
        OWF_ASSIGN_OR_RETURN(const std::uint64_t type, varint_field(field, "TensorProto.data_type"));
        tensor.data_type = static_cast<std::int32_t>(static_cast<std::uint32_t>(type));  // an int32 field
        break;
      }
      case 3: tensor.has_segment = true; break;
      case 6: tensor.has_string_data = true; break;
      case 8: {
        OWF_ASSIGN_OR_RETURN(const std::string_view name, string_field(field, "TensorProto.name"));
        tensor.name = name;
        break;
      }
      case 9:
        OWF_RETURN_IF_ERROR(protobuf::expect_type(field, WireType::kLen, "TensorProto.raw_data"));
        tensor.raw_data = field;  // the last occurrence wins, as in protobuf
        break;
      case 13: {
        OWF_ASSIGN_OR_RETURN(auto entry, parse_entry(reader, field));
        tensor.external_data.push_back(std::move(entry));
        break;
      }
      case 14: {
        OWF_ASSIGN_OR_RETURN(const std::uint64_t location, varint_field(field, "TensorProto.data_location"));
        tensor.data_location = static_cast<std::int64_t>(location);
        break;
      }
      case kFloatData:
      case kInt32Data:
      case kInt64Data:
      case kDoubleData:
      case kUint64Data: OWF_RETURN_IF_ERROR(tensor.add_typed(field)); break;
      default: break;
    }
  }
  return tensor;
}

// The tensor's name is not known until its field 8 is read, so errors name
// the message by offset.
Result<TensorFields> parse_tensor(MessageReader reader) {
  const std::uint64_t offset = reader.offset();
  auto tensor = parse_tensor_fields(reader);
  if (!tensor.ok()) return tensor.status().with_context("TensorProto" + at(offset));
  return tensor;
}

// Bytes each value of a typed field occupies in the decoded tensor: float_data
// and double_data carry one float per value (two per complex element); the
// integer fields carry one element, or one byte of two packed 4-bit elements.
std::uint32_t value_width(TypedField field, const DTypeInfo& info) {
  if (field == kFloatData) return 4;
  if (field == kDoubleData || field == kInt64Data) return 8;
  return info.block_bytes;
}

// The inclusive range an int32_data value may have for this dtype.
std::pair<std::int64_t, std::int64_t> int32_range(const DTypeInfo& info) {
  if (info.block_elements > 1) return {0, 0xFF};  // a byte holding two 4-bit elements
  if (info.kind == DTypeKind::kBool) return {0, 1};
  const std::uint32_t bits = 8 * info.block_bytes;
  if (info.kind == DTypeKind::kSigned) return {-(std::int64_t{1} << (bits - 1)), (std::int64_t{1} << (bits - 1)) - 1};
  return {0, (std::int64_t{1} << bits) - 1};  // unsigned integers and float bit patterns
}

// Decodes the typed-field values of a tensor into owf's layout, checking the
// count and each value's range.
Result<std::vector<std::byte>> decode_typed(const TensorFields& tensor, const OnnxType& type, const TensorInfo& info) {
  const DTypeInfo& dtype = dtype_info(info.dtype);
  const std::uint32_t width = value_width(type.typed_field, dtype);
  const std::uint64_t expected = info.byte_size / width;
  const std::string_view field_name = typed_field_name(type.typed_field);
  const auto for_each = type.typed_field == kFloatData    ? protobuf::for_each_fixed32
                        : type.typed_field == kDoubleData ? protobuf::for_each_fixed64
                                                          : protobuf::for_each_varint;
  std::uint64_t count = 0;
  for (const Field& field : tensor.typed) {
    OWF_RETURN_IF_ERROR(for_each(field, [&](std::uint64_t, std::uint64_t) {
      ++count;
      return Status();
    }));
  }
  if (count != expected) {
    return Status::corruption(std::string(field_name) + " holds " + std::to_string(count) + " values, " +
                              describe(type, info) + " needs " + std::to_string(expected));
  }
  const auto range = type.typed_field == kInt32Data ? int32_range(dtype) : std::pair<std::int64_t, std::int64_t>();
  const std::uint64_t max_unsigned = width == 8 ? std::numeric_limits<std::uint64_t>::max() : (1ull << (8 * width)) - 1;
  std::vector<std::byte> bytes(info.byte_size);
  std::uint64_t position = 0;
  const auto out_of_range = [&](std::string_view value, std::uint64_t offset) {
    return Status::corruption(std::string(field_name) + " value " + std::string(value) + at(offset) +
                              " is out of range for " + std::string(type.name));
  };
  for (const Field& field : tensor.typed) {
    OWF_RETURN_IF_ERROR(for_each(field, [&](std::uint64_t value, std::uint64_t offset) {
      if (type.typed_field == kInt32Data) {
        // int32 fields are sign-extended to 64 bits on the wire and truncated when read.
        const std::int64_t number = static_cast<std::int32_t>(static_cast<std::uint32_t>(value));
        if (number < range.first || number > range.second) return out_of_range(std::to_string(number), offset);
        value = static_cast<std::uint64_t>(number);
      } else if (type.typed_field == kUint64Data && value > max_unsigned) {
        return out_of_range(std::to_string(value), offset);
      }
      store_width(bytes.data() + position, value, width);
      position += width;
      return Status();
    }));
  }
  if (odd_packed_count(info)) bytes.back() &= std::byte{0x0F};
  return bytes;
}

Result<std::uint64_t> parse_decimal(std::string_view text, std::string_view key) {
  std::uint64_t value = 0;
  const auto bad = [&] {
    return Status::corruption("external_data " + std::string(key) + " '" + std::string(text) +
                              "' is not a decimal number of bytes");
  };
  if (text.empty()) return bad();
  for (const char c : text) {
    if (c < '0' || c > '9') return bad();
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return bad();
    value = value * 10 + digit;
  }
  return value;
}

Result<ExternalData> parse_external(const TensorFields& tensor) {
  ExternalData external;
  for (const auto& [key, value] : tensor.external_data) {
    if (key == "location") {
      external.location = value;
    } else if (key == "offset") {
      OWF_ASSIGN_OR_RETURN(external.offset, parse_decimal(value, key));
    } else if (key == "length") {
      OWF_ASSIGN_OR_RETURN(external.length, parse_decimal(value, key));
    }
  }
  if (external.location.empty()) return Status::corruption("external_data has no location");
  return external;
}

// Turns the decoded fields into a tensor: type, shape and where its bytes are.
Result<TensorDecl> build_tensor(TensorFields tensor, std::string name) {
  if (tensor.has_segment) return Status::not_supported("segmented tensors (TensorProto.segment) are not supported");
  if (tensor.has_string_data) return Status::not_supported("string tensors are not supported");
  OWF_ASSIGN_OR_RETURN(const OnnxType* type, find_type(tensor.data_type));
  auto info = make_tensor_info(std::move(name), type->dtype, std::move(tensor.dims));
  if (!info.ok()) return Status::corruption(info.status().message());

  TensorDecl decl;
  decl.info = std::move(info).value();
  const bool inline_data = tensor.raw_data || !tensor.typed.empty();
  if (tensor.data_location == kLocationExternal) {
    if (inline_data) return Status::corruption("has both external_data and data in the file");
    OWF_ASSIGN_OR_RETURN(decl.external, parse_external(tensor));
    decl.field = "external_data";
    decl.storage = Storage::kExternal;
    decl.stored_size = decl.info.byte_size;
    return decl;
  }
  if (tensor.data_location != 0) {
    return Status::corruption("data_location " + std::to_string(tensor.data_location) +
                              " is neither DEFAULT (0) nor EXTERNAL (1)");
  }
  if (tensor.raw_data && !tensor.typed.empty()) {
    return Status::corruption("holds values in both raw_data and " +
                              std::string(typed_field_name(tensor.typed_number)));
  }
  if (tensor.raw_data) {
    const Field& raw = *tensor.raw_data;
    if (raw.payload.size() != decl.info.byte_size) {
      return Status::corruption("raw_data" + at(raw.offset) + " holds " + std::to_string(raw.payload.size()) +
                                " bytes, " + describe(*type, decl.info) + " needs " +
                                std::to_string(decl.info.byte_size));
    }
    decl.field = "raw_data";
    decl.storage = Storage::kModelFile;
    decl.offset = raw.offset;
    decl.stored_size = raw.payload.size();
    decl.clear_last_nibble = needs_nibble_clear(decl.info, raw.payload);
    return decl;
  }
  if (!tensor.typed.empty()) {
    if (tensor.typed_number != type->typed_field) {
      return Status::corruption(std::string(type->name) + " values belong in " +
                                std::string(typed_field_name(type->typed_field)) + ", not " +
                                std::string(typed_field_name(tensor.typed_number)));
    }
    decl.field = typed_field_name(type->typed_field);
    for (const Field& field : tensor.typed) decl.stored_size += protobuf::value_size(field);
    // A single packed float or double run is already little-endian IEEE: use it in place.
    const Field& first = tensor.typed.front();
    const bool fixed = type->typed_field == kFloatData || type->typed_field == kDoubleData;
    if (fixed && tensor.typed.size() == 1 && first.type == WireType::kLen &&
        first.payload.size() == decl.info.byte_size) {
      decl.storage = Storage::kModelFile;
      decl.offset = first.offset;
      return decl;
    }
    OWF_ASSIGN_OR_RETURN(decl.decoded, decode_typed(tensor, *type, decl.info));
    decl.storage = Storage::kDecoded;
    return decl;
  }
  if (decl.info.byte_size != 0) {
    return Status::corruption(describe(*type, decl.info) + " has no data (no raw_data, typed field or external_data)");
  }
  decl.field = "raw_data";
  decl.storage = Storage::kDecoded;
  return decl;
}

// The model-level facts kept in metadata.onnx.
struct ModelFacts {
  std::optional<std::int64_t> ir_version, model_version;
  std::optional<std::string> producer_name, producer_version, domain, doc_string, graph_name;
  std::vector<std::pair<std::string, std::int64_t>> opset_import;
  std::vector<std::pair<std::string, std::string>> metadata_props;  // keys unique, the last value kept
  std::unordered_map<std::string, std::size_t> prop_index;
  std::vector<std::string> skipped_sparse;  // names of sparse tensors, which owf does not hold

  void add_prop(std::pair<std::string, std::string> entry) {
    const auto [it, inserted] = prop_index.emplace(entry.first, metadata_props.size());
    if (inserted) {
      metadata_props.push_back(std::move(entry));
    } else {
      metadata_props[it->second].second = std::move(entry.second);
    }
  }

  std::string json() const {
    std::string out = "{\"onnx\":{";
    bool first = true;
    const auto key = [&](std::string_view name) {
      if (!first) out += ',';
      first = false;
      append_json_string(out, name);
      out += ':';
    };
    const auto number = [&](std::string_view name, const std::optional<std::int64_t>& value) {
      if (!value) return;
      key(name);
      out += std::to_string(*value);
    };
    const auto text = [&](std::string_view name, const std::optional<std::string>& value) {
      if (!value) return;
      key(name);
      append_json_string(out, *value);
    };
    number("ir_version", ir_version);
    text("producer_name", producer_name);
    text("producer_version", producer_version);
    text("domain", domain);
    number("model_version", model_version);
    text("doc_string", doc_string);
    text("graph_name", graph_name);
    key("opset_import");
    out += '[';
    for (std::size_t i = 0; i < opset_import.size(); ++i) {
      out += i ? ",{\"domain\":" : "{\"domain\":";
      append_json_string(out, opset_import[i].first);
      out += ",\"version\":" + std::to_string(opset_import[i].second) + "}";
    }
    out += ']';
    key("metadata_props");
    out += '{';
    for (std::size_t i = 0; i < metadata_props.size(); ++i) {
      if (i) out += ',';
      append_json_string(out, metadata_props[i].first);
      out += ':';
      append_json_string(out, metadata_props[i].second);
    }
    out += '}';
    if (!skipped_sparse.empty()) {
      key("skipped_sparse_tensors");
      out += '[';
      for (std::size_t i = 0; i < skipped_sparse.size(); ++i) {
        if (i) out += ',';
        append_json_string(out, skipped_sparse[i]);
      }
      out += ']';
    }
    return out + "}}";
  }
};

// Walks a ModelProto and every graph in it, collecting tensors.
class Decoder {
 public:
  Status model(MessageReader reader);
  ModelDecl finish() &&;

 private:
  Status opset(const MessageReader& parent, const Field& field);
  Status graph(MessageReader reader, bool main);
  Status node(MessageReader reader);
  Status sparse(const MessageReader& parent, const Field& field);
  Status constant(const MessageReader& parent, std::string_view output, std::string_view attribute,
                  const std::vector<Field>& fields);
  Status add(TensorFields tensor, std::string name);

  ModelFacts facts_;
  std::vector<TensorDecl> tensors_;
  std::unordered_set<std::string> names_;
};

Status Decoder::model(MessageReader reader) {
  const auto text = [](const Field& field, std::string_view what, std::optional<std::string>& out) -> Status {
    OWF_ASSIGN_OR_RETURN(const std::string_view value, string_field(field, what));
    out = std::string(value);
    return {};
  };
  while (!reader.at_end()) {
    OWF_ASSIGN_OR_RETURN(const Field field, reader.next());
    switch (field.number) {
      case 1: {
        OWF_ASSIGN_OR_RETURN(const std::uint64_t version, varint_field(field, "ModelProto.ir_version"));
        facts_.ir_version = static_cast<std::int64_t>(version);
        break;
      }
      case 2: OWF_RETURN_IF_ERROR(text(field, "ModelProto.producer_name", facts_.producer_name)); break;
      case 3: OWF_RETURN_IF_ERROR(text(field, "ModelProto.producer_version", facts_.producer_version)); break;
      case 4: OWF_RETURN_IF_ERROR(text(field, "ModelProto.domain", facts_.domain)); break;
      case 5: {
        OWF_ASSIGN_OR_RETURN(const std::uint64_t version, varint_field(field, "ModelProto.model_version"));
        facts_.model_version = static_cast<std::int64_t>(version);
        break;
      }
      case 6: OWF_RETURN_IF_ERROR(text(field, "ModelProto.doc_string", facts_.doc_string)); break;
      case 7: {
        OWF_ASSIGN_OR_RETURN(MessageReader graph_reader, reader.enter(field));
        OWF_RETURN_IF_ERROR(graph(graph_reader, true));
        break;
      }
      case 8: OWF_RETURN_IF_ERROR(opset(reader, field)); break;
      case 14: {
        OWF_ASSIGN_OR_RETURN(auto entry, parse_entry(reader, field));
        facts_.add_prop(std::move(entry));
        break;
      }
      default: break;
    }
  }
  return {};
}

// OperatorSetIdProto: 1 domain, 2 version.
Status Decoder::opset(const MessageReader& parent, const Field& field) {
  std::pair<std::string, std::int64_t> entry;
  OWF_RETURN_IF_ERROR(protobuf::for_each_field(parent, field, [&](const MessageReader&, const Field& item) -> Status {
    if (item.number == 1) {
      OWF_ASSIGN_OR_RETURN(entry.first, string_field(item, "OperatorSetIdProto.domain"));
    } else if (item.number == 2) {
      OWF_ASSIGN_OR_RETURN(const std::uint64_t version, varint_field(item, "OperatorSetIdProto.version"));
      entry.second = static_cast<std::int64_t>(version);
    }
    return {};
  }));
  facts_.opset_import.push_back(std::move(entry));
  return {};
}

// A graph's initializers come first, then its nodes' constants and subgraphs,
// so the weights lead in the model's tensor order.
Status Decoder::graph(MessageReader reader, bool main) {
  std::vector<Field> initializers, nodes;
  while (!reader.at_end()) {
    OWF_ASSIGN_OR_RETURN(const Field field, reader.next());
    switch (field.number) {
      case 1: nodes.push_back(field); break;
      case 2: {
        OWF_ASSIGN_OR_RETURN(const std::string_view name, string_field(field, "GraphProto.name"));
        if (main) facts_.graph_name = std::string(name);
        break;
      }
      case 5: initializers.push_back(field); break;
      case 15: OWF_RETURN_IF_ERROR(sparse(reader, field)); break;
      default: break;
    }
  }
  for (const Field& field : initializers) {
    OWF_ASSIGN_OR_RETURN(MessageReader tensor_reader, reader.enter(field));
    OWF_ASSIGN_OR_RETURN(TensorFields tensor, parse_tensor(tensor_reader));
    std::string name = tensor.name;
    OWF_RETURN_IF_ERROR(add(std::move(tensor), std::move(name)));
  }
  for (const Field& field : nodes) {
    OWF_ASSIGN_OR_RETURN(MessageReader node_reader, reader.enter(field));
    OWF_RETURN_IF_ERROR(node(node_reader));
  }
  return {};
}

// SparseTensorProto: 1 values (a TensorProto whose name is the tensor's).
// owf holds dense tensors only, so sparse ones are listed in the metadata.
Status Decoder::sparse(const MessageReader& parent, const Field& field) {
  std::string name;
  OWF_RETURN_IF_ERROR(
      protobuf::for_each_field(parent, field, [&](const MessageReader& message, const Field& item) -> Status {
        if (item.number != 1) return {};
        OWF_ASSIGN_OR_RETURN(MessageReader values, message.enter(item));
        OWF_ASSIGN_OR_RETURN(const TensorFields tensor, parse_tensor(values));
        name = tensor.name;
        return {};
      }));
  facts_.skipped_sparse.push_back(std::move(name));
  return {};
}

// The fields of one AttributeProto that matter here.
struct AttributeFields {
  std::string_view name;
  std::vector<Field> values;  // f (2), i (3), t (5), floats (7), ints (8), in wire order
  std::vector<Field> graphs;  // g (6) and graphs (11)
  bool has_strings = false;   // s (4), strings (9)
  bool has_sparse = false;    // sparse_tensor (22)
};

Result<AttributeFields> parse_attribute(MessageReader reader) {
  AttributeFields attribute;
  while (!reader.at_end()) {
    OWF_ASSIGN_OR_RETURN(const Field field, reader.next());
    switch (field.number) {
      case 1: {
        OWF_ASSIGN_OR_RETURN(attribute.name, string_field(field, "AttributeProto.name"));
        break;
      }
      case 2:
      case 3:
      case 5:
      case 7:
      case 8: attribute.values.push_back(field); break;
      case 4:
      case 9: attribute.has_strings = true; break;
      case 6:
      case 11: attribute.graphs.push_back(field); break;
      case 22: attribute.has_sparse = true; break;
      default: break;
    }
  }
  return attribute;
}

Status Decoder::node(MessageReader reader) {
  const std::uint64_t node_offset = reader.offset();
  std::vector<std::string_view> outputs;
  std::string_view op_type, domain;
  std::vector<Field> attributes;
  while (!reader.at_end()) {
    OWF_ASSIGN_OR_RETURN(const Field field, reader.next());
    switch (field.number) {
      case 2: {
        OWF_ASSIGN_OR_RETURN(const std::string_view output, string_field(field, "NodeProto.output"));
        outputs.push_back(output);
        break;
      }
      case 4: {
        OWF_ASSIGN_OR_RETURN(op_type, string_field(field, "NodeProto.op_type"));
        break;
      }
      case 5: attributes.push_back(field); break;
      case 7: {
        OWF_ASSIGN_OR_RETURN(domain, string_field(field, "NodeProto.domain"));
        break;
      }
      default: break;
    }
  }
  const bool is_constant = op_type == "Constant" && (domain.empty() || domain == "ai.onnx");
  if (is_constant && outputs.empty()) return Status::corruption("Constant node" + at(node_offset) + " has no output");
  for (const Field& field : attributes) {
    OWF_ASSIGN_OR_RETURN(MessageReader attribute_reader, reader.enter(field));
    OWF_ASSIGN_OR_RETURN(const AttributeFields attribute, parse_attribute(attribute_reader));
    for (const Field& graph_field : attribute.graphs) {
      OWF_ASSIGN_OR_RETURN(MessageReader graph_reader, attribute_reader.enter(graph_field));
      OWF_RETURN_IF_ERROR(graph(graph_reader, false));
    }
    if (!is_constant) continue;
    if (attribute.has_strings) {
      return Status::not_supported("tensor " + quote(outputs.front()) + ": string tensors are not supported");
    }
    if (attribute.has_sparse) {
      facts_.skipped_sparse.emplace_back(outputs.front());
      continue;
    }
    OWF_RETURN_IF_ERROR(constant(attribute_reader, outputs.front(), attribute.name, attribute.values));
  }
  return {};
}

// A Constant node's value: `value` is a TensorProto; value_float(s) and
// value_int(s) are FLOAT and INT64 scalars or lists, built as if they were
// TensorProtos holding float_data or int64_data.
Status Decoder::constant(const MessageReader& parent, std::string_view output, std::string_view attribute,
                         const std::vector<Field>& fields) {
  std::string name(output);
  if (attribute == "value") {
    for (const Field& field : fields) {
      if (field.number != 5) continue;
      OWF_ASSIGN_OR_RETURN(MessageReader tensor_reader, parent.enter(field));
      OWF_ASSIGN_OR_RETURN(TensorFields tensor, parse_tensor(tensor_reader));
      return add(std::move(tensor), std::move(name));
    }
    return Status::corruption("tensor " + quote(name) + ": Constant attribute 'value'" + at(parent.offset()) +
                              " holds no tensor");
  }
  const bool is_float = attribute == "value_float" || attribute == "value_floats";
  const bool is_list = attribute == "value_floats" || attribute == "value_ints";
  if (!is_float && attribute != "value_int" && attribute != "value_ints") return {};
  const std::uint32_t wanted = is_float ? (is_list ? 7 : 2) : (is_list ? 8 : 3);
  TensorFields tensor;
  tensor.offset = parent.offset();
  tensor.data_type = is_float ? 1 : 7;  // FLOAT, INT64
  std::uint64_t count = 0;
  for (Field field : fields) {
    if (field.number != wanted) continue;
    field.number = is_float ? kFloatData : kInt64Data;
    const auto counter = [&](std::uint64_t, std::uint64_t) {
      ++count;
      return Status();
    };
    OWF_RETURN_IF_ERROR((is_float ? protobuf::for_each_fixed32 : protobuf::for_each_varint)(field, counter)
                            .with_context("tensor " + quote(name)));
    OWF_RETURN_IF_ERROR(tensor.add_typed(field));
  }
  if (is_list) tensor.dims.push_back(count);
  return add(std::move(tensor), std::move(name));
}

Status Decoder::add(TensorFields tensor, std::string name) {
  OWF_RETURN_IF_ERROR(check_tensor_count(tensors_.size() + 1, "the model"));
  if (!names_.insert(name).second) {
    return Status::corruption("tensor " + quote(name) + at(tensor.offset) + ": the name is used by an earlier tensor");
  }
  auto decl = build_tensor(std::move(tensor), name);
  if (!decl.ok()) return decl.status().with_context("tensor " + quote(name));
  tensors_.push_back(std::move(decl).value());
  return {};
}

ModelDecl Decoder::finish() && {
  ModelDecl model;
  model.tensors = std::move(tensors_);
  model.metadata_json = facts_.json();
  model.ir_version = facts_.ir_version.value_or(0);
  return model;
}

// The ModelProto fields and the wire type each must have.
std::optional<WireType> model_field_type(std::uint64_t number) {
  switch (number) {
    case 1:
    case 5: return WireType::kVarint;
    case 2:
    case 3:
    case 4:
    case 6:
    case 7:
    case 8:
    case 14:
    case 20:
    case 25:
    case 26: return WireType::kLen;
  }
  return std::nullopt;
}

}  // namespace

bool odd_packed_count(const TensorInfo& info) {
  return dtype_info(info.dtype).block_elements == 2 && info.byte_size * 2 != element_count(info.shape).value();
}

bool needs_nibble_clear(const TensorInfo& info, std::span<const std::byte> stored) {
  return odd_packed_count(info) && !stored.empty() && (stored.back() & std::byte{0xF0}) != std::byte{0};
}

Result<ModelDecl> decode_model(std::span<const std::byte> bytes, std::string_view display_name) {
  Decoder decoder;
  if (Status status = decoder.model(MessageReader(bytes, 0)); !status.ok()) return status.with_context(display_name);
  return std::move(decoder).finish();
}

bool looks_like_model(std::span<const std::byte> head, bool require_ir_version) {
  ByteCursor cursor(head);
  bool any = false;
  while (!cursor.at_end()) {
    const auto tag = protobuf::read_varint(cursor, "tag");
    if (!tag.ok()) return false;
    const auto expected = model_field_type(*tag >> 3);
    if (!expected || static_cast<std::uint64_t>(*expected) != (*tag & 7)) return false;
    const auto value = protobuf::read_varint(cursor, "value");  // the varint, or the LEN length
    if (!value.ok()) return false;
    const bool is_ir_version = *tag >> 3 == 1 && *value >= 1 && *value <= 255;
    if (!any && require_ir_version && !is_ir_version) return false;
    any = true;
    // A LEN field may run past the head: the fields before it decide.
    if (*expected == WireType::kLen && !cursor.skip(*value, "payload").ok()) return true;
  }
  return any;
}

}  // namespace owf::formats::onnx
