// Text helpers for untrusted strings (names and keys read from files): UTF-8
// validation, and names quoted the way every message of the library and the
// adapters shows them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "owf/export.h"

namespace OWF_EXPORT owf {

// Length of the well-formed UTF-8 sequence starting at text[at] (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF), or 0 when the bytes
// there are not one. `at` must be less than text.size().
std::size_t utf8_sequence_length(std::string_view text, std::size_t at);

// Offset of the first byte that does not start a valid UTF-8 sequence, or
// std::string_view::npos when the whole text is valid.
std::size_t find_invalid_utf8(std::string_view text);

// True when the whole text is valid UTF-8.
bool is_valid_utf8(std::string_view text);

// Whether the valid UTF-8 sequence (one code point) is one a terminal acts on
// rather than shows: C0 and C1 controls, DEL, and the bidirectional overrides
// and isolates U+202A-U+202E and U+2066-U+2069 that reorder the rest of a line.
bool is_terminal_control(std::string_view sequence);

// `text` safe to write to a terminal: terminal controls (above) and bytes that
// are not part of a valid UTF-8 sequence appear as \xNN (each byte), so the
// output is one line of valid text that cannot move the
// cursor, recolour or reorder what follows. Everything that prints a name or
// string read from a file goes through this (or quote).
std::string printable(std::string_view text);

// `name` in single quotes for a message, e.g. "'w'", escaped by printable();
// names longer than 200 bytes are cut and end in "...".
std::string quote(std::string_view name);

}  // namespace owf
