// The library's one exception policy. Parsers return errors as values, but
// allocation can throw (std::bad_alloc, std::length_error), and so can the
// standard library or a dependency on input it was not meant to see. Public
// entry points run their work through guarded(), which maps what escapes to
// exactly one code each, so that no exception leaves the library:
//   std::bad_alloc, std::length_error -> kIOError    ("out of memory": the system refused)
//   any other std::exception          -> kCorruption ("cannot be read: <what>")
// Internal to the library.
#pragma once

#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>

#include "owf/status.h"

namespace owf::detail {

// Runs `work` (returning a Status or a Result), naming `where` (the file) in the error of an exception.
template <typename Work>
auto guarded(std::string_view where, Work&& work) -> decltype(work()) {
  try {
    return work();
  } catch (const std::bad_alloc&) {
    return Status::io_error(std::string(where) + ": out of memory");
  } catch (const std::length_error&) {
    return Status::io_error(std::string(where) + ": out of memory (a size beyond what can be allocated)");
  } catch (const std::exception& error) {
    return Status::corruption(std::string(where) + ": cannot be read: " + error.what());
  }
}

}  // namespace owf::detail
