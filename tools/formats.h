// The format registry of the owf tool: the owf container (built into
// FormatRegistry) plus every adapter in format/. This is the only place in
// tools/ that names a format; every command works on owf::Model and owf::Format.
#pragma once

#include "owf/format.h"

namespace owf::cli {

// Adds every format adapter to `registry`.
void register_formats(FormatRegistry& registry);

}  // namespace owf::cli
