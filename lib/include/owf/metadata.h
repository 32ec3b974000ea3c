// owf metadata is one JSON object (spec/metadata.schema.json). The library
// passes it around as text so that its public headers carry no JSON library.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "owf/export.h"
#include "owf/status.h"

namespace OWF_EXPORT owf {

inline constexpr std::size_t kMaxJsonDepth = 64;

// Checks that `json` is valid UTF-8 JSON text of one object nested at most
// kMaxJsonDepth deep. Messages start with `where` (a file name).
Status validate_metadata(std::string_view json, std::string_view where);

// Checks the syntax of an SPDX license expression (SPDX 2.3 Annex D): license
// ids and LicenseRef-/DocumentRef- references, optionally with "+", joined by
// AND / OR / WITH (all upper or all lower case) and parentheses. Ids are not
// checked against the SPDX list, so new licenses pass. The message says what
// is wrong and at which character.
Status check_spdx_expression(std::string_view expression);

// The library's own name and version, as recorded in provenance.
std::string_view library_version();

}  // namespace owf
