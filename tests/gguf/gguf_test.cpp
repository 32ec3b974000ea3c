// The GGUF adapter: hand-built files with every key-value type, tensors of plain and block types,
// alignments 32 and 64; malformed files, one case each; the corpus files written by gguf-py,
// llama.cpp and ollama; byte-exact GGUF -> owf -> GGUF round trips; writing models born elsewhere.
// GGUF bytes are built field by field here, independently of the adapter's encoder.
#include "gguf/gguf.h"

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "../lib/lib_test_util.h"
#include "gguf/gguf_file.h"
#include "owf/container.h"
#include "owf/internal/bytes.h"
#include "owf/metadata.h"

namespace {

namespace fs = std::filesystem;
using owf::DType;
using owf::test::MemoryModel;
using owf::test::ScratchDir;
using Json = nlohmann::ordered_json;

const fs::path kCorpus = OWF_CORPUS_DIR;

// GGUF metadata value types and ggml tensor types, from ggml's docs/gguf.md.
enum : std::uint32_t { kU8, kI8, kU16, kI16, kU32, kI32, kF32, kBool, kString, kArray, kU64, kI64, kF64 };
enum : std::uint32_t {
  kGgmlF32 = 0,
  kGgmlF16 = 1,
  kGgmlQ4_0 = 2,
  kGgmlQ8_0 = 8,
  kGgmlQ4_K = 12,
  kGgmlQ6_K = 14,
  kGgmlI32 = 26,
  kGgmlBF16 = 30
};

// A GGUF file assembled field by field.
class GgufBytes {
 public:
  GgufBytes& u8(std::uint8_t v) { return le(v); }
  GgufBytes& u16(std::uint16_t v) { return le(v); }
  GgufBytes& u32(std::uint32_t v) { return le(v); }
  GgufBytes& u64(std::uint64_t v) { return le(v); }
  GgufBytes& f32(float v) { return u32(std::bit_cast<std::uint32_t>(v)); }
  GgufBytes& f64(double v) { return u64(std::bit_cast<std::uint64_t>(v)); }
  GgufBytes& raw(std::string_view text) {
    owf::append_bytes(data_, owf::as_bytes(text));
    return *this;
  }
  GgufBytes& str(std::string_view text) { return u64(text.size()).raw(text); }
  GgufBytes& header(std::uint32_t version, std::uint64_t tensors, std::uint64_t kvs) {
    return raw("GGUF").u32(version).u64(tensors).u64(kvs);
  }
  GgufBytes& key(std::string_view name, std::uint32_t type) { return str(name).u32(type); }
  GgufBytes& array(std::string_view name, std::uint32_t element_type, std::uint64_t count) {
    return key(name, kArray).u32(element_type).u64(count);
  }
  GgufBytes& tensor(std::string_view name, std::vector<std::uint64_t> dims, std::uint32_t type, std::uint64_t offset) {
    str(name).u32(static_cast<std::uint32_t>(dims.size()));
    for (const std::uint64_t dim : dims) u64(dim);
    return u32(type).u64(offset);
  }
  GgufBytes& pad(std::size_t alignment) {
    while (data_.size() % alignment != 0) u8(0);
    return *this;
  }
  GgufBytes& data(std::size_t size, std::uint32_t seed) {
    owf::append_bytes(data_, owf::test::pattern_bytes(size, seed));
    return *this;
  }
  std::uint64_t size() const { return data_.size(); }
  const std::vector<std::byte>& bytes() const { return data_; }

