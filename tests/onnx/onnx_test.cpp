// The ONNX adapter on hand-built models (every data type in raw_data and in
// typed fields, Constant nodes in subgraphs, external data, metadata, and the
// inputs it must refuse) and on the real models in the shared corpus.
#include "onnx/onnx.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "owf/metadata.h"
#include "owf/model.h"
#include "proto_builder.h"

namespace {

namespace fs = std::filesystem;
using owf::test::Proto;

// TensorProto field numbers (onnx/onnx.proto).
constexpr std::uint32_t kDims = 1, kDataType = 2, kSegment = 3, kFloatData = 4, kInt32Data = 5, kStringData = 6,
                        kInt64Data = 7, kName = 8, kRawData = 9, kDoubleData = 10, kUint64Data = 11, kExternalData = 13,
                        kDataLocation = 14;
// TensorProto.DataType values.
constexpr int kFloat = 1, kUint8 = 2, kInt8 = 3, kUint16 = 4, kInt16 = 5, kInt32 = 6, kInt64 = 7, kString = 8,
              kBool = 9, kFloat16 = 10, kDouble = 11, kUint32 = 12, kUint64 = 13, kComplex64 = 14, kComplex128 = 15,
              kBfloat16 = 16, kFloat8E4M3FN = 17, kFloat8E4M3FNUZ = 18, kFloat8E5M2 = 19, kFloat8E5M2FNUZ = 20,
              kUint4 = 21, kInt4 = 22, kFloat4E2M1 = 23, kFloat8E8M0 = 24;

std::vector<std::byte> bytes_of(std::initializer_list<std::uint8_t> values) {
  std::vector<std::byte> out;
  for (const std::uint8_t value : values) out.push_back(static_cast<std::byte>(value));
  return out;
}

Proto tensor(std::string_view name, int data_type, std::initializer_list<std::uint64_t> dims) {
  Proto message;
  for (const std::uint64_t dim : dims) message.varint(kDims, dim);
  message.varint(kDataType, static_cast<std::uint64_t>(data_type)).text(kName, name);
  return message;
}

Proto entry(std::string_view key, std::string_view value) {
  Proto message;
  message.text(1, key).text(2, value);
  return message;
}

Proto tensor_attribute(std::string_view name, const Proto& value) {
  Proto message;
  message.text(1, name).varint(20, 4).message(5, value);
  return message;
}

Proto graph_attribute(std::string_view name, const Proto& graph) {
  Proto message;
  message.text(1, name).varint(20, 5).message(6, graph);
  return message;
}

Proto node(std::string_view op_type, std::string_view output, std::initializer_list<Proto> attributes,
           std::string_view domain = "") {
  Proto message;
  message.text(1, "x").text(2, output).text(3, std::string(op_type) + "_node").text(4, op_type);
  for (const Proto& attribute : attributes) message.message(5, attribute);
  if (!domain.empty()) message.text(7, domain);
  return message;
}

Proto constant(std::string_view output, const Proto& value) {
  return node("Constant", output, {tensor_attribute("value", value)});
}

// A model around `graph`, with the fields every writer sets.
Proto model_of(const Proto& graph) {
  Proto opset;
  opset.text(1, "").varint(2, 17);
  Proto model;
  model.varint(1, 8).text(2, "owf-test").text(3, "1.0").message(7, graph).message(8, opset);
  return model;
}

Proto graph_of(std::initializer_list<Proto> initializers, std::initializer_list<Proto> nodes = {}) {
  Proto graph;
  for (const Proto& node : nodes) graph.message(1, node);
  graph.text(2, "main");
  for (const Proto& initializer : initializers) graph.message(5, initializer);
  return graph;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "owf-onnx-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

  fs::path write(const fs::path& name, std::span<const std::byte> bytes) const {
    const fs::path target = path_ / name;
    fs::create_directories(target.parent_path());
    std::ofstream out(target, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
    return target;
  }

 private:
  fs::path path_;
};

owf::Result<std::unique_ptr<owf::Model>> open_model(const fs::path& path) {
  return owf::formats::make_onnx_format()->open(path, {});
}

owf::Result<std::unique_ptr<owf::Model>> open_bytes(const TempDir& dir, const Proto& model) {
  return open_model(dir.write("model.onnx", model.bytes()));
}

// The tensor's bytes through read(); when view() offers them too, they must agree.
std::vector<std::byte> contents(const owf::Model& model, std::string_view name) {
  const auto index = model.find(name);
  REQUIRE_MESSAGE(index.has_value(), "no tensor ", std::string(name));
  auto bytes = owf::read_tensor(model, *index);
  REQUIRE_MESSAGE(bytes.ok(), bytes.status().message());
  if (const auto view = model.view(*index)) {
    CHECK(std::vector<std::byte>(view->begin(), view->end()) == *bytes);
  }
  return *bytes;
}

std::string open_error(const TempDir& dir, const Proto& model) {
  const auto opened = open_bytes(dir, model);
  REQUIRE_FALSE(opened.ok());
  return opened.status().message();
}

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

}  // namespace

TEST_CASE("raw_data of every data type is read in place") {
  struct Case {
    int onnx;
    owf::DType dtype;
    std::vector<std::uint64_t> shape;
    std::vector<std::byte> bytes;
  };
  const std::vector<Case> cases = {
      {kFloat, owf::DType::kF32, {2}, bytes_of({0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0})},
      {kUint8, owf::DType::kU8, {3}, bytes_of({1, 2, 255})},
      {kInt8, owf::DType::kI8, {2}, bytes_of({0xFF, 0x80})},
      {kUint16, owf::DType::kU16, {1}, bytes_of({1, 2})},
      {kInt16, owf::DType::kI16, {1}, bytes_of({0xFE, 0xFF})},
      {kInt32, owf::DType::kI32, {1}, bytes_of({1, 2, 3, 4})},
      {kInt64, owf::DType::kI64, {1}, bytes_of({1, 2, 3, 4, 5, 6, 7, 8})},
      {kBool, owf::DType::kBool, {2, 1}, bytes_of({1, 0})},
      {kFloat16, owf::DType::kF16, {1}, bytes_of({0x00, 0x3C})},
      {kDouble, owf::DType::kF64, {}, bytes_of({0, 0, 0, 0, 0, 0, 0xF0, 0x3F})},
      {kUint32, owf::DType::kU32, {1}, bytes_of({0xFF, 0xFF, 0xFF, 0xFF})},
      {kUint64, owf::DType::kU64, {1}, bytes_of({8, 7, 6, 5, 4, 3, 2, 1})},
      {kComplex64, owf::DType::kC64, {1}, bytes_of({0, 0, 0x80, 0x3F, 0, 0, 0, 0x40})},
      {kComplex128, owf::DType::kC128, {1}, bytes_of({0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0, 0, 0, 0, 0, 0, 0, 0x40})},
      {kBfloat16, owf::DType::kBF16, {2}, bytes_of({0x80, 0x3F, 0x00, 0xC0})},
      {kFloat8E4M3FN, owf::DType::kF8E4M3FN, {2}, bytes_of({0x38, 0x7F})},
      {kFloat8E4M3FNUZ, owf::DType::kF8E4M3FNUZ, {1}, bytes_of({0x80})},
      {kFloat8E5M2, owf::DType::kF8E5M2, {1}, bytes_of({0x3C})},
      {kFloat8E5M2FNUZ, owf::DType::kF8E5M2FNUZ, {1}, bytes_of({0x40})},
      {kUint4, owf::DType::kU4, {3}, bytes_of({0x21, 0x03})},
      {kInt4, owf::DType::kI4, {2, 2}, bytes_of({0xF1, 0x87})},
      {kFloat4E2M1, owf::DType::kF4E2M1, {2}, bytes_of({0x2A})},
      {kFloat8E8M0, owf::DType::kF8E8M0, {2}, bytes_of({127, 0xFF})},
  };
  TempDir dir;
  for (const Case& c : cases) {
    CAPTURE(c.onnx);
    Proto initializer;
    for (const std::uint64_t dim : c.shape) initializer.varint(kDims, dim);
    initializer.varint(kDataType, static_cast<std::uint64_t>(c.onnx)).text(kName, "t").len(kRawData, c.bytes);
    const auto model = open_bytes(dir, model_of(graph_of({initializer})));
    REQUIRE_MESSAGE(model.ok(), model.status().message());
    REQUIRE((*model)->tensors().size() == 1);
    const owf::TensorInfo& info = (*model)->tensors()[0];
    CHECK(info.dtype == c.dtype);
    CHECK(info.shape == c.shape);
    CHECK(info.byte_size == c.bytes.size());
    CHECK((*model)->view(0).has_value());
    CHECK((*model)->encoding(0) == "raw");
    CHECK(contents(**model, "t") == c.bytes);
  }
}

TEST_CASE("typed fields are decoded to owf's layout") {
  TempDir dir;
  Proto floats_packed = tensor("floats_packed", kFloat, {2});
  floats_packed.packed_floats(kFloatData, {1.0f, -2.0f});
  Proto floats_unpacked = tensor("floats_unpacked", kFloat, {2});
  floats_unpacked.fixed32(kFloatData, 0x3F800000).fixed32(kFloatData, 0xC0000000);
  Proto int8 = tensor("int8", kInt8, {3});
  int8.signed_varint(kInt32Data, -1).varint(kInt32Data, 127).signed_varint(kInt32Data, -128);
  Proto uint8 = tensor("uint8", kUint8, {2});
  uint8.packed_varints(kInt32Data, {0, 255});
  Proto int16 = tensor("int16", kInt16, {2});
  int16.packed_varints(kInt32Data, {-2, 300});
  Proto uint16 = tensor("uint16", kUint16, {1});
  uint16.packed_varints(kInt32Data, {65535});
  Proto int32 = tensor("int32", kInt32, {1});
  int32.packed_varints(kInt32Data, {-5});
  Proto boolean = tensor("bool", kBool, {2});
  boolean.packed_varints(kInt32Data, {1, 0});
  Proto half = tensor("f16", kFloat16, {1});
  half.packed_varints(kInt32Data, {0x3C00});
  Proto brain = tensor("bf16", kBfloat16, {2});
  brain.packed_varints(kInt32Data, {0x3F80, 0xC000});
  Proto fp8 = tensor("f8", kFloat8E4M3FN, {2});
  fp8.packed_varints(kInt32Data, {0x38, 0xFE});
  Proto fp8_fnuz = tensor("f8_e5m2fnuz", kFloat8E5M2FNUZ, {1});
  fp8_fnuz.packed_varints(kInt32Data, {0x80});
  Proto e8m0 = tensor("e8m0", kFloat8E8M0, {1});
  e8m0.packed_varints(kInt32Data, {127});
  Proto int4 = tensor("int4", kInt4, {3});  // two elements per value, low nibble first
  int4.packed_varints(kInt32Data, {0x21, 0xF3});
  Proto uint4 = tensor("uint4", kUint4, {2});
  uint4.packed_varints(kInt32Data, {0xAB});
  Proto fp4 = tensor("fp4", kFloat4E2M1, {4});
  fp4.packed_varints(kInt32Data, {0x12, 0x34});
  Proto int64 = tensor("int64", kInt64, {2});
  int64.packed_varints(kInt64Data, {-1, 1ll << 40});
  Proto uint32 = tensor("uint32", kUint32, {1});
  uint32.varint(kUint64Data, 0xFFFFFFFF);
  Proto uint64 = tensor("uint64", kUint64, {1});
  uint64.varint(kUint64Data, UINT64_MAX);
  Proto dbl = tensor("double", kDouble, {});
  dbl.packed_doubles(kDoubleData, {1.0});
  Proto c64 = tensor("c64", kComplex64, {1});
  c64.packed_floats(kFloatData, {1.0f, 2.0f});
  Proto c128 = tensor("c128", kComplex128, {1});
  c128.fixed64(kDoubleData, 0x3FF0000000000000ull).fixed64(kDoubleData, 0x4000000000000000ull);

  const auto model = open_bytes(
      dir, model_of(graph_of({floats_packed, floats_unpacked, int8,   uint8,    int16, uint16, int32, boolean,
                              half,          brain,           fp8,    fp8_fnuz, e8m0,  int4,   uint4, fp4,
                              int64,         uint32,          uint64, dbl,      c64,   c128})));
  REQUIRE_MESSAGE(model.ok(), model.status().message());
  const owf::Model& m = **model;
  CHECK(contents(m, "floats_packed") == bytes_of({0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0}));
  CHECK(m.encoding(*m.find("floats_packed")) == "float_data");
  CHECK(contents(m, "floats_unpacked") == bytes_of({0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0}));
  CHECK(contents(m, "int8") == bytes_of({0xFF, 0x7F, 0x80}));
  CHECK(m.stored_size(*m.find("int8")) == 10 + 1 + 10);  // negative int32 values take 10 bytes
  CHECK(m.encoding(*m.find("int8")) == "int32_data");
  CHECK(contents(m, "uint8") == bytes_of({0, 255}));
  CHECK(contents(m, "int16") == bytes_of({0xFE, 0xFF, 0x2C, 0x01}));
  CHECK(contents(m, "uint16") == bytes_of({0xFF, 0xFF}));
  CHECK(contents(m, "int32") == bytes_of({0xFB, 0xFF, 0xFF, 0xFF}));
  CHECK(contents(m, "bool") == bytes_of({1, 0}));
  CHECK(contents(m, "f16") == bytes_of({0x00, 0x3C}));
  CHECK(contents(m, "bf16") == bytes_of({0x80, 0x3F, 0x00, 0xC0}));
  CHECK(contents(m, "f8") == bytes_of({0x38, 0xFE}));
  CHECK(contents(m, "f8_e5m2fnuz") == bytes_of({0x80}));
  CHECK(contents(m, "e8m0") == bytes_of({127}));
  CHECK(contents(m, "int4") == bytes_of({0x21, 0x03}));  // the unused high nibble is cleared
  CHECK(contents(m, "uint4") == bytes_of({0xAB}));
  CHECK(contents(m, "fp4") == bytes_of({0x12, 0x34}));
  CHECK(contents(m, "int64") == bytes_of({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0}));
  CHECK(contents(m, "uint32") == bytes_of({0xFF, 0xFF, 0xFF, 0xFF}));
  CHECK(contents(m, "uint64") == bytes_of({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}));
  CHECK(contents(m, "double") == bytes_of({0, 0, 0, 0, 0, 0, 0xF0, 0x3F}));
  CHECK(contents(m, "c64") == bytes_of({0, 0, 0x80, 0x3F, 0, 0, 0, 0x40}));
  CHECK(contents(m, "c128") == bytes_of({0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0, 0, 0, 0, 0, 0, 0, 0x40}));
  CHECK(m.tensors()[*m.find("int4")].shape == std::vector<std::uint64_t>{3});
  CHECK(m.tensors()[*m.find("c128")].dtype == owf::DType::kC128);
}

TEST_CASE("typed-field values out of range, miscounted or misplaced are refused") {
  TempDir dir;
  const auto refused = [&](const Proto& bad) { return open_error(dir, model_of(graph_of({bad}))); };

  Proto uint8 = tensor("u", kUint8, {1});
  uint8.varint(kInt32Data, 256);
  CHECK(contains(refused(uint8), "model.onnx: tensor 'u': int32_data value 256 at offset "));
  CHECK(contains(refused(uint8), " is out of range for UINT8"));
  Proto int8 = tensor("i", kInt8, {1});
  int8.signed_varint(kInt32Data, -129);
  CHECK(contains(refused(int8), "int32_data value -129"));
  Proto boolean = tensor("b", kBool, {1});
  boolean.varint(kInt32Data, 2);
  CHECK(contains(refused(boolean), "out of range for BOOL"));
  Proto uint32 = tensor("u32", kUint32, {1});
  uint32.varint(kUint64Data, 1ull << 32);
  CHECK(contains(refused(uint32), "uint64_data value 4294967296"));

  Proto too_few = tensor("few", kInt8, {2});
  too_few.varint(kInt32Data, 1);
  CHECK(refused(too_few) == "model.onnx: tensor 'few': int32_data holds 1 values, INT8 [2] needs 2");
  Proto misplaced = tensor("where", kInt8, {1});
  misplaced.packed_floats(kFloatData, {1.0f});
  CHECK(refused(misplaced) == "model.onnx: tensor 'where': INT8 values belong in int32_data, not float_data");
  Proto two_fields = tensor("two", kFloat, {1});
  two_fields.packed_floats(kFloatData, {1.0f}).varint(kInt32Data, 1);
  CHECK(contains(refused(two_fields), "holds values in both float_data and int32_data"));
  Proto raw_and_typed = tensor("both", kFloat, {1});
  raw_and_typed.packed_floats(kFloatData, {1.0f}).len(kRawData, bytes_of({0, 0, 0, 0}));
  CHECK(refused(raw_and_typed) == "model.onnx: tensor 'both': holds values in both raw_data and float_data");
  Proto short_raw = tensor("short", kFloat, {2, 2});
  short_raw.len(kRawData, bytes_of({1, 2, 3, 4}));
  const std::string message = refused(short_raw);
  CHECK(contains(message, "model.onnx: tensor 'short': raw_data at offset "));
  CHECK(contains(message, " holds 4 bytes, FLOAT [2, 2] needs 16"));
  Proto packed_odd = tensor("odd", kFloat, {1});
  packed_odd.len(kFloatData, bytes_of({1, 2, 3}));
  CHECK(contains(refused(packed_odd), "3 bytes are not a multiple of 4"));
}

TEST_CASE("tensors owf cannot hold are refused by name") {
  TempDir dir;
  const auto status_of = [&](const Proto& bad) {
    const auto opened = open_bytes(dir, model_of(graph_of({bad})));
    REQUIRE_FALSE(opened.ok());
    return opened.status();
  };
  Proto strings = tensor("labels", kString, {1});
  strings.text(kStringData, "cat");
  CHECK(status_of(strings).code() == owf::ErrorCode::kNotSupported);
  CHECK(status_of(strings).message() == "model.onnx: tensor 'labels': string tensors are not supported");
  Proto segment = tensor("seg", kFloat, {1});
  segment.len(kSegment, {}).packed_floats(kFloatData, {1.0f});
  CHECK(contains(status_of(segment).message(), "segmented tensors (TensorProto.segment) are not supported"));
  CHECK(status_of(tensor("two_bit", 25, {4})).message() ==
        "model.onnx: tensor 'two_bit': data type UINT2 (25) is not supported");
  CHECK(status_of(tensor("future", 99, {1})).message() == "model.onnx: tensor 'future': unknown data type 99");
  CHECK(status_of(tensor("untyped", 0, {1})).code() == owf::ErrorCode::kCorruption);
  CHECK(status_of(tensor("empty", kFloat, {3})).message() ==
        "model.onnx: tensor 'empty': FLOAT [3] has no data (no raw_data, typed field or external_data)");
  Proto negative;
  negative.signed_varint(kDims, -1).varint(kDataType, kFloat).text(kName, "neg");
  CHECK(contains(status_of(negative).message(), ": dimension -1 at offset "));
  CHECK(contains(status_of(negative).message(), "model.onnx: TensorProto at offset "));
  Proto bad_name = tensor("bad\xff", kFloat, {0});
  CHECK(contains(status_of(bad_name).message(), "tensor 'bad\\xff'"));

  const auto zero_sized = open_bytes(dir, model_of(graph_of({tensor("nothing", kFloat, {0, 4})})));
  REQUIRE_MESSAGE(zero_sized.ok(), zero_sized.status().message());
  CHECK((*zero_sized)->tensors()[0].byte_size == 0);
}

TEST_CASE("Constant nodes give tensors named by their output, in subgraphs too") {
  Proto c1_value = tensor("", kInt64, {});
  c1_value.len(kRawData, bytes_of({5, 0, 0, 0, 0, 0, 0, 0}));
  Proto c2_attribute;
  c2_attribute.text(1, "value_floats").varint(20, 6).packed_floats(7, {1.0f, 2.0f});
  Proto c3_attribute;
  c3_attribute.text(1, "value_int").varint(20, 2).varint(3, 7);
  Proto c4_attribute;
  c4_attribute.text(1, "value_float").varint(20, 1).fixed32(2, 0x40200000);
  Proto c5_attribute;
  c5_attribute.text(1, "value_ints").varint(20, 7).varint(8, 1).signed_varint(8, -1);
  Proto sub_init = tensor("sub_init", kUint8, {1});
  sub_init.len(kRawData, bytes_of({9}));
  Proto fill = tensor("fill", kFloat, {1});
  fill.packed_floats(kFloatData, {0.0f});

  const Proto then_branch = graph_of({}, {node("Constant", "c2", {c2_attribute})});
  const Proto loop_body =
      graph_of({}, {node("Constant", "c3", {c3_attribute}), node("Constant", "c5", {c5_attribute})});
  Proto custom_graphs;  // an attribute of type GRAPHS (field 11)
  custom_graphs.text(1, "branches").varint(20, 10).message(11, graph_of({sub_init}));
  Proto weight = tensor("w", kFloat, {1});
  weight.packed_floats(kFloatData, {3.0f});
  const Proto main = graph_of({weight}, {
                                            constant("c1", c1_value),
                                            node("If", "y", {graph_attribute("then_branch", then_branch)}),
                                            node("Loop", "z", {graph_attribute("body", loop_body)}),
                                            node("Custom", "q", {custom_graphs}, "com.example"),
                                            node("Constant", "c4", {c4_attribute}, "ai.onnx"),
                                            node("ConstantOfShape", "s", {tensor_attribute("value", fill)}),
                                            node("Constant", "not_ours", {c4_attribute}, "com.example"),
                                        });
  TempDir dir;
  const auto model = open_bytes(dir, model_of(main));
  REQUIRE_MESSAGE(model.ok(), model.status().message());
  std::vector<std::string> names;
  for (const owf::TensorInfo& info : (*model)->tensors()) names.push_back(info.name);
  CHECK(names == std::vector<std::string>{"w", "c1", "c2", "c3", "c5", "sub_init", "c4"});
  const owf::Model& m = **model;
  CHECK(contents(m, "c1") == bytes_of({5, 0, 0, 0, 0, 0, 0, 0}));
  CHECK(m.tensors()[*m.find("c1")].shape.empty());
  CHECK(contents(m, "c2") == bytes_of({0, 0, 0x80, 0x3F, 0, 0, 0, 0x40}));
  CHECK(m.tensors()[*m.find("c2")].shape == std::vector<std::uint64_t>{2});
  CHECK(contents(m, "c3") == bytes_of({7, 0, 0, 0, 0, 0, 0, 0}));
  CHECK(m.tensors()[*m.find("c3")].dtype == owf::DType::kI64);
  CHECK(contents(m, "c4") == bytes_of({0, 0, 0x20, 0x40}));
  CHECK(m.tensors()[*m.find("c4")].shape.empty());
  CHECK(contents(m, "c5") == bytes_of({1, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}));
  CHECK(contents(m, "sub_init") == bytes_of({9}));
}

TEST_CASE("duplicate names, string constants and empty Constant nodes are refused") {
  TempDir dir;
  Proto weight = tensor("w", kUint8, {1});
  weight.len(kRawData, bytes_of({1}));
  Proto again = tensor("", kUint8, {1});
  again.len(kRawData, bytes_of({2}));
  const std::string duplicate = open_error(dir, model_of(graph_of({weight}, {constant("w", again)})));
  CHECK(contains(duplicate, "model.onnx: tensor 'w' at offset "));
  CHECK(contains(duplicate, ": the name is used by an earlier tensor"));

  Proto text;
  text.text(1, "value_string").varint(20, 3).text(4, "hello");
  const auto strings = open_bytes(dir, model_of(graph_of({}, {node("Constant", "greeting", {text})})));
  REQUIRE_FALSE(strings.ok());
  CHECK(strings.status().code() == owf::ErrorCode::kNotSupported);
  CHECK(strings.status().message() == "model.onnx: tensor 'greeting': string tensors are not supported");

  Proto no_output;
  no_output.text(4, "Constant").message(5, tensor_attribute("value", again));
  CHECK(contains(open_error(dir, model_of(graph_of({}, {no_output}))), "Constant node at offset "));
  Proto empty_value;
  empty_value.text(1, "value").varint(20, 4);
  CHECK(contains(open_error(dir, model_of(graph_of({}, {node("Constant", "c", {empty_value})}))),
                 "tensor 'c': Constant attribute 'value' at offset "));
}

TEST_CASE("subgraphs nested beyond the protobuf depth bound are refused") {
  Proto graph = graph_of({}, {});
  for (int i = 0; i < 40; ++i) graph = graph_of({}, {node("If", "y", {graph_attribute("then_branch", graph)})});
  TempDir dir;
  CHECK(contains(open_error(dir, model_of(graph)), "nested more than 100 levels deep"));
}

TEST_CASE("model facts go into metadata.onnx; sparse tensors are listed as skipped") {
  Proto sparse_values = tensor("sparse_w", kFloat, {1});
  sparse_values.packed_floats(kFloatData, {1.0f});
  Proto sparse;
  sparse.message(1, sparse_values).varint(3, 4);
  Proto graph = graph_of({});
  graph.message(15, sparse);
  Proto default_opset, ml_opset;
  default_opset.text(1, "").varint(2, 17);
  ml_opset.text(1, "ai.onnx.ml").varint(2, 3);
  Proto model;
  model.varint(1, 9)
      .text(2, "owf-test")
      .text(3, "1.0")
      .text(4, "ai.test")
      .varint(5, 3)
      .text(6, "says \"hi\"\n\xff\xf8\x90\x80\x80 \xc3\xa9")
      .message(7, graph)
      .message(8, default_opset)
      .message(8, ml_opset)
      .message(14, entry("a", "1"))
      .message(14, entry("b", "2"))
      .message(14, entry("a", "3"));
  TempDir dir;
  const auto opened = open_bytes(dir, model);
  REQUIRE_MESSAGE(opened.ok(), opened.status().message());
  const std::string& json = (*opened)->metadata();
  CHECK(json ==
        "{\"onnx\":{\"ir_version\":9,\"producer_name\":\"owf-test\",\"producer_version\":\"1.0\","
        "\"domain\":\"ai.test\",\"model_version\":3,\"doc_string\":\"says "
        "\\\"hi\\\"\\u000a\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd \xc3\xa9\","
        "\"graph_name\":\"main\",\"opset_import\":[{\"domain\":\"\",\"version\":17},"
        "{\"domain\":\"ai.onnx.ml\",\"version\":3}],\"metadata_props\":{\"a\":\"3\",\"b\":\"2\"},"
        "\"skipped_sparse_tensors\":[\"sparse_w\"]}}");
  CHECK(owf::validate_metadata(json, "model.onnx").ok());
  CHECK((*opened)->tensors().empty());
  CHECK((*opened)->format() == "ONNX (ir_version 9)");
}

TEST_CASE("external data is read from files inside the model's folder") {
  TempDir dir;
  dir.write("weights.bin", bytes_of({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}));
  dir.write("data/more.bin", bytes_of({0xAA, 0xBB}));
  const auto external = [](std::string_view name, std::initializer_list<Proto> entries, int type = kUint8,
                           std::uint64_t count = 8) {
    Proto message = tensor(name, type, {count});
    for (const Proto& e : entries) message.message(kExternalData, e);
    message.varint(kDataLocation, 1);
    return message;
  };
  const Proto model = model_of(graph_of({
      external("a", {entry("location", "weights.bin"), entry("offset", "8"), entry("length", "8")}),
      external("b", {entry("location", "weights.bin"), entry("length", "8")}),
      external("c", {entry("location", "data/more.bin")}, kUint8, 2),
      external("d",
               {entry("location", "data/../weights.bin"), entry("offset", "4"), entry("length", "4"),
                entry("checksum", "ignored")},
               kFloat, 1),
  }));
  const auto opened = open_bytes(dir, model);
  REQUIRE_MESSAGE(opened.ok(), opened.status().message());
  const owf::Model& m = **opened;
  CHECK(contents(m, "a") == bytes_of({8, 9, 10, 11, 12, 13, 14, 15}));
  CHECK(contents(m, "b") == bytes_of({0, 1, 2, 3, 4, 5, 6, 7}));
  CHECK(contents(m, "c") == bytes_of({0xAA, 0xBB}));
  CHECK(contents(m, "d") == bytes_of({4, 5, 6, 7}));
  CHECK(m.encoding(0) == "external");
  CHECK(m.view(0).has_value());
  std::vector<std::byte> part(3);
  REQUIRE(m.read(0, 5, part).ok());
  CHECK(part == bytes_of({13, 14, 15}));
  CHECK(m.read(0, 6, part).code() == owf::ErrorCode::kInvalidArgument);
}

TEST_CASE("external data that leaves the folder or does not fit is refused") {
  TempDir dir;
  dir.write("inside/weights.bin", bytes_of({0, 1, 2, 3, 4, 5, 6, 7}));
  dir.write("outside.bin", bytes_of({0, 1, 2, 3, 4, 5, 6, 7}));
  fs::create_symlink("../outside.bin", dir.path() / "inside" / "link.bin");
  const auto refused = [&](std::initializer_list<Proto> entries, std::uint64_t count = 8) {
    Proto message = tensor("w", kUint8, {count});
    for (const Proto& e : entries) message.message(kExternalData, e);
    message.varint(kDataLocation, 1);
    const auto opened = open_model(dir.write("inside/model.onnx", model_of(graph_of({message})).bytes()));
    REQUIRE_FALSE(opened.ok());
    return opened.status().message();
  };
  CHECK(refused({entry("location", "../outside.bin")}) ==
        "model.onnx: tensor 'w': external data '../outside.bin' is not a file inside the model's folder");
  CHECK(refused({entry("location", "sub/../../outside.bin")}) ==
        "model.onnx: tensor 'w': external data 'sub/../../outside.bin' is not a file inside the model's folder");
  CHECK(refused({entry("location", (dir.path() / "outside.bin").string())}).ends_with("is an absolute path"));
  CHECK(contains(refused({entry("location", "link.bin")}), "outside the model's folder"));
  CHECK(contains(refused({entry("location", "missing.bin")}), "external data 'missing.bin' cannot be opened: "));
  CHECK(refused({entry("location", ".")}) ==
        "model.onnx: tensor 'w': external data '.' is not a file inside the model's folder");
  CHECK(refused({entry("location", "weights.bin"), entry("offset", "4")}) ==
        "model.onnx: tensor 'w': external data 'weights.bin': length 4 does not match the tensor's 8 bytes");
  CHECK(refused({entry("location", "weights.bin"), entry("offset", "4"), entry("length", "8")}) ==
        "model.onnx: tensor 'w': external data 'weights.bin': bytes 4..12 exceed the file's 8 bytes");
  CHECK(refused({entry("location", "weights.bin"), entry("offset", "18446744073709551615"), entry("length", "8")})
            .ends_with("bytes 18446744073709551615..(overflow) exceed the file's 8 bytes"));
  CHECK(refused({entry("location", "weights.bin"), entry("length", "4")}, 8)
            .ends_with("length 4 does not match the tensor's 8 bytes"));
  CHECK(refused({entry("location", "weights.bin"), entry("offset", "-4")}) ==
        "model.onnx: tensor 'w': external_data offset '-4' is not a decimal number of bytes");
  CHECK(refused({entry("offset", "0")}) == "model.onnx: tensor 'w': external_data has no location");

  Proto both = tensor("w", kUint8, {1});
  both.len(kRawData, bytes_of({1})).message(kExternalData, entry("location", "weights.bin")).varint(kDataLocation, 1);
  CHECK(contains(open_error(dir, model_of(graph_of({both}))), "has both external_data and data in the file"));
  Proto odd_location = tensor("w", kUint8, {1});
  odd_location.len(kRawData, bytes_of({1})).varint(kDataLocation, 2);
  CHECK(contains(open_error(dir, model_of(graph_of({odd_location}))), "data_location 2 is neither"));
}

TEST_CASE("odd 4-bit tensors read with their unused high nibble cleared") {
  TempDir dir;
  Proto int4 = tensor("q", kInt4, {3});
  int4.len(kRawData, bytes_of({0x21, 0xF3}));
  const auto opened = open_bytes(dir, model_of(graph_of({int4})));
  REQUIRE_MESSAGE(opened.ok(), opened.status().message());
  CHECK_FALSE((*opened)->view(0).has_value());
  CHECK(contents(**opened, "q") == bytes_of({0x21, 0x03}));
  std::vector<std::byte> first(1);
  REQUIRE((*opened)->read(0, 0, first).ok());
  CHECK(first == bytes_of({0x21}));
}

TEST_CASE("detect recognises ModelProto heads, with the extension as a hint") {
  const auto format = owf::formats::make_onnx_format();
  Proto model = model_of(graph_of({}));
  CHECK(format->detect("model.bin", model.bytes()) != owf::Confidence::kNone);
  Proto no_ir_version;
  no_ir_version.text(2, "tool").message(7, graph_of({}));
  CHECK(format->detect("model.ONNX", no_ir_version.bytes()) != owf::Confidence::kNone);
  CHECK(format->detect("model.bin", no_ir_version.bytes()) == owf::Confidence::kNone);
  // A safetensors header length of 0x0108 starts with 0x08 too.
  CHECK(format->detect("model.bin", bytes_of({0x08, 0x01, 0, 0, 0, 0, 0, 0, '{', '}'})) == owf::Confidence::kNone);
  CHECK(format->detect("model.onnx", bytes_of({'G', 'G', 'U', 'F', 3, 0, 0, 0})) == owf::Confidence::kNone);
  CHECK(format->detect("model.onnx", {}) == owf::Confidence::kNone);
  // A graph that runs past the head still counts.
  Proto truncated;
  truncated.varint(1, 8).tag(7, 2).raw({0xFF, 0xFF, 0x01, 0x0A});
  CHECK(format->detect("model.bin", truncated.bytes()) != owf::Confidence::kNone);
  CHECK(format->name() == "onnx");
  CHECK(format->extensions() == std::vector<std::string_view>{".onnx"});
}

TEST_CASE("writing, keys and unreadable files are refused") {
  const auto format = owf::formats::make_onnx_format();
  TempDir dir;
  const fs::path path = dir.write("model.onnx", model_of(graph_of({})).bytes());
  auto model = format->open(path, {});
  REQUIRE(model.ok());
  const owf::Status written = format->write(**model, "{}", dir.path() / "out.onnx", {});
  CHECK(written.code() == owf::ErrorCode::kNotSupported);
  CHECK(written.message() == "onnx: writing is not supported");
  const auto keyed = format->open(path, owf::OpenOptions{"state_dict"});
  REQUIRE_FALSE(keyed.ok());
  CHECK(keyed.status().message() == "model.onnx: ONNX models have no keys to select ('state_dict')");
  CHECK_FALSE(format->open(dir.path() / "absent.onnx", {}).ok());
}

namespace {

fs::path corpus(std::string_view name) { return fs::path(OWF_CORPUS_DIR) / "onnx" / name; }

void check_every_tensor_reads(const owf::Model& model) {
  for (std::size_t i = 0; i < model.tensors().size(); ++i) {
    const auto bytes = owf::read_tensor(model, i);
    REQUIRE_MESSAGE(bytes.ok(), bytes.status().message());
    const auto view = model.view(i);
    REQUIRE(view.has_value());
    CHECK(std::vector<std::byte>(view->begin(), view->end()) == *bytes);
  }
  std::vector<owf::Problem> problems;
  model.verify(problems);
  CHECK(problems.empty());
}

}  // namespace

TEST_CASE("corpus: silero_vad_16k_op15.onnx has 15 initializers and 160 Constant tensors") {
  const auto model = open_model(corpus("silero_vad_16k_op15.onnx"));
  REQUIRE_MESSAGE(model.ok(), model.status().message());
  const auto& tensors = (*model)->tensors();
  REQUIRE(tensors.size() == 175);
  CHECK(tensors[0].name == "model.stft.forward_basis_buffer");
  CHECK(tensors[0].dtype == owf::DType::kF32);
  CHECK(tensors[0].shape == std::vector<std::uint64_t>{258, 1, 256});
  CHECK(tensors[14].name == "model.decoder.decoder.2.bias");
  CHECK(tensors[15].dtype == owf::DType::kI64);
  CHECK((*model)->find("/model/decoder/rnn/Constant_53_output_0").has_value());  // three If levels down
  CHECK(contains((*model)->metadata(), "\"producer_name\":\"pytorch\""));
  CHECK(owf::validate_metadata((*model)->metadata(), "silero").ok());
  check_every_tensor_reads(**model);
}

TEST_CASE("corpus: silero_vad_v6-repo.onnx keeps its weights in Constant nodes inside If subgraphs") {
  const auto model = open_model(corpus("silero_vad_v6-repo.onnx"));
  REQUIRE_MESSAGE(model.ok(), model.status().message());
  const owf::Model& m = **model;
  CHECK(m.tensors().size() == 341);
  const auto basis = m.find("If_0_then_branch__Inline_0__stft.forward_basis_buffer");
  REQUIRE(basis.has_value());
  CHECK(m.tensors()[*basis].shape == std::vector<std::uint64_t>{258, 1, 256});
  CHECK(m.tensors()[*basis].dtype == owf::DType::kF32);
  check_every_tensor_reads(m);
}

TEST_CASE("corpus: truncated copies are refused with a message, not a crash") {
  std::ifstream in(corpus("silero_vad_16k_op15.onnx"), std::ios::binary);
  const std::vector<char> whole{std::istreambuf_iterator<char>(in), {}};
  REQUIRE(whole.size() > 1000);
  TempDir dir;
  for (const std::size_t cut : {std::size_t{1}, std::size_t{7}, std::size_t{100}, whole.size() / 2, whole.size() - 1}) {
    CAPTURE(cut);
    const auto bytes = std::as_bytes(std::span<const char>(whole.data(), cut));
    const auto opened = open_model(dir.write("cut.onnx", bytes));
    REQUIRE_FALSE(opened.ok());
    CHECK(contains(opened.status().message(), "cut.onnx: "));
  }
}
