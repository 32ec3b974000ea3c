#include "safetensors/safetensors_json.h"

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>
#include <set>

#include "owf/metadata.h"
#include "owf/model.h"
#include "owf/text.h"

namespace owf::formats::safetensors {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr std::string_view kMetadataKey = "__metadata__";
constexpr std::string_view kJsonKeysKey = "owf.json_keys";
// A header nests at most three levels: the root, a tensor entry, its shape.
constexpr std::size_t kHeaderDepth = 3;

// A first pass over untrusted JSON that the DOM parser cannot do: nlohmann
// silently keeps one of two equal keys, and nests as deep as the input does.
// This pass refuses both, and keeps the position of syntax errors.
class StructureCheck final : public json::json_sax_t {
 public:
  // `what` names the text in messages ("header", "index"). With `root_keys`,
  // the top-level keys are collected there in order, at most `max_root_keys`.
  StructureCheck(std::string_view what, std::size_t max_depth, std::uint64_t base_offset, std::string_view where,
                 std::vector<std::string>* root_keys = nullptr, std::uint64_t max_root_keys = 0)
      : what_(what),
        max_depth_(max_depth),
        base_offset_(base_offset),
        where_(where),
        root_keys_(root_keys),
        max_root_keys_(max_root_keys) {}

  const Status& status() const { return status_; }

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return enter(); }
  bool key(string_t& key) override {
    Level& level = levels_.back();
    level.last_key = key;
    if (root_keys_ != nullptr && levels_.size() == 1) {
      if (root_keys_->size() == max_root_keys_) {
        return fail(Status::not_supported(where_ + ": " + what_ + " has more than " + std::to_string(max_root_keys_) +
                                          " entries (owf's limit of " + std::to_string(kMaxTensors) +
                                          " tensors in one file)"));
      }
      root_keys_->push_back(key);
    }
    if (level.keys.insert(key).second) return true;
    std::string message = where_ + ": duplicate key " + quote(key);
    if (levels_.size() > 1) message += " in " + quote(levels_[levels_.size() - 2].last_key);
    return fail(Status::corruption(std::move(message)));
  }
  bool end_object() override { return leave(); }
  bool start_array(std::size_t) override { return enter(); }
  bool end_array() override { return leave(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& error) override {
    // nlohmann's message: "[json.exception...] parse error at line 1, column 7: <reason>; last read: '<bytes>'".
    // Keep the reason only: the bytes may be invalid UTF-8, and the offset says where.
    std::string reason = error.what();
    if (const auto colon = reason.find(": "); colon != std::string::npos) reason.erase(0, colon + 2);
    if (const auto last = reason.find("; last read"); last != std::string::npos) reason.erase(last);
    const std::uint64_t offset = base_offset_ + (position > 0 ? position - 1 : 0);
    return fail(Status::corruption(where_ + ": " + what_ + " is not valid JSON at offset " + std::to_string(offset) +
                                   ": " + reason));
  }

 private:
  // One per open object or array: the keys seen so far and the latest one,
  // which names the entry a nested duplicate sits in.
  struct Level {
    std::set<std::string> keys;
    std::string last_key;
  };

  bool enter() {
    levels_.emplace_back();
    if (levels_.size() > max_depth_) {
      return fail(
          Status::corruption(where_ + ": " + what_ + " nests deeper than " + std::to_string(max_depth_) + " levels"));
    }
    return true;
  }
  bool leave() {
    levels_.pop_back();
    return true;
  }
  bool fail(Status status) {
    if (status_.ok()) status_ = std::move(status);
    return false;
  }

  std::string what_;
  std::size_t max_depth_;
  std::uint64_t base_offset_;
  std::string where_;
  std::vector<std::string>* root_keys_;
  std::uint64_t max_root_keys_;
  std::vector<Level> levels_;
  Status status_;
};

// Checks `text` with StructureCheck, then parses it into a DOM of type J.
// `root_keys` and `max_root_keys` as for StructureCheck.
template <typename J>
Result<J> parse_checked(std::string_view text, std::string_view what, std::size_t max_depth, std::uint64_t base_offset,
                        std::string_view where, std::vector<std::string>* root_keys = nullptr,
                        std::uint64_t max_root_keys = 0) {
  try {
    StructureCheck check(what, max_depth, base_offset, where, root_keys, max_root_keys);
    if (!json::sax_parse(text, &check)) {
      if (!check.status().ok()) return check.status();
      return Status::corruption(std::string(where) + ": " + std::string(what) + " is not valid JSON");
    }
    return J::parse(text);
  } catch (const std::exception& error) {  // bad_alloc, or a parser disagreement
    return Status::corruption(std::string(where) + ": cannot parse JSON: " + error.what());
  }
}

// An unsigned integer from a JSON number, or a message saying what it is instead.
Result<std::uint64_t> unsigned_value(const json& value, std::string_view what) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer()) {
    if (value.get<std::int64_t>() == 0) return 0;  // "-0", which the reference reads as 0
    return Status::corruption("negative " + std::string(what) + " " + value.dump());
  }
  if (value.is_number_float()) {
    return Status::corruption(std::string(what) + " " + value.dump() + " is not an integer below 2^64");
  }
  return Status::corruption(std::string(what) + " is a " + value.type_name() + ", not a number");
}

