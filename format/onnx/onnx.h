// ONNX models (.onnx, a serialized onnx.ModelProto) as a read-only source of
// tensors: graph initializers and the values of Constant nodes, in the main
// graph and in every subgraph (If/Loop/Scan bodies), with data inline (raw_data
// or typed fields) or in external files beside the model. The rules, the
// metadata it produces and what it refuses are in spec/formats/onnx.md.
#pragma once

#include <memory>

#include "owf/format.h"

namespace owf::formats {

// The ONNX adapter. open() maps the model, decodes it completely and checks
// every external data reference before returning; write() is kNotSupported.
// The returned Format is stateless and may be shared between threads.
std::unique_ptr<owf::Format> make_onnx_format();

}  // namespace owf::formats
