// Metadata validation. With signature.cpp, the only files of the library that include nlohmann/json.
#include "owf/metadata.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_set>
#include <vector>

#include "owf/text.h"
#include "owf/version.h"

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

// Checks the JSON rules of spec §8.1 that a parser leaves open, while nlohmann
// parses without building a tree (its SAX parser is iterative): the top level
// is an object, keys are unique within each object, integers fit in i64 or
// u64. Lone surrogate escapes and numbers beyond the double range are parse
// errors of nlohmann itself.
class MetadataRules final : public nlohmann::json_sax<nlohmann::json> {
 public:
  // The first rule broken, as "duplicate key 'a' in /x", or empty.
  const std::string& violation() const { return violation_; }
  const std::string& parse_error_text() const { return parse_error_; }

  bool null() override { return value("null"); }
  bool boolean(bool) override { return value("a boolean"); }
  bool number_integer(number_integer_t) override { return value("a number"); }
  bool number_unsigned(number_unsigned_t) override { return value("a number"); }
  bool number_float(number_float_t, const string_t& text) override {
    if (text.find_first_of(".eE") == string_t::npos) {
      return fail("integer " + text + " at " + path(objects_.size()) + " is outside -2^63..2^64-1");
    }
    return value("a number");
  }
  bool string(string_t&) override { return value("a string"); }
  bool binary(binary_t&) override { return value("binary"); }
  bool start_object(std::size_t) override {
    if (!value("an object")) return false;
    objects_.push_back({});
    return true;
  }
  bool key(string_t& key) override {
    if (!objects_.back().keys.insert(key).second) {
      return fail("duplicate key " + quote(key) + " in " + path(objects_.size() - 1));
    }
    objects_.back().current = key;
    return true;
  }
  bool end_object() override {
    objects_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    objects_.push_back(Level{.in_array = true, .keys = {}, .current = {}});
    return value("an array");
  }
  bool end_array() override {
    objects_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& error) override {
    // what() is "[json.exception.parse_error.101] parse error at ...": keep the part after the tag.
    std::string_view detail = error.what();
    if (const auto tag_end = detail.find("] "); tag_end != std::string_view::npos) detail.remove_prefix(tag_end + 2);
    parse_error_ = detail;
    return false;
  }

 private:
  struct Level {
    bool in_array = false;
    std::unordered_set<std::string> keys;
    std::string current;  // the key whose value is being parsed
  };

  // Called for every value: only the top level must be an object.
  bool value(std::string_view type) {
    if (!started_ && type != "an object") return fail("must be a JSON object, not " + std::string(type));
    started_ = true;
    return true;
  }
  bool fail(std::string what) {
    violation_ = std::move(what);
    return false;
  }
  // The keys being parsed in the outermost `levels` objects, as a JSON pointer
  // without array indexes ("/" at the top).
  std::string path(std::size_t levels) const {
    std::string text;
    for (std::size_t i = 0; i < levels; ++i) {
      if (!objects_[i].in_array) text += "/" + objects_[i].current;
    }
    return text.empty() ? "/" : text;
  }

  bool started_ = false;
  std::vector<Level> objects_;
  std::string violation_;
  std::string parse_error_;
};

// A recursive-descent parser of SPDX license expressions; parentheses nest at
// most kMaxJsonDepth deep, which bounds the recursion.
class SpdxParser {
 public:
  explicit SpdxParser(std::string_view text) : text_(text) {}

  Status parse() {
    next();
    OWF_RETURN_IF_ERROR(parse_or(0));
    if (!token_.empty()) return error("unexpected '" + std::string(token_) + "'");
    return {};
  }

