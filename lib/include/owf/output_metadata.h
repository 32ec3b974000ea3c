// The metadata a write stores, which may be completed only after the tensors were read.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "owf/digest.h"
#include "owf/export.h"
#include "owf/status.h"

namespace OWF_EXPORT owf {

// What a writer learned from the tensors it wrote, for OutputMetadata's completion.
struct WrittenContent {
  // The content digest of the tensors as written (spec §7), from writers that compute one as they
  // write (Format::digests_content()); nullopt from the others.
  std::optional<Digest> content_digest;
};

// The metadata a write stores: owf's metadata model, one JSON object. A conversion knows all of it
// before the first tensor except what it learns from the tensor bytes (its input's content digest,
// for provenance), which it computes as the writer reads them. So a writer lays its file out from
// draft() and, after reading the last tensor, stores what complete() returns. A completion may
// change only characters inside JSON strings, and only to characters no format escapes (a hex
// digest where the draft holds zeros), so the completed text takes as many bytes as the draft in
// every format; writers check this and fail with kInvalidArgument where it does not hold.
class OutputMetadata {
 public:
  using Completion = std::function<Result<std::string>(const WrittenContent& written)>;

  // Metadata final from the start.
  OutputMetadata(std::string text) : draft_(std::move(text)) {}
  OutputMetadata(std::string_view text) : draft_(text) {}
  OutputMetadata(const char* text) : draft_(text) {}
  // A draft, completed once every tensor was read.
  OutputMetadata(std::string draft, Completion completion)
      : draft_(std::move(draft)), completion_(std::move(completion)) {}

  const std::string& draft() const { return draft_; }
  // Whether complete() may differ from draft().
  bool pending() const { return static_cast<bool>(completion_); }
  // The text to store. Called by writers once, after reading the last tensor.
  Result<std::string> complete(const WrittenContent& written = {}) const {
    if (!completion_) return draft_;
    return completion_(written);
  }

 private:
  std::string draft_;
  Completion completion_;
};

}  // namespace owf
