#include "json_util.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <optional>
#include <tuple>
#include <vector>

#include "owf/metadata.h"
#include "owf/text.h"

namespace owf::cli {
namespace {

// nlohmann's messages start with "[json.exception.parse_error.101] "; the rest
// says where and what.
std::string without_exception_tag(std::string message) {
  if (!message.empty() && message.front() == '[') {
    if (const auto end = message.find("] "); end != std::string::npos) message.erase(0, end + 2);
  }
  return message;
}

std::string join_parts(const std::vector<std::string>& parts, std::size_t first, std::size_t last) {
  std::string key;
  for (std::size_t i = first; i < last; ++i) {
    if (i > first) key += '.';
    key += parts[i];
  }
  return key;
}

Result<std::vector<std::string>> split_key(std::string_view key) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = key.find('.', start);
    const std::string_view part =
        key.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part.empty()) {
      return Status::invalid_argument("key '" + std::string(key) + "' has an empty part");
    }
    parts.emplace_back(part);
    if (dot == std::string_view::npos) return parts;
    start = dot + 1;
  }
}

std::optional<std::size_t> array_index(const std::string& part) {
  std::size_t index = 0;
  const auto [rest, error] = std::from_chars(part.data(), part.data() + part.size(), index);
  if (error != std::errc() || rest != part.data() + part.size()) return std::nullopt;
  return index;
}

// One step down a dotted key from parts[first]: into an object, by the longest
// run of parts that names one of its keys; into an array, by an index part.
// The child and the end of the parts it used, or nullopt.
template <typename JsonRef>
std::optional<std::pair<JsonRef*, std::size_t>> step_into(JsonRef& node, const std::vector<std::string>& parts,
                                                          std::size_t first) {
  if (node.is_object()) {
    for (std::size_t end = parts.size(); end > first; --end) {
      const auto child = node.find(join_parts(parts, first, end));
      if (child != node.end()) return std::pair<JsonRef*, std::size_t>(&*child, end);
    }
  } else if (node.is_array()) {
    const auto index = array_index(parts[first]);
    if (index && *index < node.size()) return std::pair<JsonRef*, std::size_t>(&node[*index], first + 1);
  }
  return std::nullopt;
}

}  // namespace

Result<Json> parse_json(std::string_view text, std::string_view where) {
  // The parser itself is iterative, but printing and comparing values recurse:
  // refuse the depths the spec refuses before anything walks the tree.
  bool too_deep = false;
  const Json::parser_callback_t limit_depth = [&too_deep](int depth, Json::parse_event_t, Json&) {
    if (static_cast<std::size_t>(depth) > kMaxJsonDepth) too_deep = true;
    return !too_deep;
  };
  try {
    Json value = Json::parse(text.begin(), text.end(), limit_depth);
    if (too_deep) {
      return Status::invalid_argument(std::string(where) + ": JSON is nested deeper than " +
                                      std::to_string(kMaxJsonDepth) + " levels");
    }
    return value;
  } catch (const Json::exception& error) {
    return Status::invalid_argument(std::string(where) + ": invalid JSON: " + without_exception_tag(error.what()));
  }
}

Result<Json> parse_metadata(std::string_view text, std::string_view where) {
  OWF_ASSIGN_OR_RETURN(Json value, parse_json(text, where));
  if (!value.is_object()) {
    return Status::corruption(std::string(where) + ": metadata is " + value.type_name() + ", not a JSON object");
  }
  return value;
}

