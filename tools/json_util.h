// JSON for the tools: metadata objects parsed with nlohmann::ordered_json (so
// output keeps the input's key order and is deterministic), and the dotted
// keys that `--set`, `owf meta get/set/delete` use to address nested values.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "owf/format.h"
#include "owf/status.h"

namespace owf::cli {

using Json = nlohmann::ordered_json;

// Parses JSON text; `where` starts every error message (a file or an option).
// Never throws.
Result<Json> parse_json(std::string_view text, std::string_view where);

// Parses a model's metadata text, which must be one JSON object.
Result<Json> parse_metadata(std::string_view text, std::string_view where);

// Serialises without throwing: invalid UTF-8 in strings is replaced by U+FFFD.
// indent < 0 gives the compact form.
std::string dump_json(const Json& value, int indent);

// dump_json for output a terminal shows: the terminal controls nlohmann leaves
// raw (DEL, C1 controls, bidirectional overrides; see owf::is_terminal_control)
// become \u escapes, which JSON reads as the same string.
std::string dump_json_for_terminal(const Json& value, int indent);

// Dotted keys: "a.b.c" addresses root["a"]["b"]["c"]. Because keys may contain
// dots themselves (GGUF's "general.architecture"), each step takes the longest
// run of parts that names an existing key, so "gguf.general.architecture" finds
// root["gguf"]["general.architecture"]. A number part indexes an array:
// "provenance.conversions.0".

// The value at `key`, or nullptr.
const Json* find_dotted(const Json& root, std::string_view key);

// Stores `value` at `key`, creating objects for missing parts (one per part).
// Fails when an existing value on the way is not an object.
Status set_dotted(Json& root, std::string_view key, Json value);

// Removes `key`; kNotFound when it does not exist.
Status erase_dotted(Json& root, std::string_view key);

// The standard keys a user sets must fit spec/metadata.schema.json: `license` a
// string holding an SPDX expression, `architecture` a string.
Status check_standard_key(std::string_view key, const Json& value);

// Splits "KEY=JSON" (at the first '=') and parses the JSON, checking standard
// keys; errors name `option` and the argument.
Result<std::pair<std::string, Json>> parse_assignment(std::string_view text, std::string_view option);

// Parses KEY=VALUE for a format's own typed keys (owf::KeyEdit): VALUE is JSON or, for string
// keys, plain text; `type` as given by --type (may be empty).
Result<KeyEdit> parse_key_edit(std::string_view text, std::string_view option, std::string type = {});

}  // namespace owf::cli