 private:
  static bool is_id_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  }

  // Moves to the next token: "(", ")", or a run of id characters with an optional ":" (DocumentRef)
  // or trailing "+".
  void next() {
    while (position_ < text_.size() && text_[position_] == ' ') ++position_;
    token_start_ = position_;
    if (position_ < text_.size() && (text_[position_] == '(' || text_[position_] == ')')) {
      ++position_;
    } else {
      while (position_ < text_.size() && (is_id_char(text_[position_]) || text_[position_] == ':')) ++position_;
      if (position_ < text_.size() && text_[position_] == '+') ++position_;
      if (position_ == token_start_ && position_ < text_.size()) ++position_;  // a stray character
    }
    token_ = text_.substr(token_start_, position_ - token_start_);
  }

  bool is_operator(std::string_view upper) const {
    std::string lower(upper);
    for (char& c : lower) c = static_cast<char>(c - 'A' + 'a');
    return token_ == upper || token_ == lower;
  }

  Status error(const std::string& what) const {
    return Status::invalid_argument("'" + std::string(text_) + "' is not an SPDX license expression: " + what +
                                    " at character " + std::to_string(token_start_ + 1));
  }

  Status parse_or(std::size_t depth) {
    OWF_RETURN_IF_ERROR(parse_and(depth));
    while (is_operator("OR")) {
      next();
      OWF_RETURN_IF_ERROR(parse_and(depth));
    }
    return {};
  }

  Status parse_and(std::size_t depth) {
    OWF_RETURN_IF_ERROR(parse_with(depth));
    while (is_operator("AND")) {
      next();
      OWF_RETURN_IF_ERROR(parse_with(depth));
    }
    return {};
  }

  Status parse_with(std::size_t depth) {
    OWF_RETURN_IF_ERROR(parse_primary(depth));
    if (is_operator("WITH")) {
      next();
      if (!is_idstring(token_)) return error("expected an exception id after WITH");
      next();
    }
    return {};
  }

  Status parse_primary(std::size_t depth) {
    if (token_ == "(") {
      if (depth == kMaxJsonDepth) return error("parentheses nest too deep");
      next();
      OWF_RETURN_IF_ERROR(parse_or(depth + 1));
      if (token_ != ")") return error("expected ')'");
      next();
      return {};
    }
    if (token_.empty()) return error("expected a license id");
    if (is_operator("AND") || is_operator("OR") || is_operator("WITH")) return error("expected a license id");
    if (!is_simple_expression(token_)) return error("'" + std::string(token_) + "' is not a license id");
    next();
    return {};
  }

  static bool is_idstring(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_id_char); }

  // license-id ["+"], or ["DocumentRef-" idstring ":"] "LicenseRef-" idstring.
  static bool is_simple_expression(std::string_view s) {
    if (const std::size_t colon = s.find(':'); colon != std::string_view::npos) {
      const std::string_view document = s.substr(0, colon);
      if (!document.starts_with("DocumentRef-") || !is_idstring(document.substr(12))) return false;
      s.remove_prefix(colon + 1);
      return s.starts_with("LicenseRef-") && is_idstring(s.substr(11));
    }
    if (s.starts_with("LicenseRef-")) return is_idstring(s.substr(11));
    if (s.ends_with('+')) s.remove_suffix(1);
    return is_idstring(s);
  }

  std::string_view text_;
  std::size_t position_ = 0;
  std::size_t token_start_ = 0;
  std::string_view token_;
};

}  // namespace

Status check_spdx_expression(std::string_view expression) { return SpdxParser(expression).parse(); }

Status validate_metadata(std::string_view json, std::string_view where) {
  const std::string prefix = std::string(where) + ": metadata ";
  if (const std::size_t bad = find_invalid_utf8(json); bad != std::string_view::npos) {
    return Status::corruption(prefix + "is not valid UTF-8 at byte " + std::to_string(bad));
  }
  if (const std::size_t deep = find_excess_depth(json); deep != std::string_view::npos) {
    return Status::corruption(prefix + "nests deeper than " + std::to_string(kMaxJsonDepth) + " levels at byte " +
                              std::to_string(deep));
  }
  // nlohmann would skip a byte-order mark; §8.1 forbids one.
  if (json.starts_with("\xEF\xBB\xBF")) return Status::corruption(prefix + "starts with a byte-order mark");
  MetadataRules rules;
  if (nlohmann::json::sax_parse(json.begin(), json.end(), &rules)) return {};
  if (!rules.violation().empty()) return Status::corruption(prefix + rules.violation());
  return Status::corruption(prefix + "is not valid JSON: " + rules.parse_error_text());
}

std::string_view library_version() { return OWF_VERSION_STRING; }

}  // namespace owf
