// The two rules of spec §5 that only the decoded bytes can show: bool bytes are
// 0 or 1, and the unused high bits of a packed tensor's last byte are zero.
// Internal to the library; the writer refuses such bytes, verify() reports them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "owf/model.h"

namespace owf::detail {

class DecodedValueCheck {
 public:
  explicit DecodedValueCheck(const TensorInfo& info);

  // Feeds the next decoded bytes, in order.
  void update(std::span<const std::byte> piece);
  // What is wrong with the bytes fed so far ("bool value 2 at decoded byte 3 ..."), if anything.
  const std::optional<std::string>& problem() const { return problem_; }

 private:
  bool is_bool_ = false;
  std::byte last_byte_mask_{0};  // unused bits of the last byte of a packed tensor, or 0
  std::uint64_t size_ = 0;
  std::uint64_t done_ = 0;
  std::optional<std::string> problem_;
};

}  // namespace owf::detail
