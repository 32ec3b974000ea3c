// Metadata validation: the only file of the library that includes nlohmann/json.
#include "owf/metadata.h"

#include <nlohmann/json.hpp>

#include <string>

#include "owf/text.h"

namespace owf {
namespace {

// Finds where the nesting of objects and arrays first exceeds kMaxJsonDepth,
// without parsing: a recursive parser must never see such input, or a file of
// a million '[' would exhaust the stack. Brackets inside strings do not count.
std::size_t find_excess_depth(std::string_view json) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

std::string_view json_type_name(const nlohmann::json& value) {
  return value.is_array() ? "an array" : value.is_string() ? "a string" : value.is_number() ? "a number"
         : value.is_boolean() ? "a boolean" : "null";
}

}  // namespace

Status validate_metadata(std::string_view json, std::string_view where) {
  const std::string prefix = std::string(where) + ": metadata ";
  if (const std::size_t bad = find_invalid_utf8(json); bad != std::string_view::npos) {
    return Status::corruption(prefix + "is not valid UTF-8 at byte " + std::to_string(bad));
  }
  if (const std::size_t deep = find_excess_depth(json); deep != std::string_view::npos) {
    return Status::corruption(prefix + "nests deeper than " + std::to_string(kMaxJsonDepth) + " levels at byte " +
                              std::to_string(deep));
  }
  try {
    const nlohmann::json value = nlohmann::json::parse(json.begin(), json.end());
    if (!value.is_object()) {
      return Status::corruption(prefix + "must be a JSON object, not " + std::string(json_type_name(value)));
    }
  } catch (const nlohmann::json::parse_error& error) {
    // what() is "[json.exception.parse_error.101] parse error at ...": keep the part after the tag.
    std::string_view detail = error.what();
    if (const auto tag_end = detail.find("] "); tag_end != std::string_view::npos) detail.remove_prefix(tag_end + 2);
    return Status::corruption(prefix + "is not valid JSON: " + std::string(detail));
  } catch (const std::exception& error) {
    return Status::corruption(prefix + "cannot be parsed: " + error.what());
  }
  return {};
}

std::string_view library_version() { return OWF_VERSION; }

}  // namespace owf
