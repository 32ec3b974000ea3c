#include "pytorch/metadata_json.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "owf/metadata.h"
#include "owf/text.h"

namespace owf::formats::pytorch {
namespace {

// Ordered, so values keep the checkpoint's key order.
using json = nlohmann::ordered_json;

// Room for {"pytorch": {"values": {path: ...}}} inside owf's depth limit.
constexpr std::size_t kMaxValueDepth = kMaxJsonDepth - 4;
// Memo sharing can make a small pickle describe an enormous tree.
constexpr std::size_t kMaxJsonNodes = std::size_t{1} << 20;

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (const unsigned char byte : bytes) {
    hex += kDigits[byte >> 4];
    hex += kDigits[byte & 15];
  }
  return hex;
}

// JSON object keys are strings: Python keys of other types get their text form.
std::string key_text(const Value& key) {
  switch (key.kind) {
    case ValueKind::kString: return key.text;
    case ValueKind::kInt: return std::to_string(key.integer);
    case ValueKind::kBool: return key.integer ? "True" : "False";
    case ValueKind::kNone: return "None";
    default: return "<" + std::string(kind_name(key.kind)) + ">";
  }
}

class JsonBuilder {
 public:
  json convert(const Value& value, std::size_t depth) {
    if (depth > kMaxValueDepth) return "<nested deeper than " + std::to_string(kMaxValueDepth) + " levels>";
    if (++nodes_ > kMaxJsonNodes) return "<truncated>";
    switch (value.kind) {
      case ValueKind::kNone: return nullptr;
      case ValueKind::kBool: return value.integer != 0;
      case ValueKind::kInt: return value.integer;
      case ValueKind::kFloat:
        if (std::isnan(value.number)) return "nan";
        if (std::isinf(value.number)) return value.number > 0 ? "inf" : "-inf";
        return value.number;
      case ValueKind::kString:
      case ValueKind::kDType: return value.text;
      case ValueKind::kBytes: return json{{"$bytes", to_hex(value.text)}};
      case ValueKind::kTuple:
      case ValueKind::kList:
      case ValueKind::kSet: {
        json array = json::array();
        for (const Value* item : value.items) array.push_back(convert(*item, depth + 1));
        return array;
      }
      case ValueKind::kDict: {
        json object = json::object();
        for (const auto& [key, item] : value.entries) object[key_text(*key)] = convert(*item, depth + 1);
        return object;
      }
      case ValueKind::kCallable: return "<" + value.text + ">";
      case ValueKind::kStorage: return "<storage " + value.storage->key + ">";
      case ValueKind::kTensor: return "<tensor>";
    }
    return nullptr;
  }

 private:
  std::size_t nodes_ = 0;
};

}  // namespace

std::string checkpoint_metadata(const Flattened& checkpoint) {
  json section = json::object();
  if (!checkpoint.values.empty()) {
    JsonBuilder builder;
    json values = json::object();
    for (const auto& [path, value] : checkpoint.values) values[path] = builder.convert(*value, 0);
    section["values"] = std::move(values);
  }
  if (!checkpoint.tied.empty()) {
    json tied = json::object();
    for (const auto& [name, first] : checkpoint.tied) tied[name] = first;
    section["tied"] = std::move(tied);
  }
  if (section.empty()) return "{}";
  // Strings were checked to be UTF-8 when unpickled; replace guards the rest.
  return json{{"pytorch", std::move(section)}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::vector<std::pair<std::string, std::string>>> tied_names(std::string_view metadata_json) {
  std::vector<std::pair<std::string, std::string>> tied;
  if (metadata_json.empty()) return tied;
  const json metadata = json::parse(metadata_json, nullptr, false);
  if (metadata.is_discarded() || !metadata.is_object()) {
    return Status::invalid_argument("metadata is not a JSON object");
  }
  const auto section = metadata.find("pytorch");
  if (section == metadata.end() || !section->is_object()) return tied;
  const auto names = section->find("tied");
  if (names == section->end()) return tied;
  if (!names->is_object()) return Status::invalid_argument("metadata key pytorch.tied is not an object");
  for (const auto& [name, first] : names->items()) {
    if (!first.is_string()) {
      return Status::invalid_argument("metadata key pytorch.tied[" + quote(name) + "] is not a tensor name");
    }
    tied.emplace_back(name, first.get<std::string>());
  }
  return tied;
}

}  // namespace owf::formats::pytorch