Result<std::vector<std::uint64_t>> unsigned_array(const json& value, std::string_view field, std::string_view element) {
  if (!value.is_array()) return Status::corruption("'" + std::string(field) + "' is not an array");
  std::vector<std::uint64_t> numbers;
  numbers.reserve(value.size());
  for (const json& item : value) {
    OWF_ASSIGN_OR_RETURN(const std::uint64_t number, unsigned_value(item, element));
    numbers.push_back(number);
  }
  return numbers;
}

Result<HeaderEntry> parse_entry(const std::string& name, const json& value) {
  if (!value.is_object()) return Status::corruption("entry is not an object");
  HeaderEntry entry{name, {}, {}, 0, 0};
  bool has_dtype = false, has_shape = false, has_offsets = false;
  for (const auto& [key, field] : value.items()) {
    if (key == "dtype") {
      if (!field.is_string()) return Status::corruption("'dtype' is not a string");
      entry.dtype = field.get<std::string>();
      has_dtype = true;
    } else if (key == "shape") {
      OWF_ASSIGN_OR_RETURN(entry.shape, unsigned_array(field, "shape", "dimension"));
      has_shape = true;
    } else if (key == "data_offsets") {
      OWF_ASSIGN_OR_RETURN(const auto offsets, unsigned_array(field, "data_offsets", "data offset"));
      if (offsets.size() != 2) return Status::corruption("'data_offsets' must hold two numbers [begin, end]");
      entry.begin = offsets[0];
      entry.end = offsets[1];
      has_offsets = true;
    } else {
      return Status::corruption("unknown key " + quote(key) + " (expected dtype, shape, data_offsets)");
    }
  }
  if (!has_dtype) return Status::corruption("missing 'dtype'");
  if (!has_shape) return Status::corruption("missing 'shape'");
  if (!has_offsets) return Status::corruption("missing 'data_offsets'");
  return entry;
}

Result<StringMap> parse_string_map(const json& value) {
  StringMap map;
  if (value.is_null()) return map;  // some writers (ollama) store "__metadata__": null
  if (!value.is_object()) return Status::corruption("__metadata__ is not an object");
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) return Status::corruption("__metadata__ value of " + quote(key) + " is not a string");
    map.emplace_back(key, item.get<std::string>());
  }
  std::sort(map.begin(), map.end());
  return map;
}

}  // namespace

Result<Header> parse_header(std::string_view text, std::uint64_t base_offset, std::string_view where) {
  // The DOM is a std::map (an ordered_json object inserts in linear time: quadratic for a large
  // header); the structure check records the keys' order, which is the tensors' order.
  std::vector<std::string> keys;
  OWF_ASSIGN_OR_RETURN(const json root, parse_checked<json>(text, "header", kHeaderDepth, base_offset, where, &keys,
                                                            kMaxTensors + 1));  // + __metadata__
  if (!root.is_object()) return Status::corruption(std::string(where) + ": header is not a JSON object");
  Header header;
  header.tensors.reserve(root.size());
  for (const std::string& key : keys) {
    const json& value = *root.find(key);
    if (key == kMetadataKey) {
      auto metadata = parse_string_map(value);
      if (!metadata.ok()) return metadata.status().with_context(where);
      header.metadata = std::move(metadata).value();
      continue;
    }
    auto entry = parse_entry(key, value);
    if (!entry.ok()) return entry.status().with_context(std::string(where) + ": tensor " + quote(key));
    header.tensors.push_back(std::move(entry).value());
  }
  return header;
}

Result<std::string> header_text(const StringMap& metadata, const std::vector<HeaderEntry>& tensors) {
  // Entries are appended as text: an ordered_json object would search its keys on every insert.
  try {
    std::string text = "{";
    if (!metadata.empty()) {
      ordered_json map = ordered_json::object();
      for (const auto& [key, value] : metadata) map[key] = value;
      text += json(kMetadataKey).dump() + ":" + map.dump();
    }
    std::set<std::string_view> names;
    for (const HeaderEntry& entry : tensors) {
      if (entry.name == kMetadataKey) {
        return Status::invalid_argument("tensor " + quote(entry.name) +
                                        ": the name is reserved by safetensors for metadata");
      }
      if (!names.insert(entry.name).second)
        return Status::invalid_argument("duplicate tensor name " + quote(entry.name));
      const ordered_json fields{
          {"dtype", entry.dtype}, {"shape", entry.shape}, {"data_offsets", {entry.begin, entry.end}}};
      text += (text.size() > 1 ? "," : "") + json(entry.name).dump() + ":" + fields.dump();
    }
    return text + "}";
  } catch (const std::exception& error) {
    return Status::invalid_argument(std::string("cannot write the safetensors header: ") + error.what());
  }
}