std::string dump_json(const Json& value, int indent) {
  return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

namespace {

// The code point of a terminal control (at most three UTF-8 bytes).
unsigned control_code_point(std::string_view sequence) {
  const auto byte = [&sequence](std::size_t i) {
    return static_cast<unsigned>(static_cast<unsigned char>(sequence[i]));
  };
  if (sequence.size() == 1) return byte(0);
  if (sequence.size() == 2) return (byte(0) & 0x1F) << 6 | (byte(1) & 0x3F);
  return (byte(0) & 0x0F) << 12 | (byte(1) & 0x3F) << 6 | (byte(2) & 0x3F);
}

}  // namespace

std::string dump_json_for_terminal(const Json& value, int indent) {
  const std::string text = dump_json(value, indent);  // valid UTF-8: invalid bytes were replaced
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = std::max<std::size_t>(utf8_sequence_length(text, i), 1);
    const std::string_view sequence(text.data() + i, length);
    // nlohmann escapes C0 controls inside strings; the ones left are the layout's newlines.
    const bool layout = sequence.size() == 1 && sequence[0] != '\x7f';
    if (layout || !is_terminal_control(sequence)) {
      out.append(sequence);
    } else {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", control_code_point(sequence));
      out += escape;
    }
    i += length;
  }
  return out;
}

const Json* find_dotted(const Json& root, std::string_view key) {
  auto parts = split_key(key);
  if (!parts.ok()) return nullptr;
  const Json* node = &root;
  for (std::size_t first = 0; first < parts->size();) {
    const auto next = step_into(*node, *parts, first);
    if (!next) return nullptr;
    std::tie(node, first) = *next;
  }
  return node;
}

Status set_dotted(Json& root, std::string_view key, Json value) {
  OWF_ASSIGN_OR_RETURN(const auto parts, split_key(key));
  Json* node = &root;
  std::size_t first = 0;
  while (const auto next = step_into(*node, parts, first)) {
    std::tie(node, first) = *next;
    if (first == parts.size()) {
      *node = std::move(value);
      return {};
    }
  }
  // The rest does not exist yet: one nested object per remaining part.
  for (; first < parts.size(); ++first) {
    if (node->is_null()) *node = Json::object();  // made by the previous part
    if (!node->is_object()) {
      return Status::invalid_argument("key '" + std::string(key) + "': '" + join_parts(parts, 0, first) + "' is " +
                                      node->type_name() + ", not an object");
    }
    node = &(*node)[parts[first]];
  }
  *node = std::move(value);
  return {};
}

Status erase_dotted(Json& root, std::string_view key) {
  OWF_ASSIGN_OR_RETURN(const auto parts, split_key(key));
  Json* parent = &root;
  for (std::size_t first = 0;;) {
    const auto next = step_into(*parent, parts, first);
    if (!next) break;
    if (next->second == parts.size()) {
      if (parent->is_object()) {
        parent->erase(join_parts(parts, first, next->second));
      } else {
        parent->erase(*array_index(parts[first]));
      }
      return {};
    }
    std::tie(parent, first) = *next;
  }
  return Status::not_found("metadata key '" + std::string(key) + "' not found");
}

Result<std::pair<std::string, Json>> parse_assignment(std::string_view text, std::string_view option) {
  const std::string where = std::string(option) + " '" + std::string(text) + "'";
  const std::size_t equals = text.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    return Status::invalid_argument(where + ": expected KEY=JSON, e.g. license='\"MIT\"' or layers=12");
  }
  OWF_ASSIGN_OR_RETURN(Json value, parse_json(text.substr(equals + 1), where));
  std::string key(text.substr(0, equals));
  OWF_RETURN_IF_ERROR(check_standard_key(key, value).with_context(where));
  return std::pair<std::string, Json>(std::move(key), std::move(value));
}

Result<KeyEdit> parse_key_edit(std::string_view text, std::string_view option, std::string type) {
  const std::size_t equals = text.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    return Status::invalid_argument(std::string(option) + " '" + std::string(text) +
                                    "': expected KEY=VALUE, e.g. general.name=Tiny or llama.context_length=4096");
  }
  return KeyEdit{std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)), std::move(type)};
}

Status check_standard_key(std::string_view key, const Json& value) {
  const bool license = key == "license";
  if (!license && key != "architecture") return {};
  if (!value.is_string()) {
    return Status::invalid_argument("metadata key '" + std::string(key) + "' must be a JSON string");
  }
  return license ? check_spdx_expression(value.get<std::string>()) : Status();
}

}  // namespace owf::cli
