#include "values.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "cli.h"
#include "owf/numeric.h"
#include "owf/text.h"

namespace owf::cli {

ByteRange element_bytes(const TensorInfo& info, std::uint64_t first, std::uint64_t count) {
  const DTypeInfo& type = dtype_info(info.dtype);
  const auto bytes_before = [&type](std::uint64_t elements) {
    return elements / type.block_elements * type.block_bytes;
  };
  const bool to_end = first + count == element_count_of(info);
  return {bytes_before(first), to_end ? info.byte_size : bytes_before(first + count)};
}

std::uint64_t common_block(DType a, DType b) {
  return std::lcm<std::uint64_t>(dtype_info(a).block_elements, dtype_info(b).block_elements);
}

Status for_each_run(std::uint64_t begin, std::uint64_t end, std::uint64_t block,
                    const std::function<Status(std::uint64_t first, std::uint64_t count)>& visit) {
  const std::uint64_t run = std::max<std::uint64_t>(block, kChunkElements / block * block);
  for (std::uint64_t first = begin; first < end; first += run) {
    OWF_RETURN_IF_ERROR(visit(first, std::min(run, end - first)));
  }
  return {};
}

ElementReader::ElementReader(const Model& model, std::size_t index) : model_(model), index_(index) {}

Result<std::span<const std::byte>> ElementReader::fetch(std::uint64_t first, std::uint64_t count) {
  const TensorInfo& info = model_.tensors()[index_];
  const ByteRange range = element_bytes(info, first, count);
  if (range.begin < buffer_begin_ || range.end > buffer_begin_ + buffer_.size()) {
    buffer_.resize(std::max(range.end - range.begin, std::min(kReadPieceBytes, info.byte_size - range.begin)));
    buffer_begin_ = range.begin;
    if (Status status = model_.read(index_, range.begin, buffer_); !status.ok()) {
      buffer_.clear();
      return status;
    }
  }
  return std::span<const std::byte>(buffer_).subspan(range.begin - buffer_begin_, range.end - range.begin);
}

Status ElementReader::read(std::uint64_t first, std::span<double> out) {
  OWF_ASSIGN_OR_RETURN(const auto bytes, fetch(first, out.size()));
  return decode_to_f64(model_.tensors()[index_].dtype, bytes, out)
      .with_context("tensor " + quote(model_.tensors()[index_].name));
}

Status ElementReader::read(std::uint64_t first, std::span<float> out) {
  OWF_ASSIGN_OR_RETURN(const auto bytes, fetch(first, out.size()));
  return decode_to_f32(model_.tensors()[index_].dtype, bytes, out)
      .with_context("tensor " + quote(model_.tensors()[index_].name));
}

}  // namespace owf::cli
