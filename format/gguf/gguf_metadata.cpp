#include "gguf/gguf_metadata.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_set>

#include "owf/text.h"

namespace owf::formats::gguf {
namespace {

// ordered_json keeps keys in insertion order, so the metadata reads in the order it was built.
using Json = nlohmann::ordered_json;

constexpr std::string_view kSection = "gguf";
constexpr std::uint32_t kCanonicalNan32 = 0x7fc00000u;
constexpr std::uint64_t kCanonicalNan64 = 0x7ff8000000000000ull;

// The general.* keys behind owf's standard keys (llama.cpp's names).
constexpr std::string_view kArchitectureKey = "general.architecture";
constexpr std::string_view kLicenseKey = "general.license";
constexpr std::string_view kSourceUrlKey = "general.source.url";
constexpr std::string_view kBaseModelCountKey = "general.base_model.count";

std::string base_model_name_key(std::uint64_t index) { return "general.base_model." + std::to_string(index) + ".name"; }

std::optional<std::uint64_t> parse_hex_u64(std::string_view hex) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(hex.data(), hex.data() + hex.size(), value, 16);
  if (error != std::errc() || end != hex.data() + hex.size() || hex.empty()) return std::nullopt;
  return value;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string bytes;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const auto byte = parse_hex_u64(hex.substr(i, 2));
    if (!byte) return std::nullopt;
    bytes += static_cast<char>(*byte);
  }
  return bytes;
}

// ---- GGUF scalar -> JSON ----------------------------------------------------------------------

bool is_signed_integer(ValueType type) {
  return type == ValueType::kI8 || type == ValueType::kI16 || type == ValueType::kI32 || type == ValueType::kI64;
}

bool is_float(ValueType type) { return type == ValueType::kF32 || type == ValueType::kF64; }

std::int64_t sign_extend(std::uint64_t bits, std::size_t bytes) {
  const unsigned shift = 64 - 8 * static_cast<unsigned>(bytes);
  return static_cast<std::int64_t>(bits << shift) >> shift;
}

Json nan_to_json(std::uint64_t bits, std::uint64_t canonical, std::size_t bytes) {
  if (bits == canonical) return "nan";
  std::string big_endian;
  for (std::size_t i = bytes; i-- > 0;) big_endian += static_cast<char>(bits >> (8 * i));
  return "nan:0x" + to_hex(big_endian);
}

// f32 as the shortest decimal that reads back as the same float. That decimal is carried as the
// double nearest to it, which JSON prints exactly; should the double not round back to the float
// (double rounding), the float's exact double value is used instead.
Json f32_to_json(std::uint32_t bits) {
  const float value = std::bit_cast<float>(bits);
  if (std::isnan(value)) return nan_to_json(bits, kCanonicalNan32, 4);
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char text[32];
  const auto printed = std::to_chars(text, text + sizeof text, value);
  double shortest = 0;
  std::from_chars(text, printed.ptr, shortest);
  if (std::bit_cast<std::uint32_t>(static_cast<float>(shortest)) == bits) return shortest;
  return static_cast<double>(value);
}

Json f64_to_json(std::uint64_t bits) {
  const double value = std::bit_cast<double>(bits);
  if (std::isnan(value)) return nan_to_json(bits, kCanonicalNan64, 8);
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return value;
}

Json element_to_json(const KeyValue& kv, std::size_t index) {
  const ValueType type = kv.value_type();
  if (type == ValueType::kString) {
    const std::string& text = kv.strings[index];
    if (is_valid_utf8(text)) return text;
    return Json{{"hex", to_hex(text)}};
  }
  const std::uint64_t bits = kv.numbers[index];
  switch (type) {
    case ValueType::kBool: return bits != 0;
    case ValueType::kF32: return f32_to_json(static_cast<std::uint32_t>(bits));
    case ValueType::kF64: return f64_to_json(bits);
    default:
      if (is_signed_integer(type)) return sign_extend(bits, value_size(type));
      return bits;
  }
}

Json kv_to_json(const KeyValue& kv) {
  Json entry = {{"key", kv.key}, {"type", value_type_name(kv.type)}};
  if (kv.type != ValueType::kArray) {
    entry["value"] = element_to_json(kv, 0);
    return entry;
  }
  entry["element_type"] = value_type_name(kv.element_type);
  Json values = Json::array();
  for (std::size_t i = 0; i < kv.size(); ++i) values.push_back(element_to_json(kv, i));
  entry["value"] = std::move(values);
  return entry;
}

