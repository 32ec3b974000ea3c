// The content digest: SHA-256 over tensor names, dtypes, shapes and decoded
// bytes, independent of the container (spec/owf-v1.md, "Content digest").
// The same weights have the same digest in .owf, .safetensors, .npz, ...
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "owf/export.h"
#include "owf/model.h"
#include "owf/status.h"

namespace OWF_EXPORT owf {

using Digest = std::array<std::uint8_t, 32>;

std::string to_hex(const Digest& digest);

// Plain SHA-256 of `bytes` (for keys and metadata, not tensors).
Digest sha256(std::span<const std::byte> bytes);

// Incremental digest of one tensor: construct with its info, feed its decoded
// bytes in order (byte_size in total), then finish().
class TensorDigester {
 public:
  explicit TensorDigester(const TensorInfo& info);
  TensorDigester(TensorDigester&&) noexcept;
  TensorDigester& operator=(TensorDigester&&) noexcept;
  ~TensorDigester();

  void update(std::span<const std::byte> bytes);
  Digest finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Combines per-tensor digests (any order; names must be unique) into the
// content digest of the whole model.
Digest combine_digests(std::vector<std::pair<std::string, Digest>> tensor_digests);

// Reads the tensor (or every tensor) of `model` and digests it.
Result<Digest> tensor_digest(const Model& model, std::size_t index);
Result<Digest> content_digest(const Model& model, unsigned threads = 0);

// Counts bytes as they are digested; called from several threads at once.
using DigestProgress = std::function<void(std::uint64_t bytes)>;

// The digest of every tensor, in the model's order, computed on up to
// `threads` threads at once (0: online CPUs).
Result<std::vector<Digest>> tensor_digests(const Model& model, unsigned threads = 0,
                                           const DigestProgress& progress = {});

}  // namespace owf
