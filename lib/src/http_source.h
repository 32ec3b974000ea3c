// The ByteSource of an http:// or https:// URL (libcurl), internal to the library: open_source() picks it.
#pragma once

#include <memory>
#include <string_view>

#include "owf/source.h"

namespace owf::detail {

Result<std::shared_ptr<const ByteSource>> open_http_source(std::string_view url, const HttpOptions& options);

}  // namespace owf::detail