// ---- JSON -> GGUF scalar ----------------------------------------------------------------------
// Scalar decoders say what is wrong; their callers put the JSON path in front, only on failure,
// as they run once per array element.

Status json_error(const std::string& path, const std::string& problem) {
  return Status::invalid_argument("metadata." + path + ": " + problem);
}

Result<std::uint64_t> integer_bits(const Json& value, ValueType type) {
  const std::size_t bytes = value_size(type);
  const std::uint64_t mask = bytes == 8 ? ~0ull : (1ull << (8 * bytes)) - 1;
  const std::string type_name(value_type_name(type));
  if (!value.is_number_integer()) return Status::invalid_argument("expected an integer for type " + type_name);
  if (value.is_number_unsigned()) {
    const auto number = value.get<std::uint64_t>();
    const std::uint64_t max = is_signed_integer(type) ? mask >> 1 : mask;
    if (number > max) return Status::invalid_argument(std::to_string(number) + " does not fit " + type_name);
    return number;
  }
  const auto number = value.get<std::int64_t>();
  const std::int64_t min =
      bytes == 8 ? std::numeric_limits<std::int64_t>::min() : -(std::int64_t{1} << (8 * bytes - 1));
  if (!is_signed_integer(type) || number < min) {
    return Status::invalid_argument(std::to_string(number) + " does not fit " + type_name);
  }
  return static_cast<std::uint64_t>(number) & mask;
}

Result<std::uint64_t> non_finite_bits(std::string_view text, ValueType type) {
  const bool is32 = type == ValueType::kF32;
  if (text == "inf" || text == "-inf") {
    const double infinity = (text[0] == '-' ? -1 : 1) * std::numeric_limits<double>::infinity();
    if (is32) return std::bit_cast<std::uint32_t>(static_cast<float>(infinity));
    return std::bit_cast<std::uint64_t>(infinity);
  }
  if (text == "nan") return is32 ? kCanonicalNan32 : kCanonicalNan64;
  constexpr std::string_view kNanPrefix = "nan:0x";
  if (text.starts_with(kNanPrefix)) {
    if (const auto bits = parse_hex_u64(text.substr(kNanPrefix.size()))) {
      const bool is_nan =
          is32 ? *bits <= 0xFFFFFFFFull && std::isnan(std::bit_cast<float>(static_cast<std::uint32_t>(*bits)))
               : std::isnan(std::bit_cast<double>(*bits));
      if (is_nan) return *bits;
    }
  }
  return Status::invalid_argument("'" + std::string(text) +
                                  "' is not a number, \"inf\", \"-inf\", \"nan\" or \"nan:0x<bits>\"");
}

Result<std::uint64_t> float_bits(const Json& value, ValueType type) {
  if (value.is_string()) return non_finite_bits(value.get_ref<const std::string&>(), type);
  if (!value.is_number()) {
    return Status::invalid_argument("expected a number for type " + std::string(value_type_name(type)));
  }
  const double number = value.get<double>();
  if (type == ValueType::kF64) return std::bit_cast<std::uint64_t>(number);
  // Doubles from FLT_MAX up to half an ulp above it round to FLT_MAX; beyond that f32 overflows.
  const double overflow = std::ldexp(1.0, 128) - std::ldexp(1.0, 103);
  if (std::fabs(number) >= overflow) return Status::invalid_argument(value.dump() + " does not fit f32");
  constexpr float kMax = std::numeric_limits<float>::max();
  const float rounded = std::fabs(number) > kMax ? (number > 0 ? kMax : -kMax) : static_cast<float>(number);
  return std::bit_cast<std::uint32_t>(rounded);
}

