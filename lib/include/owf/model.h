// A Model is a set of named tensors plus JSON metadata, read from any format.
// It is the one interface between the format adapters (format/*), the owf
// container and the tools: `convert`, `diff`, `hash` and `inspect` only ever see
// Models, so a new format needs no change outside its own folder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "owf/dtype.h"
#include "owf/export.h"
#include "owf/status.h"

namespace OWF_EXPORT owf {

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::uint64_t> shape;  // C order, outermost first; empty for a scalar
  std::uint64_t byte_size = 0;       // decoded size: storage_size(dtype, shape)
};

// Builds a TensorInfo with byte_size filled in; fails for an invalid name (empty
// or not UTF-8) or a shape whose size overflows or breaks the dtype's blocking.
Result<TensorInfo> make_tensor_info(std::string name, DType dtype, std::vector<std::uint64_t> shape);

// One finding of Model::verify: what is wrong and where.
struct Problem {
  std::string message;  // names the file, tensor or key, and byte offset where known
};

// Counts of the work a Model's reads have done since it was opened, for tests
// and diagnostics.
struct ReadStatistics {
  std::uint64_t chunks_decoded = 0;  // compressed chunks read() decoded
};

// Read access to a model. Implementations are immutable after construction, so
// all const methods may be called from several threads at once.
class Model {
 public:
  virtual ~Model() = default;

  // Human-readable format and version, e.g. "owf 1.0", "safetensors", "GGUF v3".
  virtual std::string format() const = 0;

  // Every tensor, in the source's own order. Names are unique.
  virtual const std::vector<TensorInfo>& tensors() const = 0;

  // Metadata as the text of one JSON object ("{}" when there is none).
  virtual const std::string& metadata() const = 0;

  // Copies decoded bytes [offset, offset + dst.size()) of tensor `index` into
  // dst: little-endian, C order, packed as the spec describes for the dtype.
  virtual Status read(std::size_t index, std::uint64_t offset, std::span<std::byte> dst) const = 0;

  // The whole decoded tensor without a copy, when the source stores it that way
  // (e.g. raw tensors in an mmapped file). Valid as long as the Model lives.
  virtual std::optional<std::span<const std::byte>> view(std::size_t index) const;

  // How the tensor is stored: "raw" or a description such as "zstd+bytegroup".
  virtual std::string encoding(std::size_t index) const;

  // Bytes the tensor occupies in the source (differs from byte_size when compressed).
  virtual std::uint64_t stored_size(std::size_t index) const;

  // Deep check of everything open() did not already check: the default reads
  // every tensor; formats with checksums check them. Appends what it finds.
  virtual void verify(std::vector<Problem>& problems) const;

  // What reads have done so far; all zero for sources that decode nothing.
  virtual ReadStatistics statistics() const;

  // Index of the tensor with this name, in O(1): the first call indexes every
  // name (thread-safe), relying on tensors() not changing afterwards.
  std::optional<std::size_t> find(std::string_view name) const;

  // Total decoded bytes of every tensor.
  std::uint64_t total_bytes() const;

 private:
  // Built by the first find(). Its keys view the names in tensors(), so a copy
  // or an assignment starts again without one.
  struct NameIndex {
    NameIndex() = default;
    NameIndex(const NameIndex&) {}
    NameIndex& operator=(const NameIndex&) {
      std::lock_guard lock(mutex);
      by_name.reset();
      return *this;
    }
    std::mutex mutex;
    std::optional<std::unordered_map<std::string_view, std::size_t>> by_name;
  };
  mutable NameIndex name_index_;
};

// Checks the arguments of a Model::read before anything is copied: `index`
// names one of `tensors` and bytes [offset, offset + size) lie within it. The
// message starts with `where` (the source's display name; empty for none) and
// names the tensor, e.g. "m.owf: tensor 'w': read of 8 bytes at offset 4
// exceeds its 10 bytes".
Status check_read_range(std::span<const TensorInfo> tensors, std::size_t index, std::uint64_t offset,
                        std::uint64_t size, std::string_view where);

// The most tensors one file may hold, in every format: a bound on what opening
// an untrusted file allocates. Real checkpoints hold at most a few thousand
// per file (the largest sharded releases, e.g. 163 shards of DeepSeek-V3, far
// fewer per shard).
inline constexpr std::uint64_t kMaxTensors = 65536;

// Reads a whole decoded tensor into memory.
Result<std::vector<std::byte>> read_tensor(const Model& model, std::size_t index);

// Whole-tensor passes (verify, digests, copies, diff, statistics) read tensors
// in pieces of at most this many bytes, so memory stays flat. Over a URL one
// piece is one request, fetched as parallel ranges of kMinParallelRangeBytes
// when the source has connections for them (source.h).
inline constexpr std::uint64_t kReadPieceBytes = 8u << 20;

// Receives the decoded bytes of a tensor piece by piece, `offset` being where
// `piece` starts in the tensor; an error stops the pass with it.
using PieceVisitor = std::function<Status(std::uint64_t offset, std::span<const std::byte> piece)>;

// Reads tensor `index` through Model::read in pieces of at most
// kReadPieceBytes, each a whole number of the dtype's blocks, and calls visit
// for each in order. Never through view(): touching a whole mapped tensor
// would add it to the resident set. Returns the first error of a read or of visit.
Status for_each_piece(const Model& model, std::size_t index, const PieceVisitor& visit);

// Receives pieces of two tensors at the same offset; returns false to stop early.
using PiecePairVisitor =
    std::function<bool(std::uint64_t offset, std::span<const std::byte> piece_a, std::span<const std::byte> piece_b)>;

// Reads tensor `index_a` of `a` and `index_b` of `b`, which must have the same
// byte size, side by side in the pieces of for_each_piece, until visit returns
// false or both end.
Status for_each_piece_pair(const Model& a, std::size_t index_a, const Model& b, std::size_t index_b,
                           const PiecePairVisitor& visit);

}  // namespace owf
