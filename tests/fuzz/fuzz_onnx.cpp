// Fuzz target for the ONNX decoder: any bytes must give an error or tensors
// whose in-file data lies inside the input and whose decoded data has the
// tensor's size. External data is described, not opened, so no file I/O.
#include <cstddef>
#include <cstdint>
#include <span>

#include "onnx/onnx_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span<const std::uint8_t>(data, size));
  (void)owf::formats::onnx::looks_like_model(bytes, true);
  auto model = owf::formats::onnx::decode_model(bytes, "fuzz.onnx");
  if (!model.ok()) return 0;
  for (const owf::formats::onnx::TensorDecl& tensor : model->tensors) {
    const std::uint64_t byte_size = tensor.info.byte_size;
    switch (tensor.storage) {
      case owf::formats::onnx::Storage::kModelFile:
        if (tensor.offset > size || byte_size > size - tensor.offset) __builtin_trap();
        break;
      case owf::formats::onnx::Storage::kDecoded:
        if (tensor.decoded.size() != byte_size) __builtin_trap();
        break;
      case owf::formats::onnx::Storage::kExternal:
        if (tensor.external.location.empty()) __builtin_trap();
        break;
    }
  }
  return 0;
}
