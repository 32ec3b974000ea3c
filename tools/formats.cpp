#include "formats.h"

// One include per adapter (format/<name>/<name>.h, target owf_format_<name>,
// linked in tools/CMakeLists.txt).
#include "gguf/gguf.h"
#include "numpy/numpy.h"
#include "onnx/onnx.h"
#include "pytorch/pytorch.h"
#include "safetensors/safetensors.h"

namespace owf::cli {

void register_formats(FormatRegistry& registry) {
  // One line per adapter. Detection asks each format in this order.
  registry.add(formats::make_safetensors_format());
  registry.add(formats::make_numpy_format());
  registry.add(formats::make_pytorch_format());
  registry.add(formats::make_gguf_format());
  registry.add(formats::make_onnx_format());
}

}  // namespace owf::cli
