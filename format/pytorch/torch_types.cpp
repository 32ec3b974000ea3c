#include "pytorch/torch_types.h"

#include <array>

namespace owf::formats::pytorch {
namespace {

// torch.storage._dtype_to_storage_type_map names the legacy storages; dtypes
// added later (uint16.., float8) exist only behind UntypedStorage and
// _rebuild_tensor_v3, so they have no storage name.
constexpr std::array<TorchType, 20> kTorchTypes{{
    {"float64", DType::kF64, "DoubleStorage"},
    {"float32", DType::kF32, "FloatStorage"},
    {"float16", DType::kF16, "HalfStorage"},
    {"bfloat16", DType::kBF16, "BFloat16Storage"},
    {"int64", DType::kI64, "LongStorage"},
    {"int32", DType::kI32, "IntStorage"},
    {"int16", DType::kI16, "ShortStorage"},
    {"int8", DType::kI8, "CharStorage"},
    {"uint8", DType::kU8, "ByteStorage"},
    {"bool", DType::kBool, "BoolStorage"},
    {"complex128", DType::kC128, "ComplexDoubleStorage"},
    {"complex64", DType::kC64, "ComplexFloatStorage"},
    {"complex32", std::nullopt, ""},
    {"uint16", DType::kU16, ""},
    {"uint32", DType::kU32, ""},
    {"uint64", DType::kU64, ""},
    {"float8_e4m3fn", DType::kF8E4M3FN, ""},
    {"float8_e5m2", DType::kF8E5M2, ""},
    {"float8_e4m3fnuz", DType::kF8E4M3FNUZ, ""},
    {"float8_e5m2fnuz", DType::kF8E5M2FNUZ, ""},
}};

}  // namespace

const TorchType* find_torch_dtype(std::string_view dtype_name) {
  for (const TorchType& type : kTorchTypes) {
    if (type.dtype_name == dtype_name) return &type;
  }
  return nullptr;
}

const TorchType* find_torch_storage(std::string_view storage_name) {
  for (const TorchType& type : kTorchTypes) {
    if (!type.storage_name.empty() && type.storage_name == storage_name) return &type;
  }
  return nullptr;
}

const TorchType* find_torch_type(DType dtype) {
  for (const TorchType& type : kTorchTypes) {
    if (type.dtype == dtype) return &type;
  }
  return nullptr;
}

}  // namespace owf::formats::pytorch