 private:
  template <typename T>
  GgufBytes& le(T value) {
    owf::append_le(data_, value);
    return *this;
  }
  std::vector<std::byte> data_;
};

const owf::Format& gguf_format() {
  static const auto format = owf::formats::make_gguf_format();
  return *format;
}

owf::Result<std::unique_ptr<owf::Model>> open_gguf(const fs::path& path) { return gguf_format().open(path, {}); }

std::unique_ptr<owf::Model> open_ok(const fs::path& path) {
  auto model = open_gguf(path);
  REQUIRE_MESSAGE(model.ok(), model.status().message());
  return std::move(model).value();
}

Json metadata_of(const owf::Model& model) { return Json::parse(model.metadata()); }

// The file fails to open and the message contains every fragment.
void check_refused(const GgufBytes& file, std::initializer_list<std::string> fragments) {
  ScratchDir dir;
  owf::test::write_file(dir / "bad.gguf", file.bytes());
  auto model = open_gguf(dir / "bad.gguf");
  REQUIRE_FALSE(model.ok());
  const std::string message = model.status().message();
  CHECK_MESSAGE(message.starts_with("bad.gguf: "), message);
  for (const std::string& fragment : fragments) CHECK_MESSAGE(message.find(fragment) != std::string::npos, message);
}

// GGUF -> GGUF with the model's own metadata.
std::vector<std::byte> rewrite_gguf(const fs::path& input, const ScratchDir& dir) {
  const auto model = open_ok(input);
  const fs::path output = dir / "rewritten.gguf";
  const owf::Status status = gguf_format().write(*model, model->metadata(), output, {});
  REQUIRE_MESSAGE(status.ok(), status.message());
  return owf::test::read_file(output);
}

// GGUF -> owf (owf::write_owf) -> GGUF, the path a user takes through `owf convert`.
std::vector<std::byte> round_trip_through_owf(const fs::path& input, const ScratchDir& dir) {
  const auto model = open_ok(input);
  const fs::path middle = dir / "middle.owf";
  const owf::Status written = owf::write_owf(*model, model->metadata(), middle, {});
  REQUIRE_MESSAGE(written.ok(), written.message());
  const auto reader = owf::test::open_owf(middle);
  const fs::path output = dir / "back.gguf";
  const owf::Status status = gguf_format().write(*reader, reader->metadata(), output, {});
  REQUIRE_MESSAGE(status.ok(), status.message());
  return owf::test::read_file(output);
}

void check_round_trips(const fs::path& input) {
  ScratchDir dir;
  const auto original = owf::test::read_file(input);
  CHECK(rewrite_gguf(input, dir) == original);
  CHECK(round_trip_through_owf(input, dir) == original);
}

// A file with one key-value of every type, an array of every element type, and tensors of
// plain and block types (Q8_0, Q4_0, Q4_K, Q6_K), aligned to `alignment`.
GgufBytes every_type_file(std::uint32_t alignment) {
  const bool explicit_alignment = alignment != 32;
  GgufBytes file;
  file.header(3, 7, 29 + (explicit_alignment ? 1 : 0));
  file.key("general.architecture", kString).str("llama");
  if (explicit_alignment) file.key("general.alignment", kU32).u32(alignment);
  file.key("t.u8", kU8).u8(200);
  file.key("t.i8", kI8).u8(0xFB);  // -5
  file.key("t.u16", kU16).u16(65535);
  file.key("t.i16", kI16).u16(0x8000);  // -32768
  file.key("t.u32", kU32).u32(4000000000u);
  file.key("t.i32", kI32).u32(0x80000000u);  // INT32_MIN
  file.key("t.f32", kF32).f32(0.1f);
  file.key("t.bool", kBool).u8(1);
  file.key("t.string", kString).str("h\xc3\xa9llo");
  file.key("t.u64", kU64).u64(UINT64_MAX);
  file.key("t.i64", kI64).u64(0x8000000000000000ull);  // INT64_MIN
  file.key("t.f64", kF64).f64(1e-300);
  file.key("t.f32_nan_payload", kF32).u32(0x7fc00001u);
  file.key("t.f64_neg_zero", kF64).f64(-0.0);
  file.array("a.u8", kU8, 3).u8(1).u8(2).u8(255);
  file.array("a.i8", kI8, 2).u8(0xFF).u8(0x7F);
  file.array("a.u16", kU16, 1).u16(513);
  file.array("a.i16", kI16, 2).u16(0xFFFE).u16(7);
  file.array("a.u32", kU32, 0);
  file.array("a.i32", kI32, 2).u32(0xFFFFFFFFu).u32(42);
  file.array("a.f32", kF32, 6)
      .f32(std::numeric_limits<float>::infinity())
      .f32(-0.0f)
      .f32(std::numeric_limits<float>::denorm_min())
      .f32(std::numeric_limits<float>::max())
      .u32(0xffc00000u)  // negative quiet NaN
      .f32(9.999999747378752e-06f);
  file.array("a.bool", kBool, 2).u8(1).u8(0);
  file.array("a.string", kString, 3).str("a").str("").str("\xff\xfe");
  file.array("a.u64", kU64, 1).u64(1ull << 63);
  file.array("a.i64", kI64, 1).u64(UINT64_MAX);  // -1
  file.array("a.f64", kF64, 3).f64(std::nan("")).f64(-std::numeric_limits<double>::infinity()).f64(5e-324);
  file.array("a.empty_strings", kString, 0);
  file.key("general.quantization_version", kU32).u32(2);
  // Tensors: sizes 136, 54, 144, 210, 12, 20, 4; offsets are the running padded sums.
  struct Spec {
    const char* name;
    std::vector<std::uint64_t> dims;
    std::uint32_t type;
    std::size_t size;
  };
  const std::vector<Spec> tensors = {
      {"blk.0.q8", {64, 2}, kGgmlQ8_0, 136},
      {"blk.0.q4", {32, 3}, kGgmlQ4_0, 54},
      {"blk.0.q4k", {256, 1}, kGgmlQ4_K, 144},
      {"blk.0.q6k", {256}, kGgmlQ6_K, 210},
      {"norm", {3}, kGgmlF32, 12},
      {"half", {5, 2}, kGgmlF16, 20},
      {"scalar", {}, kGgmlI32, 4},
  };
  std::uint64_t offset = 0;
  for (const Spec& tensor : tensors) {
    file.tensor(tensor.name, tensor.dims, tensor.type, offset);
    offset = (offset + tensor.size + alignment - 1) / alignment * alignment;
  }
  file.pad(alignment);
  std::uint32_t seed = 1;
  for (const Spec& tensor : tensors) file.data(tensor.size, seed++).pad(alignment);
  return file;
}

Json find_kv(const Json& metadata, std::string_view key) {
  for (const Json& kv : metadata["gguf"]["kv"]) {
    if (kv["key"] == key) return kv;
  }
  return nullptr;
}

}  // namespace

// ---- reading -------------------------------------------------------------------------------