// Appends one JSON value as an element of kv.value_type() to kv.numbers or kv.strings.
Status add_element_from_json(const Json& value, KeyValue& kv) {
  const ValueType type = kv.value_type();
  if (type == ValueType::kString) {
    if (value.is_string()) {
      kv.strings.push_back(value.get<std::string>());
      return {};
    }
    if (value.is_object() && value.size() == 1 && value.contains("hex") && value["hex"].is_string()) {
      if (auto bytes = from_hex(value["hex"].get_ref<const std::string&>())) {
        kv.strings.push_back(std::move(*bytes));
        return {};
      }
    }
    return Status::invalid_argument("expected a string or {\"hex\": \"<even number of hex digits>\"}");
  }
  if (type == ValueType::kBool) {
    if (!value.is_boolean()) return Status::invalid_argument("expected true or false");
    kv.numbers.push_back(value.get<bool>() ? 1 : 0);
    return {};
  }
  OWF_ASSIGN_OR_RETURN(const std::uint64_t bits, is_float(type) ? float_bits(value, type) : integer_bits(value, type));
  kv.numbers.push_back(bits);
  return {};
}

Result<ValueType> type_from_json(const Json& entry, const char* field, const std::string& path) {
  const auto it = entry.find(field);
  if (it == entry.end() || !it->is_string()) return json_error(path + "." + field, "missing or not a string");
  const auto type = value_type_from_name(it->get_ref<const std::string&>());
  if (!type) return json_error(path + "." + field, "unknown GGUF type '" + it->get<std::string>() + "'");
  return *type;
}

Result<KeyValue> kv_from_json(const Json& entry, const std::string& path) {
  if (!entry.is_object()) return json_error(path, "expected an object {\"key\", \"type\", \"value\"}");
  KeyValue kv;
  const auto key = entry.find("key");
  if (key == entry.end() || !key->is_string()) return json_error(path + ".key", "missing or not a string");
  kv.key = key->get<std::string>();
  if (kv.key.size() > kMaxKeyBytes) {
    return json_error(path + ".key", "is " + std::to_string(kv.key.size()) + " bytes; GGUF keys are at most " +
                                         std::to_string(kMaxKeyBytes));
  }
  const std::string where = path + " (" + quote(kv.key) + ")";
  OWF_ASSIGN_OR_RETURN(kv.type, type_from_json(entry, "type", where));
  const auto value = entry.find("value");
  if (value == entry.end()) return json_error(where + ".value", "missing");
  if (kv.type != ValueType::kArray) {
    if (Status status = add_element_from_json(*value, kv); !status.ok()) {
      return status.with_context("metadata." + where + ".value");
    }
    return kv;
  }
  OWF_ASSIGN_OR_RETURN(kv.element_type, type_from_json(entry, "element_type", where));
  if (kv.element_type == ValueType::kArray) {
    return Status::not_supported("metadata." + where + ": nested arrays are not supported");
  }
  if (!value->is_array()) return json_error(where + ".value", "expected an array");
  for (std::size_t i = 0; i < value->size(); ++i) {
    if (Status status = add_element_from_json((*value)[i], kv); !status.ok()) {
      return status.with_context("metadata." + where + ".value[" + std::to_string(i) + "]");
    }
  }
  return kv;
}

// ---- standard keys ----------------------------------------------------------------------------

const KeyValue* find_kv(const std::vector<KeyValue>& kvs, std::string_view key) {
  for (const KeyValue& kv : kvs) {
    if (kv.key == key) return &kv;
  }
  return nullptr;
}

std::optional<std::string> string_kv(const std::vector<KeyValue>& kvs, std::string_view key) {
  const KeyValue* kv = find_kv(kvs, key);
  if (kv == nullptr || kv->type != ValueType::kString || !is_valid_utf8(kv->strings[0])) return std::nullopt;
  return kv->strings[0];
}

// provenance.source.url from general.source.url. general.base_model.* stay in the key-values
// only: owf parents are identified by content digest (metadata.schema.json), which GGUF lacks.
Json provenance_from_kvs(const std::vector<KeyValue>& kvs) {
  Json provenance = Json::object();
  if (auto url = string_kv(kvs, kSourceUrlKey)) provenance["source"] = {{"url", *url}};
  return provenance;
}

// Sets `key` to the string `text` unless it already holds exactly that: in place, keeping the
// pair's position, or appended when absent.
void set_string_kv(std::vector<KeyValue>& kvs, std::string_view key, std::string text) {
  for (KeyValue& kv : kvs) {
    if (kv.key != key) continue;
    if (kv.type != ValueType::kString || kv.strings[0] != text)
      kv = string_key_value(std::string(key), std::move(text));
    return;
  }
  kvs.push_back(string_key_value(std::string(key), std::move(text)));
}

