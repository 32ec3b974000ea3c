// Text helpers for untrusted strings (names and keys read from files): UTF-8
// validation, and names quoted the way every message of the library and the
// adapters shows them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace owf {

// Length of the well-formed UTF-8 sequence starting at text[at] (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF), or 0 when the bytes
// there are not one. `at` must be less than text.size().
std::size_t utf8_sequence_length(std::string_view text, std::size_t at);

// Offset of the first byte that does not start a valid UTF-8 sequence, or
// std::string_view::npos when the whole text is valid.
std::size_t find_invalid_utf8(std::string_view text);

// True when the whole text is valid UTF-8.
bool is_valid_utf8(std::string_view text);

// `name` in single quotes for a message, e.g. "'w'": control characters, DEL
// and bytes that are not part of a valid UTF-8 sequence appear as \xNN, so the
// message stays one line of valid text; names longer than 200 bytes are cut and
// end in "...".
std::string quote(std::string_view name);

}  // namespace owf