Result<Index> parse_index(std::string_view text, std::string_view where) {
  OWF_ASSIGN_OR_RETURN(const json root, parse_checked<json>(text, "index", kMaxJsonDepth, 0, where));
  const std::string prefix(where);
  if (!root.is_object()) return Status::corruption(prefix + ": index is not a JSON object");
  Index index;
  json metadata = json::object();
  bool has_map = false;
  for (const auto& [key, value] : root.items()) {
    if (key == "weight_map") {
      if (!value.is_object()) return Status::corruption(prefix + ": 'weight_map' is not an object");
      for (const auto& [tensor, shard] : value.items()) {
        if (!shard.is_string()) {
          return Status::corruption(prefix + ": weight_map entry of tensor " + quote(tensor) + " is not a file name");
        }
        index.weight_map.emplace_back(tensor, shard.get<std::string>());
      }
      has_map = true;
    } else if (key == "metadata") {
      if (!value.is_object() && !value.is_null()) return Status::corruption(prefix + ": 'metadata' is not an object");
      if (value.is_object()) metadata = value;
    } else {
      return Status::corruption(prefix + ": unknown key " + quote(key) + " (expected metadata, weight_map)");
    }
  }
  if (!has_map) return Status::corruption(prefix + ": no 'weight_map'");
  // total_size describes the shards; the tensors say the same, so owf does not keep it.
  metadata.erase("total_size");
  index.metadata_json = metadata.dump();
  return index;
}

Result<std::string> index_text(std::uint64_t total_size,
                               const std::vector<std::pair<std::string, std::string>>& weight_map) {
  try {
    json map = json::object();
    for (const auto& [tensor, shard] : weight_map) map[tensor] = shard;
    const json root = {{"metadata", {{"total_size", total_size}}}, {"weight_map", std::move(map)}};
    return root.dump(2) + "\n";
  } catch (const std::exception& error) {
    return Status::invalid_argument(std::string("cannot write the safetensors index: ") + error.what());
  }
}

Result<std::string> owf_metadata(const StringMap& metadata, std::string_view extra_json, std::string_view where) {
  const std::string prefix = std::string(where) + ": __metadata__";
  try {
    std::set<std::string> json_keys;
    for (const auto& [key, value] : metadata) {
      if (key != kJsonKeysKey) continue;
      const json listed = json::parse(value, nullptr, false);
      if (!listed.is_array()) return Status::corruption(prefix + " 'owf.json_keys' is not a JSON array of key names");
      for (const json& name : listed) {
        if (!name.is_string()) return Status::corruption(prefix + " 'owf.json_keys' lists a value that is not a key");
        json_keys.insert(name.get<std::string>());
      }
    }
    json result = json::object();
    for (const auto& [key, value] : metadata) {
      if (key == kJsonKeysKey) continue;
      if (json_keys.erase(key) == 0) {
        result[key] = value;
        continue;
      }
      // Check depth and UTF-8 without recursion before the DOM parser sees the text.
      OWF_RETURN_IF_ERROR(validate_metadata("{\"v\":" + value + "}", prefix + " " + quote(key)));
      result[key] = json::parse(value);
    }
    if (!json_keys.empty()) {
      return Status::corruption(prefix + " 'owf.json_keys' lists " + quote(*json_keys.begin()) +
                                ", which is not a key");
    }
    const json extra = json::parse(extra_json);
    for (const auto& [key, value] : extra.items()) {
      if (!result.contains(key)) result[key] = value;
    }
    std::string text = result.dump();
    OWF_RETURN_IF_ERROR(validate_metadata(text, where));
    return text;
  } catch (const std::exception& error) {
    return Status::corruption(prefix + ": " + error.what());
  }
}

Result<StringMap> safetensors_metadata(std::string_view owf_json) {
  OWF_RETURN_IF_ERROR(validate_metadata(owf_json, "metadata"));
  try {
    const json root = json::parse(owf_json);
    StringMap map;
    std::vector<std::string> json_keys;
    for (const auto& [key, value] : root.items()) {
      if (key == kJsonKeysKey) {
        return Status::invalid_argument("metadata key 'owf.json_keys' is reserved by the safetensors mapping");
      }
      if (value.is_string()) {
        map.emplace_back(key, value.get<std::string>());
      } else {
        map.emplace_back(key, value.dump());
        json_keys.push_back(key);
      }
    }
    if (!root.contains("format")) map.emplace_back("format", "pt");
    if (!json_keys.empty()) map.emplace_back(std::string(kJsonKeysKey), json(json_keys).dump());
    std::sort(map.begin(), map.end());
    return map;
  } catch (const std::exception& error) {
    return Status::invalid_argument(std::string("metadata: ") + error.what());
  }
}

}  // namespace owf::formats::safetensors