std::optional<std::string> json_string_at(const Json& object, std::initializer_list<const char*> path) {
  const Json* node = &object;
  for (const char* field : path) {
    if (!node->is_object()) return std::nullopt;
    const auto it = node->find(field);
    if (it == node->end()) return std::nullopt;
    node = &*it;
  }
  if (!node->is_string()) return std::nullopt;
  return node->get<std::string>();
}

// architecture, license and provenance.source.url -> general.*, both for GGUF-born metadata
// (overriding what differs) and for other models (creating the keys).
void apply_standard_keys(const Json& metadata, std::vector<KeyValue>& kvs) {
  if (auto architecture = json_string_at(metadata, {"architecture"})) {
    set_string_kv(kvs, kArchitectureKey, std::move(*architecture));
  }
  if (auto license = json_string_at(metadata, {"license"})) set_string_kv(kvs, kLicenseKey, std::move(*license));
  if (auto url = json_string_at(metadata, {"provenance", "source", "url"})) {
    set_string_kv(kvs, kSourceUrlKey, std::move(*url));
  }
}

// provenance.parents -> general.base_model.count and general.base_model.{i}.name, for models not
// born GGUF (in a GGUF-born model the parents owf records are the files it was converted from,
// while its general.base_model.* keys are already in the key-values). Parents without a name
// are left out, so the indices stay contiguous.
void apply_parents(const Json& metadata, std::vector<KeyValue>& kvs) {
  const auto provenance = metadata.find("provenance");
  if (provenance == metadata.end() || !provenance->is_object()) return;
  const auto parents = provenance->find("parents");
  if (parents == provenance->end() || !parents->is_array()) return;
  std::vector<KeyValue> names;
  for (const Json& parent : *parents) {
    if (auto name = json_string_at(parent, {"name"})) {
      names.push_back(string_key_value(base_model_name_key(names.size()), std::move(*name)));
    }
  }
  if (names.empty()) return;
  kvs.push_back(u32_key_value(std::string(kBaseModelCountKey), static_cast<std::uint32_t>(names.size())));
  kvs.insert(kvs.end(), std::make_move_iterator(names.begin()), std::make_move_iterator(names.end()));
}

Result<FileLayout> layout_from_section(const Json& section) {
  const std::string path(kSection);
  if (!section.is_object()) return json_error(path, "expected an object");
  FileLayout layout;
  const auto kv_list = section.find("kv");
  if (kv_list == section.end() || !kv_list->is_array()) return json_error(path + ".kv", "missing or not an array");
  std::unordered_set<std::string> keys;
  for (std::size_t i = 0; i < kv_list->size(); ++i) {
    const std::string entry_path = path + ".kv[" + std::to_string(i) + "]";
    OWF_ASSIGN_OR_RETURN(KeyValue kv, kv_from_json((*kv_list)[i], entry_path));
    if (!keys.insert(kv.key).second) return json_error(entry_path, "duplicate key " + quote(kv.key));
    layout.kvs.push_back(std::move(kv));
  }
  const auto padding = section.find("tail_padding");
  if (padding != section.end()) {
    if (!padding->is_boolean()) return json_error(path + ".tail_padding", "expected true or false");
    layout.tail_padding = padding->get<bool>();
  }
  return layout;
}

Result<FileLayout> layout_from_owf(std::string_view metadata_json) {
  const Json metadata = Json::parse(metadata_json);
  if (!metadata.is_object()) return Status::invalid_argument("metadata: expected a JSON object");
  FileLayout layout;
  const auto section = metadata.find(kSection);
  const bool gguf_born = section != metadata.end();
  if (gguf_born) {
    OWF_ASSIGN_OR_RETURN(layout, layout_from_section(*section));
  }
  apply_standard_keys(metadata, layout.kvs);
  if (!gguf_born) apply_parents(metadata, layout.kvs);
  OWF_ASSIGN_OR_RETURN(layout.alignment, alignment_of(layout.kvs));
  if (gguf_born) {
    const auto stated = section->find("alignment");
    if (stated != section->end() &&
        (!stated->is_number_unsigned() || stated->get<std::uint64_t>() != layout.alignment)) {
      return json_error(std::string(kSection) + ".alignment", stated->dump() + " disagrees with general.alignment (" +
                                                                  std::to_string(layout.alignment) + ")");
    }
  }
  return layout;
}