TEST_CASE("every key-value type is kept with its exact type and value, in file order") {
  ScratchDir dir;
  owf::test::write_file(dir / "types.gguf", every_type_file(32).bytes());
  const auto model = open_ok(dir / "types.gguf");
  CHECK(model->format() == "GGUF v3");
  CHECK(owf::validate_metadata(model->metadata(), "types.gguf").ok());
  const Json metadata = metadata_of(*model);
  CHECK(metadata["architecture"] == "llama");
  CHECK(metadata["gguf"]["version"] == 3);
  CHECK(metadata["gguf"]["alignment"] == 32);
  CHECK(metadata["gguf"]["tail_padding"] == true);
  const Json& kvs = metadata["gguf"]["kv"];
  REQUIRE(kvs.size() == 29);
  CHECK(kvs[0].dump() == R"({"key":"general.architecture","type":"string","value":"llama"})");
  CHECK(kvs[1].dump() == R"({"key":"t.u8","type":"u8","value":200})");
  CHECK(kvs[2].dump() == R"({"key":"t.i8","type":"i8","value":-5})");
  CHECK(kvs[3].dump() == R"({"key":"t.u16","type":"u16","value":65535})");
  CHECK(kvs[4].dump() == R"({"key":"t.i16","type":"i16","value":-32768})");
  CHECK(kvs[5].dump() == R"({"key":"t.u32","type":"u32","value":4000000000})");
  CHECK(kvs[6].dump() == R"({"key":"t.i32","type":"i32","value":-2147483648})");
  CHECK(kvs[7].dump() == R"({"key":"t.f32","type":"f32","value":0.1})");
  CHECK(kvs[8].dump() == R"({"key":"t.bool","type":"bool","value":true})");
  CHECK(kvs[9].dump() == "{\"key\":\"t.string\",\"type\":\"string\",\"value\":\"h\xc3\xa9llo\"}");
  CHECK(kvs[10].dump() == R"({"key":"t.u64","type":"u64","value":18446744073709551615})");
  CHECK(kvs[11].dump() == R"({"key":"t.i64","type":"i64","value":-9223372036854775808})");
  CHECK(kvs[12].dump() == R"({"key":"t.f64","type":"f64","value":1e-300})");
  CHECK(kvs[13].dump() == R"({"key":"t.f32_nan_payload","type":"f32","value":"nan:0x7fc00001"})");
  CHECK(kvs[14].dump() == R"({"key":"t.f64_neg_zero","type":"f64","value":-0.0})");
  CHECK(kvs[15].dump() == R"({"key":"a.u8","type":"array","element_type":"u8","value":[1,2,255]})");
  CHECK(kvs[16]["value"].dump() == "[-1,127]");
  CHECK(kvs[18]["value"].dump() == "[-2,7]");
  CHECK(kvs[19].dump() == R"({"key":"a.u32","type":"array","element_type":"u32","value":[]})");
  CHECK(kvs[21]["value"].dump() == R"(["inf",-0.0,1e-45,3.4028235e+38,"nan:0xffc00000",1e-05])");
  CHECK(kvs[22]["value"].dump() == "[true,false]");
  CHECK(kvs[23]["value"].dump() == R"(["a","",{"hex":"fffe"}])");
  CHECK(kvs[24]["value"].dump() == "[9223372036854775808]");
  CHECK(kvs[25]["value"].dump() == "[-1]");
  CHECK(kvs[26]["value"].dump() == R"(["nan","-inf",5e-324])");
}

TEST_CASE("tensors: ggml types become owf dtypes, dims are reversed, data is read and viewed") {
  ScratchDir dir;
  const GgufBytes file = every_type_file(64);
  owf::test::write_file(dir / "t.gguf", file.bytes());
  const auto model = open_ok(dir / "t.gguf");
  const auto& tensors = model->tensors();
  REQUIRE(tensors.size() == 7);
  CHECK(tensors[0].name == "blk.0.q8");
  CHECK(tensors[0].dtype == DType::kQ8_0);
  CHECK(tensors[0].shape == std::vector<std::uint64_t>{2, 64});
  CHECK(tensors[1].dtype == DType::kQ4_0);
  CHECK(tensors[1].shape == std::vector<std::uint64_t>{3, 32});
  CHECK(tensors[2].dtype == DType::kQ4_K);
  CHECK(tensors[3].dtype == DType::kQ6_K);
  CHECK(tensors[3].shape == std::vector<std::uint64_t>{256});
  CHECK(tensors[4].dtype == DType::kF32);
  CHECK(tensors[5].dtype == DType::kF16);
  CHECK(tensors[5].shape == std::vector<std::uint64_t>{2, 5});
  CHECK(tensors[6].dtype == DType::kI32);
  CHECK(tensors[6].shape.empty());
  CHECK(metadata_of(*model)["gguf"]["alignment"] == 64);

  // The data of "norm" (seed 5, 12 bytes) sits at the data start plus 4 padded tensors.
  const std::vector<std::byte> expected = owf::test::pattern_bytes(12, 5);
  std::vector<std::byte> piece(8);
  REQUIRE(model->read(4, 4, piece).ok());
  CHECK(std::equal(piece.begin(), piece.end(), expected.begin() + 4));
  const auto view = model->view(4);
  REQUIRE(view.has_value());
  CHECK(std::equal(view->begin(), view->end(), expected.begin(), expected.end()));
  CHECK(model->read(4, 8, piece).message() ==
        "t.gguf: tensor 'norm': read of 8 bytes at offset 8 exceeds its 12 bytes");
  CHECK(owf::test::problems_of(*model).empty());
}

TEST_CASE("round trip is byte-identical: every key-value type, alignment 32") {
  ScratchDir dir;
  owf::test::write_file(dir / "a32.gguf", every_type_file(32).bytes());
  check_round_trips(dir / "a32.gguf");
}

TEST_CASE("round trip is byte-identical: alignment 64 with Q8_0, Q4_0 and K-quant tensors") {
  ScratchDir dir;
  owf::test::write_file(dir / "a64.gguf", every_type_file(64).bytes());
  check_round_trips(dir / "a64.gguf");
}

