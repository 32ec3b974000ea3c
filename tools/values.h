// Element values of one tensor, decoded piecewise in bounded runs of whole
// blocks: statistics (inspect --stats), comparisons (diff) and casts (convert
// --dtype) all stream a tensor this way, so memory stays flat whatever its size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "owf/dtype.h"
#include "owf/model.h"
#include "owf/status.h"

namespace owf::cli {

// Elements decoded at a time: about half a MiB of doubles.
inline constexpr std::uint64_t kChunkElements = 1u << 16;

// Bytes [begin, end) of a decoded tensor.
struct ByteRange {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

// The bytes that hold elements [first, first + count). `first` must be a
// multiple of the dtype's block; first + count a multiple too, or the end of
// the tensor (packed sub-byte types may end inside a block).
ByteRange element_bytes(const TensorInfo& info, std::uint64_t first, std::uint64_t count);

// The smallest element count that is whole blocks of both dtypes.
std::uint64_t common_block(DType a, DType b);

// Calls visit(first, count) for consecutive runs that cover elements
// [begin, end), each a multiple of `block` (but the last) and of at most about
// kChunkElements elements; `begin` must be a multiple of `block`. Stops at the
// first error.
Status for_each_run(std::uint64_t begin, std::uint64_t end, std::uint64_t block,
                    const std::function<Status(std::uint64_t first, std::uint64_t count)>& visit);

// Decodes runs of elements of tensor `index` of `model` (which must outlive
// it). Reads kReadPieceBytes ahead, so runs read in order cost one read (one
// range request, for a URL) per piece, not one each. Reuses one buffer, so one
// ElementReader must not be shared by threads.
class ElementReader {
 public:
  ElementReader(const Model& model, std::size_t index);

  // Decodes elements [first, first + out.size()) (aligned as element_bytes()
  // requires). Fails for dtypes numeric.h cannot decode, naming the tensor.
  Status read(std::uint64_t first, std::span<double> out);
  // As above, to floats.
  Status read(std::uint64_t first, std::span<float> out);

 private:
  Result<std::span<const std::byte>> fetch(std::uint64_t first, std::uint64_t count);

  const Model& model_;
  std::size_t index_;
  std::vector<std::byte> buffer_;  // the tensor's bytes from buffer_begin_ on
  std::uint64_t buffer_begin_ = 0;
};

}  // namespace owf::cli