// ---- key edits --------------------------------------------------------------------------------

Result<ValueType> inferred_type(const Json& value, const std::string& key) {
  if (value.is_string()) return ValueType::kString;
  if (value.is_boolean()) return ValueType::kBool;
  if (value.is_number_float()) return ValueType::kF32;
  if (value.is_number_unsigned()) {
    return value.get<std::uint64_t>() <= UINT32_MAX ? ValueType::kU32 : ValueType::kU64;
  }
  if (value.is_number_integer()) {
    const auto number = value.get<std::int64_t>();
    return number >= INT32_MIN && number <= INT32_MAX ? ValueType::kI32 : ValueType::kI64;
  }
  return Status::invalid_argument("key " + quote(key) + ": cannot tell a GGUF type from " + value.dump() +
                                  " (give --type)");
}

Result<ValueType> named_type(std::string_view name, const std::string& key) {
  if (name == "str") return ValueType::kString;
  const auto type = value_type_from_name(name);
  if (!type || *type == ValueType::kArray) {
    return Status::invalid_argument("key " + quote(key) + ": unknown GGUF type '" + std::string(name) +
                                    "' (u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 bool str)");
  }
  return *type;
}

// The key-value `edit` asks for; `existing` is the pair it replaces, if any.
Result<KeyValue> edited_kv(const KeyEdit& edit, const KeyValue* existing) {
  Json value;
  try {
    value = Json::parse(*edit.value);
  } catch (const std::exception&) {
    value = *edit.value;  // plain text: a string
  }
  KeyValue kv;
  kv.key = edit.key;
  ValueType element = ValueType::kString;
  const bool array = value.is_array();
  if (!edit.type.empty()) {
    OWF_ASSIGN_OR_RETURN(element, named_type(edit.type, edit.key));
  } else if (existing != nullptr && (existing->type == ValueType::kArray) == array) {
    element = existing->value_type();
    // A string key given plain text that happened to parse as JSON (a number, true) stays a string.
    if (element == ValueType::kString && !value.is_string() && !array) value = *edit.value;
  } else if (array) {
    if (value.empty()) return Status::invalid_argument("key " + quote(edit.key) + ": an empty array needs --type");
    OWF_ASSIGN_OR_RETURN(element, inferred_type(value[0], edit.key));
  } else {
    OWF_ASSIGN_OR_RETURN(element, inferred_type(value, edit.key));
  }
  if (element == ValueType::kString && !array && !value.is_string()) value = *edit.value;
  kv.type = array ? ValueType::kArray : element;
  kv.element_type = array ? element : ValueType::kU8;
  const std::string where = "key " + quote(edit.key) + " (" + std::string(value_type_name(element)) + ")";
  if (!array) {
    OWF_RETURN_IF_ERROR(add_element_from_json(value, kv).with_context(where));
    return kv;
  }
  for (const Json& item : value) OWF_RETURN_IF_ERROR(add_element_from_json(item, kv).with_context(where));
  return kv;
}

Json section_json(const FileLayout& layout) {
  Json kvs = Json::array();
  for (const KeyValue& kv : layout.kvs) kvs.push_back(kv_to_json(kv));
  return {{"version", layout.version},
          {"alignment", layout.alignment},
          {"tail_padding", layout.tail_padding},
          {"kv", std::move(kvs)}};
}

}  // namespace