TEST_CASE("round trip is byte-identical: no tensors and no padding at the end, as gguf-py's vocab files") {
  ScratchDir dir;
  GgufBytes file;
  file.header(3, 0, 2)
      .key("general.architecture", kString)
      .str("bert")
      .array("tokenizer.ggml.tokens", kString, 2)
      .str("[PAD]")
      .str("x");
  REQUIRE(file.size() % 32 != 0);
  owf::test::write_file(dir / "vocab.gguf", file.bytes());
  CHECK(metadata_of(*open_ok(dir / "vocab.gguf"))["gguf"]["tail_padding"] == false);
  check_round_trips(dir / "vocab.gguf");
}

TEST_CASE("GGUF v2 reads and is written back as v3 with otherwise identical bytes") {
  ScratchDir dir;
  GgufBytes file;
  file.header(2, 1, 1)
      .key("general.architecture", kString)
      .str("gpt2")
      .tensor("w", {4}, kGgmlF32, 0)
      .pad(32)
      .data(16, 9)
      .pad(32);
  owf::test::write_file(dir / "v2.gguf", file.bytes());
  const auto model = open_ok(dir / "v2.gguf");
  CHECK(model->format() == "GGUF v2");
  CHECK(metadata_of(*model)["gguf"]["version"] == 2);
  auto expected = file.bytes();
  expected[4] = std::byte{3};
  CHECK(rewrite_gguf(dir / "v2.gguf", dir) == expected);
}

