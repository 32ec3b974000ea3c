// torch's names for element types: dtype names (torch.float32 is pickled as
// the global `torch float32`) and the legacy typed-storage classes
// (torch.FloatStorage) that persistent ids name. One table serves the reader
// and the writer.
#pragma once

#include <optional>
#include <string_view>

#include "owf/dtype.h"

namespace owf::formats::pytorch {

struct TorchType {
  std::string_view dtype_name;    // torch.<dtype_name>, e.g. "float32"
  std::optional<DType> dtype;     // owf's equivalent; none for e.g. complex32
  std::string_view storage_name;  // torch.<storage_name>, e.g. "FloatStorage"; empty when torch has none
};

// nullptr when torch has no dtype of that name.
const TorchType* find_torch_dtype(std::string_view dtype_name);
// nullptr when torch has no typed storage of that name (quantized storages included).
const TorchType* find_torch_storage(std::string_view storage_name);
// nullptr when torch has no dtype for it (int4, f6, ggml blocks...).
const TorchType* find_torch_type(DType dtype);

}  // namespace owf::formats::pytorch
