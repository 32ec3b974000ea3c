// How the library fills owf::registry(): format/CMakeLists.txt generates
// register_builtin_formats from its list of adapters.
#pragma once

#include "owf/format.h"

namespace owf::detail {

// Adds every adapter built into the library to `registry`.
void register_builtin_formats(FormatRegistry& registry);

}  // namespace owf::detail