TEST_CASE("owf standard keys come from general.architecture, general.license, general.source.url") {
  ScratchDir dir;
  GgufBytes file;
  file.header(3, 0, 6)
      .key("general.architecture", kString)
      .str("llama")
      .key("general.license", kString)
      .str("Apache-2.0")
      .key("general.source.url", kString)
      .str("https://example.org/model")
      .key("general.base_model.count", kU32)
      .u32(1)
      .key("general.base_model.0.name", kString)
      .str("Base A")
      .key("general.name", kU32)
      .u32(5);
  owf::test::write_file(dir / "std.gguf", file.bytes());
  const Json metadata = metadata_of(*open_ok(dir / "std.gguf"));
  CHECK(metadata["architecture"] == "llama");
  CHECK(metadata["license"] == "Apache-2.0");
  // Base models have no content digest, which owf parents require: they stay key-values only.
  CHECK(metadata["provenance"].dump() == R"({"source":{"url":"https://example.org/model"}})");
  CHECK(find_kv(metadata, "general.base_model.0.name")["value"] == "Base A");
}

TEST_CASE("standard keys of the wrong GGUF type are not mapped") {
  ScratchDir dir;
  GgufBytes file;
  file.header(3, 0, 2).key("general.architecture", kU32).u32(1).key("general.license", kString).str("\xff");
  owf::test::write_file(dir / "odd.gguf", file.bytes());
  const Json metadata = metadata_of(*open_ok(dir / "odd.gguf"));
  CHECK_FALSE(metadata.contains("architecture"));
  CHECK_FALSE(metadata.contains("license"));
  CHECK(find_kv(metadata, "general.license")["value"].dump() == R"({"hex":"ff"})");
}

TEST_CASE("verify reports padding bytes that are not zero") {
  ScratchDir dir;
  GgufBytes file;
  file.header(3, 1, 0).tensor("w", {2}, kGgmlF32, 0);
  const std::uint64_t gap = file.size();
  file.pad(32).data(8, 1).pad(32);
  auto bytes = file.bytes();
  bytes[gap + 1] = std::byte{7};
  owf::test::write_file(dir / "dirty.gguf", bytes);
  const auto model = open_ok(dir / "dirty.gguf");
  CHECK(owf::test::problems_of(*model).find("dirty.gguf: padding byte at offset " + std::to_string(gap + 1)) !=
        std::string::npos);
}

// ---- malformed files -----------------------------------------------------------------------

TEST_CASE("malformed: bad magic") {
  GgufBytes file;
  file.raw("GGUX").u32(3).u64(0).u64(0);
  check_refused(file, {"not a GGUF file: magic at offset 0 is 47 47 55 58"});
}

TEST_CASE("malformed: bad version") {
  GgufBytes file;
  file.header(7, 0, 0);
  check_refused(file, {"GGUF version 7 at offset 4 is not supported"});
}

TEST_CASE("malformed: GGUF v1 is refused") {
  GgufBytes file;
  file.header(1, 0, 0);
  check_refused(file, {"GGUF v1 is not supported"});
}

TEST_CASE("malformed: big-endian GGUF is refused, named") {
  GgufBytes file;
  file.raw("GGUF").raw(std::string_view("\0\0\0\3", 4)).u64(0).u64(0);
  check_refused(file, {"big-endian GGUF", "offset 4"});
}

TEST_CASE("malformed: truncated header") {
  GgufBytes file;
  file.raw("GGUF").u32(3).u32(0);
  check_refused(file, {"tensor count at offset 8 needs 8 bytes, only 4 remain"});
}

TEST_CASE("malformed: duplicate key") {
  GgufBytes file;
  file.header(3, 0, 2).key("a.b", kU8).u8(1);
  const std::uint64_t second = file.size();
  file.key("a.b", kU8).u8(2);
  check_refused(file, {"duplicate key 'a.b' at offset " + std::to_string(second)});
}

TEST_CASE("malformed: duplicate tensor name") {
  GgufBytes file;
  file.header(3, 2, 0).tensor("w", {8}, kGgmlF32, 0);
  const std::uint64_t second = file.size();
  file.tensor("w", {8}, kGgmlF32, 32).pad(32).data(64, 1);
  check_refused(file, {"duplicate tensor name 'w' at offset " + std::to_string(second)});
}

TEST_CASE("malformed: huge string length") {
  GgufBytes file;
  file.header(3, 0, 1).u64(1ull << 62).raw("general.name");
  check_refused(file, {"key at offset 24: length 4611686018427387904 exceeds the 12 bytes that remain"});
}

TEST_CASE("malformed: huge string length inside a string value") {
  GgufBytes file;
  file.header(3, 0, 1).key("k", kString).u64(UINT64_MAX).raw("abc");
  check_refused(file, {"key 'k': value at offset 37: length 18446744073709551615 exceeds the 3 bytes"});
}

TEST_CASE("malformed: huge array count") {
  GgufBytes file;
  file.header(3, 0, 1).key("k", kArray).u32(kU32);
  const std::uint64_t count_at = file.size();
  file.u64(1ull << 60).u32(1).u32(2);
  check_refused(file, {"key 'k' at offset " + std::to_string(count_at) + ": array count 1152921504606846976",
                       "only 8 bytes remain"});
}

TEST_CASE("arrays beyond the element budget are refused before they are read") {
  GgufBytes value;
  value.key("a", kArray).u32(kU8).u64(3).u8(1).u8(2).u8(3);
  owf::ByteCursor cursor(value.bytes(), 100);
  const auto kv = owf::formats::gguf::read_key_value(cursor, 2);
  REQUIRE_FALSE(kv.ok());
  CHECK(kv.status().code() == owf::ErrorCode::kNotSupported);
  CHECK(kv.status().message() ==
        "key 'a' at offset 117: array count 3 exceeds what owf reads (16777216 elements in all key-values)");
  owf::ByteCursor again(value.bytes(), 100);
  REQUIRE(owf::formats::gguf::read_key_value(again, 3).ok());
}

TEST_CASE("malformed: huge key-value count") {
  GgufBytes file;
  file.header(3, 0, 1ull << 40).key("k", kU8).u8(1);
  check_refused(file, {"key-value count 1099511627776 at offset 16 cannot fit in the 14 bytes"});
}

TEST_CASE("malformed: huge tensor count") {
  GgufBytes file;
  file.header(3, 1ull << 40, 0).tensor("w", {1}, kGgmlF32, 0);
  check_refused(file, {"tensor count 1099511627776 at offset 8 cannot fit"});
}

TEST_CASE("malformed: nested arrays") {
  GgufBytes file;
  file.header(3, 0, 1).key("k", kArray);
  const std::uint64_t at = file.size();
  file.u32(kArray).u64(1).u32(kU8).u64(1).u8(1);
  check_refused(file, {"key 'k' at offset " + std::to_string(at) + ": nested arrays are not supported"});
}

TEST_CASE("malformed: unknown key-value type") {
  GgufBytes file;
  file.header(3, 0, 1).str("k");
  const std::uint64_t at = file.size();
  file.u32(13).u32(0);
  check_refused(file, {"key 'k': value type at offset " + std::to_string(at) + ": unknown value type 13"});
}

TEST_CASE("malformed: bool value other than 0 and 1") {
  GgufBytes file;
  file.header(3, 0, 1).key("k", kBool);
  const std::uint64_t at = file.size();
  file.u8(2);
  check_refused(file, {"key 'k': value at offset " + std::to_string(at) + ": bool value 2 is neither 0 nor 1"});
}

TEST_CASE("malformed: rank above the limit of 4") {
  GgufBytes file;
  file.header(3, 1, 0).str("w");
  const std::uint64_t at = file.size();
  file.u32(5).u64(1).u64(1).u64(1).u64(1).u64(1).u32(kGgmlF32).u64(0).pad(32).data(4, 1);
  check_refused(file, {"tensor 'w' at offset " + std::to_string(at) + ": 5 dimensions exceed GGUF's limit of 4"});
}

TEST_CASE("malformed: unknown ggml type") {
  GgufBytes file;
  file.header(3, 1, 0);
  const std::uint64_t at = file.size();
  file.tensor("w", {32}, 4, 0).pad(32).data(32, 1);  // 4 was Q4_2, removed from ggml
  check_refused(file, {"tensor info at offset " + std::to_string(at) + ": tensor 'w': unknown ggml type 4"});
}

TEST_CASE("malformed: ne[0] not a multiple of the block size") {
  GgufBytes file;
  file.header(3, 1, 0);
  const std::uint64_t at = file.size();
  file.tensor("q", {33, 2}, kGgmlQ8_0, 0).pad(32).data(68, 1);
  check_refused(
      file, {"tensor info at offset " + std::to_string(at) + ": tensor 'q'", "not a multiple of the block size 32"});
}

TEST_CASE("malformed: misaligned data offset") {
  GgufBytes file;
  file.header(3, 2, 0).tensor("a", {2}, kGgmlF32, 0);
  const std::uint64_t at = file.size();
  file.tensor("b", {2}, kGgmlF32, 8).pad(32).data(40, 1);
  check_refused(file, {"tensor 'b' (info at offset " + std::to_string(at) +
                       "): data offset 8 is not a multiple of the alignment 32"});
}

TEST_CASE("malformed: data offsets not the running padded sum") {
  GgufBytes file;
  file.header(3, 2, 0).tensor("a", {2}, kGgmlF32, 0);
  const std::uint64_t at = file.size();
  file.tensor("b", {2}, kGgmlF32, 64).pad(32).data(96, 1);
  check_refused(file, {"tensor 'b' (info at offset " + std::to_string(at) + "): data offset 64 should be 32"});
}

TEST_CASE("malformed: tensor data beyond the end of the file") {
  GgufBytes file;
  file.header(3, 1, 0).tensor("w", {100}, kGgmlF32, 0).pad(32).data(40, 1);
  check_refused(file, {"tensor 'w' (info at offset 24): data of 400 bytes at data offset 0 (file offset 64) runs "
                       "past the end of the file (104 bytes)"});
}

TEST_CASE("malformed: bytes after the padded end of the data") {
  GgufBytes file;
  file.header(3, 1, 0).tensor("w", {2}, kGgmlF32, 0).pad(32).data(8, 1).pad(32).data(5, 2);
  check_refused(file, {"the content ends at offset 72 but the file has 101 bytes"});
}

TEST_CASE("malformed: general.alignment of the wrong type") {
  GgufBytes file;
  file.header(3, 0, 1).key("general.alignment", kU64).u64(32);
  check_refused(file, {"key 'general.alignment' at offset 24: type u64, GGUF requires u32"});
}

TEST_CASE("malformed: general.alignment not a power of two") {
  GgufBytes file;
  file.header(3, 0, 1).key("general.alignment", kU32).u32(48);
  check_refused(file, {"key 'general.alignment' at offset 24: alignment 48 is not a power of two"});
}

TEST_CASE("malformed: general.alignment zero") {
  GgufBytes file;
  file.header(3, 0, 1).key("general.alignment", kU32).u32(0);
  check_refused(file, {"alignment 0 is not a power of two"});
}

// ---- legacy ggml and detection -------------------------------------------------------------

TEST_CASE("legacy ggml files are detected and refused, naming the format") {
  const fs::path whisper = kCorpus / "other" / "whisper.cpp-for-tests-silero-v6.2.0-ggml.bin";
  const auto head = owf::test::read_file(whisper);
  CHECK(gguf_format().detect(whisper, std::span(head).first(64)) != owf::Confidence::kNone);
  auto model = open_gguf(whisper);
  REQUIRE_FALSE(model.ok());
  CHECK(model.status().code() == owf::ErrorCode::kNotSupported);
  CHECK(model.status().message() ==
        "whisper.cpp-for-tests-silero-v6.2.0-ggml.bin: legacy ggml file ('lmgg' magic, pre-GGUF): not supported; "
        "convert it to GGUF with llama.cpp first");

  ScratchDir dir;
  GgufBytes session;
  session.raw("nsgg").u32(1).u64(0);
  owf::test::write_file(dir / "state.bin", session.bytes());
  CHECK(gguf_format().detect(dir / "state.bin", session.bytes()) != owf::Confidence::kNone);
  CHECK(open_gguf(dir / "state.bin").status().message().find("llama.cpp session file ('nsgg' magic)") !=
        std::string::npos);
}

TEST_CASE("detect accepts GGUF and nothing else") {
  GgufBytes gguf;
  gguf.header(3, 0, 0);
  CHECK(gguf_format().detect("x.bin", gguf.bytes()) != owf::Confidence::kNone);
  const auto stories = owf::test::read_file(kCorpus / "other" / "stories260K.bin");
  CHECK(gguf_format().detect("stories260K.bin", std::span(stories).first(64)) == owf::Confidence::kNone);
  CHECK(gguf_format().detect("tiny", std::span(gguf.bytes()).first(3)) == owf::Confidence::kNone);
  CHECK(gguf_format().name() == "gguf");
  CHECK(gguf_format().extensions() == std::vector<std::string_view>{".gguf"});
}

// ---- the corpus (facts checked with an independent reader of the bytes, as gguf-py reports) --

TEST_CASE("corpus: ggml-mnist-fc-f32.gguf (gguf-py) reads and round trips byte for byte") {
  const fs::path path = kCorpus / "gguf" / "ggml-mnist-fc-f32.gguf";
  const auto model = open_ok(path);
  const auto& tensors = model->tensors();
  REQUIRE(tensors.size() == 4);
  const std::vector<std::pair<std::string, std::vector<std::uint64_t>>> expected = {
      {"fc1.weight", {500, 784}}, {"fc1.bias", {500}}, {"fc2.weight", {10, 500}}, {"fc2.bias", {10}}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(tensors[i].name == expected[i].first);
    CHECK(tensors[i].shape == expected[i].second);
    CHECK(tensors[i].dtype == DType::kF32);
  }
  const Json metadata = metadata_of(*model);
  CHECK(metadata["architecture"] == "mnist-fc");
  CHECK(metadata["gguf"]["kv"].size() == 1);
  check_round_trips(path);
}

TEST_CASE("corpus: ollama-llama-2-tiny-random.gguf reads and round trips byte for byte") {
  const fs::path path = kCorpus / "gguf" / "ollama-llama-2-tiny-random.gguf";
  const auto model = open_ok(path);
  const auto& tensors = model->tensors();
  REQUIRE(tensors.size() == 12);
  CHECK(tensors[0].name == "token_embd.weight");
  CHECK(tensors[0].dtype == DType::kF16);
  CHECK(tensors[0].shape == std::vector<std::uint64_t>{32000, 8});
  CHECK(tensors[7].name == "blk.0.ffn_down.weight");
  CHECK(tensors[7].shape == std::vector<std::uint64_t>{8, 32});
  CHECK(tensors[8].name == "blk.0.attn_norm.weight");
  CHECK(tensors[8].dtype == DType::kF32);
  CHECK(tensors[11].name == "output.weight");
  const Json metadata = metadata_of(*model);
  CHECK(metadata["architecture"] == "llama");
  REQUIRE(metadata["gguf"]["kv"].size() == 18);
  CHECK(find_kv(metadata, "general.name")["value"] == "LLaMA v2");
  CHECK(find_kv(metadata, "llama.context_length").dump() ==
        R"({"key":"llama.context_length","type":"u32","value":4096})");
  CHECK(find_kv(metadata, "llama.attention.layer_norm_rms_epsilon")["value"].dump() == "1e-05");
  const Json tokens = find_kv(metadata, "tokenizer.ggml.tokens");
  CHECK(tokens["element_type"] == "string");
  REQUIRE(tokens["value"].size() == 32000);
  CHECK(tokens["value"][0] == "<unk>");
  CHECK(tokens["value"][1] == "<s>");
  CHECK(find_kv(metadata, "tokenizer.ggml.token_type")["element_type"] == "i32");
  CHECK(find_kv(metadata, "tokenizer.ggml.scores")["element_type"] == "f32");
  check_round_trips(path);
}

// The three vocab files in the corpus went through a text-mode copy that replaced every byte
// sequence that is not UTF-8 with U+FFFD (EF BF BD): the whole files are valid UTF-8. Their
// length fields no longer match, and the reader must say where, not crash or read garbage.
TEST_CASE("corpus: the damaged ggml-vocab files are refused with the offset of the first bad field") {
  struct Damaged {
    const char* file;
    const char* fragment;
  };
  const Damaged damaged[] = {
      {"ggml-vocab-bert-bge.gguf",
       "key at offset 212: length 1572864 exceeds the 627333 bytes that remain (the "
       "bytes EF BF BD, U+FFFD, at offset 208 suggest a text-mode copy"},
      {"ggml-vocab-llama-spm.gguf", "key at offset 399: length 73939795391 exceeds"},
      {"ggml-vocab-phi-3.gguf", "key at offset 443: length 108299533759 exceeds"},
  };
  for (const Damaged& file : damaged) {
    CAPTURE(file.file);
    auto model = open_gguf(kCorpus / "gguf" / file.file);
    REQUIRE_FALSE(model.ok());
    CHECK(model.status().code() == owf::ErrorCode::kCorruption);
    CHECK(model.status().message().starts_with(std::string(file.file) + ": "));
    CHECK(model.status().message().find(file.fragment) != std::string::npos);
  }
}

// ---- writing -------------------------------------------------------------------------------

TEST_CASE("writing a model born elsewhere: dims reversed, standard keys mapped to general.*") {
  ScratchDir dir;
  MemoryModel model;
  model.add_pattern("w", DType::kF32, {2, 3}, 1);
  model.add_pattern("b", DType::kBF16, {3}, 2);
  model.add_pattern("q", DType::kQ8_0, {2, 32}, 3);
  const std::string metadata = R"({"architecture":"mlp","license":"MIT","user":{"x":1},
      "provenance":{"source":{"name":"src","url":"https://example.org/m"},
                    "parents":[{"digest":"sha256:11"},{"name":"model.safetensors","digest":"sha256:00"}]}})";
  const owf::Status status = gguf_format().write(model, metadata, dir / "out.gguf", {});
  REQUIRE_MESSAGE(status.ok(), status.message());

  // The tensor info of "w" as GGUF stores it: ne[] innermost first, F32, offset 0.
  GgufBytes info;
  info.tensor("w", {3, 2}, kGgmlF32, 0);
  const auto bytes = owf::test::read_file(dir / "out.gguf");
  CHECK(std::search(bytes.begin(), bytes.end(), info.bytes().begin(), info.bytes().end()) != bytes.end());

  const auto back = open_ok(dir / "out.gguf");
  REQUIRE(back->tensors().size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(back->tensors()[i].name == model.tensors()[i].name);
    CHECK(back->tensors()[i].shape == model.tensors()[i].shape);
    CHECK(back->tensors()[i].dtype == model.tensors()[i].dtype);
    const auto data = owf::read_tensor(*back, i);
    REQUIRE(data.ok());
    CHECK(*data == model.data(i));
  }
  const Json written = metadata_of(*back);
  CHECK(written["gguf"]["kv"].dump() ==
        R"([{"key":"general.architecture","type":"string","value":"mlp"},)"
        R"({"key":"general.license","type":"string","value":"MIT"},)"
        R"({"key":"general.source.url","type":"string","value":"https://example.org/m"},)"
        R"({"key":"general.base_model.count","type":"u32","value":1},)"
        R"({"key":"general.base_model.0.name","type":"string","value":"model.safetensors"},)"
        R"({"key":"general.quantization_version","type":"u32","value":2}])");
  CHECK(written["gguf"]["alignment"] == 32);
}

