// From an unpickled checkpoint object to named tensors. torch.save writes any
// Python object; state dicts are (Ordered)dicts of tensors, training
// checkpoints nest them ({"state_dict": {...}, "epoch": 3}). Nested dicts,
// lists and tuples flatten to dotted names ("state_dict.fc.weight",
// "optimizer.state.0.exp_avg"); every maximal subtree without a tensor is kept
// as one plain value under its dotted path for the metadata.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "owf/status.h"
#include "pytorch/pickle.h"

namespace owf::formats::pytorch {

struct NamedTensor {
  std::string name;
  const TensorRef* tensor = nullptr;
};

struct Flattened {
  std::vector<NamedTensor> tensors;                          // in pickle order
  std::vector<std::pair<std::string, const Value*>> values;  // tensor-free subtrees by dotted path
  // Names that are the very same view (storage, offset, shape, strides, dtype)
  // as an earlier name: (tied name, first name), e.g. tied weights.
  std::vector<std::pair<std::string, std::string>> tied;
};

// Flattens `root`, or only its subtree at dotted `key` when non-empty (names
// are then relative to it). A root that is itself a tensor is named "tensor".
// Fails naming the path for a key that is missing, a dict key that is neither
// str nor int, duplicate names, or nesting deeper than kMaxNesting. `where`
// prefixes messages.
Result<Flattened> flatten_checkpoint(const Value& root, std::string_view key, std::string_view where);

}  // namespace owf::formats::pytorch