Result<std::string> edit_gguf_keys(std::string_view metadata_json, std::span<const KeyEdit> edits) {
  try {
    Json metadata = Json::parse(metadata_json);
    OWF_ASSIGN_OR_RETURN(FileLayout layout, layout_from_owf(metadata_json));
    for (const KeyEdit& edit : edits) {
      const auto it =
          std::find_if(layout.kvs.begin(), layout.kvs.end(), [&](const KeyValue& kv) { return kv.key == edit.key; });
      if (!edit.value) {
        if (it == layout.kvs.end()) return Status::not_found("key " + quote(edit.key) + " not found");
        layout.kvs.erase(it);
        continue;
      }
      if (edit.key.empty() || edit.key.size() > kMaxKeyBytes || !is_valid_utf8(edit.key)) {
        return Status::invalid_argument("key " + quote(edit.key) + ": not a valid GGUF key");
      }
      OWF_ASSIGN_OR_RETURN(KeyValue kv, edited_kv(edit, it == layout.kvs.end() ? nullptr : &*it));
      if (it == layout.kvs.end()) {
        layout.kvs.push_back(std::move(kv));
      } else {
        *it = std::move(kv);
      }
    }
    OWF_ASSIGN_OR_RETURN(layout.alignment, alignment_of(layout.kvs));
    // The standard keys follow the edited key-values, so the writer does not undo an edit.
    const auto set_or_erase = [&](const char* owf_key, std::string_view gguf_key) {
      const auto value = string_kv(layout.kvs, gguf_key);
      if (value) {
        metadata[owf_key] = *value;
      } else {
        metadata.erase(owf_key);
      }
    };
    set_or_erase("architecture", kArchitectureKey);
    set_or_erase("license", kLicenseKey);
    if (metadata.contains("provenance") && metadata["provenance"].is_object()) {
      Json& provenance = metadata["provenance"];
      if (const auto url = string_kv(layout.kvs, kSourceUrlKey)) {
        provenance["source"]["url"] = *url;
      } else if (provenance.contains("source") && provenance["source"].is_object()) {
        provenance["source"].erase("url");
      }
    }
    metadata[kSection] = section_json(layout);
    return metadata.dump();
  } catch (const std::exception& error) {
    return Status::invalid_argument(std::string("metadata: ") + error.what());
  }
}

Result<std::optional<std::string>> gguf_key(std::string_view metadata_json, std::string_view key) {
  try {
    OWF_ASSIGN_OR_RETURN(const FileLayout layout, layout_from_owf(metadata_json));
    const KeyValue* kv = find_kv(layout.kvs, key);
    if (kv == nullptr) return std::optional<std::string>();
    return std::optional<std::string>(kv_to_json(*kv)["value"].dump());
  } catch (const std::exception& error) {
    return Status::invalid_argument(std::string("metadata: ") + error.what());
  }
}

Result<std::uint32_t> alignment_of(const std::vector<KeyValue>& kvs) {
  const KeyValue* kv = find_kv(kvs, kAlignmentKey);
  if (kv == nullptr) return kDefaultAlignment;
  const std::string where =
      "key " + quote(kv->key) + (kv->file_offset != 0 ? " at offset " + std::to_string(kv->file_offset) : "");
  if (kv->type != ValueType::kU32) {
    return Status::corruption(where + ": type " + std::string(value_type_name(kv->type)) + ", GGUF requires u32");
  }
  const std::uint64_t alignment = kv->numbers[0];
  if (!std::has_single_bit(alignment)) {
    return Status::corruption(where + ": alignment " + std::to_string(alignment) + " is not a power of two");
  }
  return static_cast<std::uint32_t>(alignment);
}

Result<std::string> owf_metadata_from_gguf(const FileLayout& layout) {
  Json metadata = Json::object();
  if (auto architecture = string_kv(layout.kvs, kArchitectureKey)) metadata["architecture"] = *architecture;
  if (auto license = string_kv(layout.kvs, kLicenseKey)) metadata["license"] = *license;
  Json provenance = provenance_from_kvs(layout.kvs);
  if (!provenance.empty()) metadata["provenance"] = std::move(provenance);
  Json kvs = Json::array();
  for (const KeyValue& kv : layout.kvs) {
    if (!is_valid_utf8(kv.key)) {
      return Status::not_supported("key at offset " + std::to_string(kv.file_offset) + " is not valid UTF-8");
    }
    kvs.push_back(kv_to_json(kv));
  }
  metadata[kSection] = {{"version", layout.version},
                        {"alignment", layout.alignment},
                        {"tail_padding", layout.tail_padding},
                        {"kv", std::move(kvs)}};
  try {
    return metadata.dump();
  } catch (const std::exception& error) {
    return Status::corruption(std::string("metadata: ") + error.what());
  }
}

Result<FileLayout> gguf_layout_from_owf(std::string_view metadata_json) {
  try {
    return layout_from_owf(metadata_json);
  } catch (const std::exception& error) {
    return Status::invalid_argument(std::string("metadata: ") + error.what());
  }
}

}  // namespace owf::formats::gguf