TEST_CASE("writing refuses what GGUF cannot hold, naming the tensor") {
  ScratchDir dir;
  SUBCASE("a dtype without a ggml type") {
    MemoryModel model;
    model.add_pattern("mask", DType::kU8, {4});
    const auto status = gguf_format().write(model, "{}", dir / "x.gguf", {});
    CHECK(status.code() == owf::ErrorCode::kNotSupported);
    CHECK(status.message() == "x.gguf: tensor 'mask': dtype u8 has no GGUF type");
  }
  SUBCASE("rank above 4") {
    MemoryModel model;
    model.add_pattern("t5", DType::kF32, {1, 1, 1, 1, 2});
    CHECK(gguf_format().write(model, "{}", dir / "x.gguf", {}).message() ==
          "x.gguf: tensor 't5': rank 5 exceeds GGUF's limit of 4 dimensions");
  }
  SUBCASE("a name longer than ggml allows") {
    MemoryModel model;
    model.add_pattern(std::string(64, 'n'), DType::kF32, {1});
    const auto status = gguf_format().write(model, "{}", dir / "x.gguf", {});
    CHECK(status.message().find("name is 64 bytes; GGUF allows at most 63") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(dir / "x.gguf"));
}

TEST_CASE("writing refuses metadata.gguf that GGUF cannot hold, naming the JSON path") {
  ScratchDir dir;
  MemoryModel model;
  const auto message_for = [&](const std::string& gguf_section) {
    return gguf_format().write(model, R"({"gguf":)" + gguf_section + "}", dir / "x.gguf", {}).message();
  };
  CHECK(message_for(R"({"kv":[{"key":"k","type":"u8","value":300}]})") ==
        "x.gguf: metadata.gguf.kv[0] ('k').value: 300 does not fit u8");
  CHECK(message_for(R"({"kv":[{"key":"k","type":"i16","value":-32769}]})") ==
        "x.gguf: metadata.gguf.kv[0] ('k').value: -32769 does not fit i16");
  CHECK(message_for(R"({"kv":[{"key":"k","type":"f32","value":1e39}]})").find("does not fit f32") != std::string::npos);
  CHECK(message_for(R"({"kv":[{"key":"k","type":"u8","value":1},{"key":"k","type":"u8","value":2}]})") ==
        "x.gguf: metadata.gguf.kv[1]: duplicate key 'k'");
  CHECK(message_for(R"({"kv":[{"key":"a","type":"array","element_type":"array","value":[]}]})")
            .find("nested arrays are not supported") != std::string::npos);
  CHECK(message_for(R"({"kv":[{"key":"general.alignment","type":"u64","value":32}]})").find("GGUF requires u32") !=
        std::string::npos);
  CHECK(message_for(R"({"alignment":64,"kv":[]})") ==
        "x.gguf: metadata.gguf.alignment: 64 disagrees with general.alignment (32)");
  CHECK(message_for(R"({"kv":[{"key":"k","type":"f64","value":"big"}]})").find("'big' is not a number") !=
        std::string::npos);
  CHECK(message_for(R"({"kv":[{"key":"k","type":"string","value":{"hex":"abc"}}]})").find("hex") != std::string::npos);
  CHECK(message_for(R"([])") == "x.gguf: metadata.gguf: expected an object");
  CHECK_FALSE(fs::exists(dir / "x.gguf"));
}

TEST_CASE("writing a GGUF-born model: changed standard keys replace their general.* value in place") {
  ScratchDir dir;
  GgufBytes file;
  file.header(3, 0, 3)
      .key("general.architecture", kString)
      .str("llama")
      .key("general.license", kString)
      .str("MIT")
      .key("general.name", kString)
      .str("m");
  owf::test::write_file(dir / "in.gguf", file.bytes());
  const auto model = open_ok(dir / "in.gguf");
  Json metadata = metadata_of(*model);
  metadata["license"] = "Apache-2.0";
  metadata["provenance"]["parents"] = Json::array({Json{{"name", "in.gguf"}}});  // conversion records: not base models
  REQUIRE(gguf_format().write(*model, metadata.dump(), dir / "out.gguf", {}).ok());
  const Json written = metadata_of(*open_ok(dir / "out.gguf"));
  CHECK(written["gguf"]["kv"].dump() == R"([{"key":"general.architecture","type":"string","value":"llama"},)"
                                        R"({"key":"general.license","type":"string","value":"Apache-2.0"},)"
                                        R"({"key":"general.name","type":"string","value":"m"}])");
}

TEST_CASE("writing quantized tensors adds general.quantization_version when it is missing") {
  ScratchDir dir;
  GgufBytes file;
  file.header(3, 1, 1)
      .key("general.architecture", kString)
      .str("llama")
      .tensor("q", {32}, kGgmlQ8_0, 0)
      .pad(32)
      .data(34, 1)
      .pad(32);
  owf::test::write_file(dir / "q.gguf", file.bytes());
  const Json written = metadata_of(*open_ok(dir / "q.gguf"));
  const auto rewritten = rewrite_gguf(dir / "q.gguf", dir);
  owf::test::write_file(dir / "q2.gguf", rewritten);
  const Json kvs = metadata_of(*open_ok(dir / "q2.gguf"))["gguf"]["kv"];
  REQUIRE(kvs.size() == 2);
  CHECK(kvs[1].dump() == R"({"key":"general.quantization_version","type":"u32","value":2})");
  CHECK(written["gguf"]["kv"].size() == 1);
}

TEST_CASE("writing accepts hand-written metadata.gguf values: integers for floats, special strings, hex strings") {
  ScratchDir dir;
  MemoryModel model;
  const std::string metadata = R"({"gguf":{"kv":[
      {"key":"a","type":"f32","value":1},
      {"key":"b","type":"array","element_type":"f64","value":["inf","nan:0x7ff0000000000001",-2.5]},
      {"key":"c","type":"string","value":{"hex":"00ff"}},
      {"key":"general.alignment","type":"u32","value":16}]}})";
  REQUIRE(gguf_format().write(model, metadata, dir / "h.gguf", {}).ok());
  GgufBytes expected;
  expected.header(3, 0, 4)
      .key("a", kF32)
      .f32(1.0f)
      .array("b", kF64, 3)
      .f64(std::numeric_limits<double>::infinity())
      .u64(0x7ff0000000000001ull)
      .f64(-2.5)
      .key("c", kString)
      .str(std::string_view("\0\xff", 2))
      .key("general.alignment", kU32)
      .u32(16)
      .pad(16);
  CHECK(owf::test::read_file(dir / "h.gguf") == expected.bytes());
}
