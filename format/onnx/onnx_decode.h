// Decoding an ONNX model file (a serialized onnx.ModelProto) into the tensors
// it carries, without touching the file system: external data is described,
// not opened (onnx.cpp resolves it). See spec/formats/onnx.md for the rules.
//
// Messages and fields read (numbers from onnx/onnx.proto):
//   ModelProto   1 ir_version, 2 producer_name, 3 producer_version, 4 domain,
//                5 model_version, 6 doc_string, 7 graph, 8 opset_import,
//                14 metadata_props
//   GraphProto   1 node, 2 name, 5 initializer, 15 sparse_initializer (skipped)
//   NodeProto    2 output, 4 op_type, 5 attribute, 7 domain
//   Attribute    1 name, 2 f, 3 i, 5 t, 6 g, 7 floats, 8 ints, 11 graphs,
//                4 s / 9 strings (refused for Constant), 22 sparse_tensor
//   TensorProto  1 dims, 2 data_type, 3 segment (refused), 4 float_data,
//                5 int32_data, 6 string_data (refused), 7 int64_data, 8 name,
//                9 raw_data, 10 double_data, 11 uint64_data, 13 external_data,
//                14 data_location
// Every other field is skipped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "owf/model.h"
#include "owf/status.h"

namespace owf::formats::onnx {

// Where a tensor's decoded bytes come from.
enum class Storage : std::uint8_t {
  kModelFile,  // byte_size bytes at `offset` in the model file, already owf's layout
  kDecoded,    // `decoded`, built from typed fields while decoding
  kExternal,   // `external`, a file beside the model
};

// TensorProto.external_data, parsed but not yet checked against the file system.
struct ExternalData {
  std::string location;  // as written: relative to the model's folder
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;  // absent: to the end of the file
};

// One tensor of the model: its owf description and where its bytes are.
struct TensorDecl {
  TensorInfo info;
  std::string field;  // the ONNX field that held it: "raw_data", "int32_data", "external_data"
  Storage storage = Storage::kDecoded;
  std::uint64_t offset = 0;       // kModelFile: absolute offset in the model file
  std::uint64_t stored_size = 0;  // bytes it occupies in the ONNX file (or external file)
  std::vector<std::byte> decoded;
  ExternalData external;
  // A 4-bit tensor with an odd element count whose stored last byte has a
  // non-zero high nibble: readers clear it, as owf's packing wants it zero.
  bool clear_last_nibble = false;
};

struct ModelDecl {
  std::vector<TensorDecl> tensors;  // initializers, then Constant outputs, graph by graph
  std::string metadata_json;        // {"onnx": {...}}
  std::int64_t ir_version = 0;
};

// Decodes the ModelProto in `bytes` (the whole model file). Fails with a
// message that starts with `display_name` and names the tensor and byte offset
// for anything malformed, inconsistent or unsupported (string or segmented
// tensors, data types owf lacks, duplicate names). Raw data stays in `bytes`
// (referenced by offset); typed fields are decoded into TensorDecl::decoded.
Result<ModelDecl> decode_model(std::span<const std::byte> bytes, std::string_view display_name);

// Whether a 4-bit tensor has an odd element count: its last byte holds one element and a nibble
// ONNX leaves unspecified.
bool odd_packed_count(const TensorInfo& info);

// Whether the stored bytes of a 4-bit tensor with an odd element count end in a
// non-zero unused nibble (owf wants it zero). Only the last byte is looked at.
bool needs_nibble_clear(const TensorInfo& info, std::span<const std::byte> stored);

// Whether `head` (the first bytes of a file) starts like a ModelProto: every
// field that fits is a ModelProto field with its proper wire type. With
// `require_ir_version`, the first field must be ir_version, as every ONNX
// writer puts it.
bool looks_like_model(std::span<const std::byte> head, bool require_ir_version);

}  // namespace owf::formats::onnx
