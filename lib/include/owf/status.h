// Errors as values: every fallible call in owf returns a Status or a Result<T>.
// Messages are complete sentences fragments that name the file, the tensor or
// key and the byte offset where known, e.g.
//   "model.owf: tensor 'blk.0.w': data range 1040..2088 overlaps 'blk.0.b'".
#pragma once

#include <cassert>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "owf/export.h"

namespace OWF_EXPORT owf {

enum class ErrorCode : std::uint8_t {
  kOk = 0,
  kInvalidArgument,  // the caller asked for something impossible
  kCorruption,       // the input violates its format
  kNotSupported,     // valid input that owf deliberately does not handle
  kIOError,          // the operating system refused (out of memory included)
  kNotFound,         // a named tensor, key or file does not exist
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // success

  static Status invalid_argument(std::string message) { return {ErrorCode::kInvalidArgument, std::move(message)}; }
  static Status corruption(std::string message) { return {ErrorCode::kCorruption, std::move(message)}; }
  static Status not_supported(std::string message) { return {ErrorCode::kNotSupported, std::move(message)}; }
  static Status io_error(std::string message) { return {ErrorCode::kIOError, std::move(message)}; }
  static Status not_found(std::string message) { return {ErrorCode::kNotFound, std::move(message)}; }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // The same error with "prefix: " in front of its message; success stays success.
  Status with_context(std::string_view prefix) const;

 private:
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// Either a value or a non-OK Status. Accessing the value of an error is a
// programming mistake, not an input error: it fails an assertion in debug
// builds and aborts in release builds, and never throws (bad_variant_access
// would escape an API that promises errors as values). Check ok() first, or
// use OWF_ASSIGN_OR_RETURN.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}
  Result(Status error) : state_(std::move(error)) {}

  bool ok() const { return std::holds_alternative<T>(state_); }
  Status status() const { return ok() ? Status() : *std::get_if<Status>(&state_); }

  T& value() & { return *checked(); }
  const T& value() const& { return *checked(); }
  T&& value() && { return std::move(*checked()); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  T* checked() {
    assert(ok() && "Result::value() of an error");
    if (!ok()) std::abort();
    return std::get_if<T>(&state_);
  }
  const T* checked() const { return const_cast<Result*>(this)->checked(); }

  std::variant<Status, T> state_;
};

}  // namespace owf

#define OWF_CONCAT_INNER_(a, b) a##b
#define OWF_CONCAT_(a, b) OWF_CONCAT_INNER_(a, b)

// Returns the Status of `expr` from the enclosing function when it is an error.
#define OWF_RETURN_IF_ERROR(expr)                                                  \
  do {                                                                             \
    if (::owf::Status owf_status_ = (expr); !owf_status_.ok()) return owf_status_; \
  } while (0)

// `OWF_ASSIGN_OR_RETURN(auto x, f());` declares x from a Result or returns its error.
#define OWF_ASSIGN_OR_RETURN(lhs, expr) OWF_ASSIGN_OR_RETURN_IMPL_(OWF_CONCAT_(owf_result_, __LINE__), lhs, expr)
#define OWF_ASSIGN_OR_RETURN_IMPL_(result, lhs, expr) \
  auto result = (expr);                               \
  if (!result.ok()) return result.status();           \
  lhs = std::move(result).value()
