#include "owf/status.h"

namespace owf {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kCorruption: return "corruption";
    case ErrorCode::kNotSupported: return "not supported";
    case ErrorCode::kIOError: return "I/O error";
    case ErrorCode::kNotFound: return "not found";
  }
  return "unknown error";
}

Status Status::with_context(std::string_view prefix) const {
  if (ok()) return *this;
  return Status(code_, std::string(prefix) + ": " + message_);
}

}  // namespace owf
