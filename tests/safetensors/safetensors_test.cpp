// The safetensors adapter: the corpus files, byte-exact output, round trips
// through safetensors and .owf, metadata mapping, shard sets, and named bad
// inputs that must each be refused with a message naming file and problem.
#include "safetensors/safetensors.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "../lib/lib_test_util.h"
#include "format_test_util.h"
#include "owf/container.h"
#include "owf/digest.h"
#include "owf/internal/bytes.h"

namespace owf::test {
namespace {

const fs::path kCorpus = fs::path(OWF_CORPUS_DIR) / "safetensors";

const Format& format() {
  static const auto instance = formats::make_safetensors_format();
  return *instance;
}

std::unique_ptr<Model> open_ok(const fs::path& path) { return test::open_ok(format(), path); }
std::string open_error(const fs::path& path) { return test::open_error(format(), path); }

// A safetensors file: the u64 header length, the header text and `data`.
std::vector<std::byte> file_bytes(std::string_view header, std::span<const std::byte> data = {}) {
  std::vector<std::byte> bytes;
  append_le<std::uint64_t>(bytes, header.size());
  append_bytes(bytes, as_bytes(header));
  append_bytes(bytes, data);
  return bytes;
}

std::vector<std::byte> floats(std::initializer_list<float> values) {
  std::vector<std::byte> bytes;
  for (const float value : values) append_le<std::uint32_t>(bytes, std::bit_cast<std::uint32_t>(value));
  return bytes;
}

MemoryModel mixed_model() {
  MemoryModel model;
  model.add_pattern("embed.weight", DType::kF32, {7, 5}, 1);
  model.add_pattern("norm", DType::kBF16, {5}, 2);
  model.add_pattern("fp8", DType::kF8E4M3FN, {3, 3}, 3);
  model.add_pattern("mask", DType::kU8, {4}, 4);
  model.add_pattern("ids", DType::kI64, {2}, 5);
  model.add_pattern("z", DType::kC64, {2}, 6);
  model.add_pattern("fp4", DType::kF4E2M1, {2, 4}, 7);
  model.add_pattern("scalar", DType::kF64, {}, 8);
  model.add_pattern("empty", DType::kF16, {0, 3}, 9);
  return model;
}

}  // namespace

TEST_CASE("corpus: silero_vad_16k has 15 F32 tensors in data order with the right values") {
  const auto model = open_ok(kCorpus / "silero_vad_16k.safetensors");
  CHECK(model->format() == "safetensors");
  REQUIRE(model->tensors().size() == 15);
  const TensorInfo& first = model->tensors()[0];
  CHECK(first.name == "stft_conv.weight");
  CHECK(first.dtype == DType::kF32);
  CHECK(first.shape == std::vector<std::uint64_t>{258, 1, 256});
  CHECK(model->tensors().back().name == "final_conv.bias");
  // Values computed independently with numpy from the same file.
  CHECK(f32_at(*model, 1, 0) == doctest::Approx(0.055235814303159714));
  CHECK(f32_at(*model, 2, 1) == doctest::Approx(0.6927589178085327));
  CHECK(model->metadata() == "{}");
  REQUIRE(model->view(0).has_value());
  CHECK(model->view(0)->size() == first.byte_size);
}

TEST_CASE("corpus: ollama adapters are ordered by data offset, not header order, and null __metadata__ is none") {
  const auto model = open_ok(kCorpus / "ollama-discollama-adapters.safetensors");
  REQUIRE(model->tensors().size() == 8);
  CHECK(model->tensors()[0].name == "model.layers.31.self_attn.q_proj.lora_b");
  CHECK(model->tensors()[1].name == "model.layers.30.self_attn.v_proj.lora_b");
  CHECK(model->tensors()[1].shape == std::vector<std::uint64_t>{8, 1024});
  CHECK(model->tensors()[7].name == "model.layers.31.self_attn.q_proj.lora_a");
  CHECK(f32_at(*model, 0, 1) == doctest::Approx(-0.008034619502723217));
  CHECK(f32_at(*model, 2, 0) == doctest::Approx(-0.003377719782292843));
  CHECK(model->metadata() == "{}");
}

TEST_CASE("corpus files round-trip through safetensors and .owf with equal content digests") {
  ScratchDir dir;
  for (const char* name : {"silero_vad_16k.safetensors", "ollama-discollama-adapters.safetensors"}) {
    CAPTURE(name);
    const auto original = open_ok(kCorpus / name);
    const Digest digest = digest_of(*original);
    const fs::path copy = dir / (std::string("copy-") + name);
    REQUIRE(format().write(*original, original->metadata(), copy, {}).ok());
    const auto reread = open_ok(copy);
    CHECK(digest_of(*reread) == digest);
    const fs::path owf_path = dir / (std::string(name) + ".owf");
    REQUIRE(write_owf(*reread, reread->metadata(), owf_path, {}).ok());
    CHECK(digest_of(*open_owf(owf_path)) == digest);
    // Writing is deterministic.
    const fs::path again = dir / (std::string("again-") + name);
    REQUIRE(format().write(*reread, reread->metadata(), again, {}).ok());
    CHECK(read_file(again) == read_file(copy));
  }
}

TEST_CASE("writer output is byte-exact: header in model order, space padded to 8, then the data") {
  ScratchDir dir;
  MemoryModel model;
  model.add("b", DType::kF32, {1, 2}, floats({1.0f, 2.0f}));
  model.add("a", DType::kU8, {3}, {std::byte{7}, std::byte{8}, std::byte{9}});
  const fs::path path = dir / "exact.safetensors";
  REQUIRE(format().write(model, "{}", path, {}).ok());
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},)"
      R"("a":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}})";
  std::string padded = header;
  padded.resize((header.size() + 7) / 8 * 8, ' ');
  std::vector<std::byte> data = floats({1.0f, 2.0f});
  data.insert(data.end(), {std::byte{7}, std::byte{8}, std::byte{9}});
  CHECK(read_file(path) == file_bytes(padded, data));
}

TEST_CASE("every dtype safetensors shares with owf round-trips with names, order and bytes") {
  ScratchDir dir;
  const MemoryModel model = mixed_model();
  const fs::path path = dir / "mixed.safetensors";
  REQUIRE(format().write(model, "{}", path, {}).ok());
  const auto reread = open_ok(path);
  REQUIRE(reread->tensors().size() == model.tensors().size());
  for (std::size_t i = 0; i < model.tensors().size(); ++i) {
    CAPTURE(model.tensors()[i].name);
    CHECK(reread->tensors()[i].name == model.tensors()[i].name);
    CHECK(reread->tensors()[i].dtype == model.tensors()[i].dtype);
    CHECK(reread->tensors()[i].shape == model.tensors()[i].shape);
    CHECK(*read_tensor(*reread, i) == model.data(i));
  }
  CHECK(digest_of(*reread) == digest_of(model));
  // Reads of a sub-range, and past the end.
  std::array<std::byte, 5> piece{};
  REQUIRE(reread->read(0, 3, piece).ok());
  CHECK(std::equal(piece.begin(), piece.end(), model.data(0).begin() + 3));
  CHECK(!reread->read(0, model.data(0).size() - 2, piece).ok());
}

TEST_CASE("metadata: strings stay strings, other values travel as JSON text listed in owf.json_keys") {
  ScratchDir dir;
  MemoryModel model;
  model.add_pattern("w", DType::kF32, {2});
  const std::string metadata =
      R"({"architecture":"llama","license":"MIT","n":3,"provenance":{"parents":[{"name":"a.gguf"}]}})";
  const fs::path path = dir / "meta.safetensors";
  REQUIRE(format().write(model, metadata, path, {}).ok());
  const std::vector<std::byte> written = read_file(path);
  const std::string raw(as_chars(written));
  CHECK(raw.find(R"("__metadata__":{"architecture":"llama","format":"pt","license":"MIT","n":"3",)"
                 R"("owf.json_keys":"[\"n\",\"provenance\"]","provenance":"{\"parents\":[{\"name\":\"a.gguf\"}]}"})") !=
        std::string::npos);
  const auto reread = open_ok(path);
  CHECK(reread->metadata() ==
        R"({"architecture":"llama","format":"pt","license":"MIT","n":3,"provenance":{"parents":[{"name":"a.gguf"}]}})");
  // safetensors -> owf -> safetensors keeps the string map exactly.
  const fs::path again = dir / "again.safetensors";
  REQUIRE(format().write(*reread, reread->metadata(), again, {}).ok());
  CHECK(read_file(again) == read_file(path));
}

TEST_CASE("foreign __metadata__ keys keep their names as strings; a bad owf.json_keys is refused") {
  ScratchDir dir;
  const std::string header =
      R"({"__metadata__":{"format":"tf","note":"{not json"},"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  write_file(dir / "m.safetensors", file_bytes(header, std::vector<std::byte>{std::byte{1}}));
  CHECK(open_ok(dir / "m.safetensors")->metadata() == R"({"format":"tf","note":"{not json"})");
  const std::string listed =
      R"({"__metadata__":{"owf.json_keys":"[\"note\"]","note":"{not json"},"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  write_file(dir / "bad.safetensors", file_bytes(listed, std::vector<std::byte>{std::byte{1}}));
  const std::string error = open_error(dir / "bad.safetensors");
  CHECK(error.find("bad.safetensors") != std::string::npos);
  CHECK(error.find("'note'") != std::string::npos);
}

TEST_CASE("a dimension written as -0 is 0, as the reference reads it") {
  ScratchDir dir;
  write_file(dir / "zero.safetensors", file_bytes(R"({"w":{"dtype":"F32","shape":[-0,3],"data_offsets":[0,0]}})"));
  CHECK(open_ok(dir / "zero.safetensors")->tensors()[0].shape == std::vector<std::uint64_t>{0, 3});
}

TEST_CASE("writer refuses dtypes safetensors lacks, naming the tensor and dtype, and leaves nothing behind") {
  ScratchDir dir;
  MemoryModel quantized;
  quantized.add_pattern("blk.0.q", DType::kQ4_0, {2, 32});
  Status status = format().write(quantized, "{}", dir / "q.safetensors", {});
  CHECK(status.code() == ErrorCode::kNotSupported);
  CHECK(status.message() == "q.safetensors: tensor 'blk.0.q': safetensors has no dtype q4_0; convert with --dtype f16");
  MemoryModel odd_fp4;
  odd_fp4.add_pattern("w", DType::kF4E2M1, {3});
  status = format().write(odd_fp4, "{}", dir / "f4.safetensors", {});
  CHECK(status.message().find("3 f4_e2m1 elements do not fill whole bytes") != std::string::npos);
  MemoryModel reserved;
  reserved.add_pattern("__metadata__", DType::kU8, {1});
  status = format().write(reserved, "{}", dir / "r.safetensors", {});
  CHECK(status.message().find("reserved") != std::string::npos);
  CHECK(dir.entries().empty());
}

TEST_CASE("writer refuses to replace an existing file unless asked to") {
  ScratchDir dir;
  MemoryModel model;
  model.add_pattern("w", DType::kF32, {2});
  const fs::path path = dir / "out.safetensors";
  REQUIRE(format().write(model, "{}", path, {}).ok());
  CHECK(!format().write(model, "{}", path, {}).ok());
  WriteOptions overwrite;
  overwrite.overwrite = true;
  CHECK(format().write(model, "{}", path, overwrite).ok());
}

TEST_CASE("shard sets: written with Hugging Face names and index, read back as one model") {
  ScratchDir dir;
  MemoryModel model;
  for (int i = 0; i < 5; ++i) model.add_pattern("layer." + std::to_string(i), DType::kF32, {100}, i);  // 400 bytes each
  WriteOptions options;
  options.max_shard_size = 900;  // two tensors per shard
  std::uint64_t last_progress = 0;
  options.progress = [&last_progress](std::uint64_t done, std::uint64_t) { last_progress = done; };
  REQUIRE(format().write(model, R"({"architecture":"toy"})", dir / "model.safetensors", options).ok());
  CHECK(last_progress == 2000);
  auto entries = dir.entries();
  std::sort(entries.begin(), entries.end());
  CHECK(entries == std::vector<std::string>{"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                                            "model-00003-of-00003.safetensors", "model.safetensors.index.json"});
  const std::vector<std::byte> index_bytes = read_file(dir / "model.safetensors.index.json");
  const std::string index(as_chars(index_bytes));
  CHECK(index.find("\"total_size\": 2000") != std::string::npos);
  CHECK(index.find("\"layer.4\": \"model-00003-of-00003.safetensors\"") != std::string::npos);

  const auto reread = open_ok(dir / "model.safetensors.index.json");
  CHECK(reread->format() == "safetensors (3 shards)");
  REQUIRE(reread->tensors().size() == 5);
  for (std::size_t i = 0; i < 5; ++i) CHECK(reread->tensors()[i].name == "layer." + std::to_string(i));
  CHECK(digest_of(*reread) == digest_of(model));
  CHECK(reread->metadata() == R"({"architecture":"toy","format":"pt"})");
  CHECK(format().detect(dir / "model.safetensors.index.json", index_bytes) != owf::Confidence::kNone);

  // One shard holds everything: a plain file, as Hugging Face writes it.
  ScratchDir single;
  options.max_shard_size = 1 << 20;
  REQUIRE(format().write(model, "{}", single / "model.safetensors", options).ok());
  CHECK(single.entries() == std::vector<std::string>{"model.safetensors"});
}

TEST_CASE("shard sets: a failing source leaves no shard and no index behind") {
  // A model whose last tensor cannot be read.
  class FailingModel final : public Model {
   public:
    FailingModel() {
      for (int i = 0; i < 3; ++i) infos_.push_back(*make_tensor_info("t" + std::to_string(i), DType::kU8, {10}));
    }
    std::string format() const override { return "failing"; }
    const std::vector<TensorInfo>& tensors() const override { return infos_; }
    const std::string& metadata() const override { return metadata_; }
    Status read(std::size_t index, std::uint64_t, std::span<std::byte> dst) const override {
      if (index == 2) return Status::io_error("t2: disk on fire");
      std::fill(dst.begin(), dst.end(), std::byte{1});
      return {};
    }

   private:
    std::vector<TensorInfo> infos_;
    std::string metadata_ = "{}";
  };
  ScratchDir dir;
  WriteOptions options;
  options.max_shard_size = 10;
  const Status status = format().write(FailingModel(), "{}", dir / "m.safetensors", options);
  CHECK(status.message() == "t2: disk on fire");
  CHECK(dir.entries().empty());
}

TEST_CASE("shard sets: bad indexes are refused with the index and shard named") {
  ScratchDir dir;
  MemoryModel model;
  model.add_pattern("a", DType::kU8, {4});
  model.add_pattern("b", DType::kU8, {4});
  model.add_pattern("c", DType::kU8, {4});
  WriteOptions options;
  options.max_shard_size = 8;  // a and b in the first shard, c in the second
  REQUIRE(format().write(model, "{}", dir / "m.safetensors", options).ok());
  const std::string shard1 = "m-00001-of-00002.safetensors", shard2 = "m-00002-of-00002.safetensors";
  struct Case {
    std::string name;
    std::string index;
    const char* fragment;
  };
  // An index mapping a, b, c (and d) to the shards given.
  const auto index = [](const std::string& a, const std::string& b, const std::string& c, const std::string& d = "") {
    std::string text = R"({"weight_map":{"a":")" + a + R"(","b":")" + b + R"(","c":")" + c + "\"";
    if (!d.empty()) text += R"(,"d":")" + d + "\"";
    return text + "}}";
  };
  const std::vector<Case> cases = {
      {"escape", index("../" + shard1, shard1, shard2),
       "shard '../m-00001-of-00002.safetensors' leaves the index's folder"},
      {"absolute", index("/etc/passwd", shard1, shard2), "shard '/etc/passwd' leaves the index's folder"},
      {"wrong shard", index(shard2, shard1, shard2),
       "weight_map puts tensor 'a' in 'm-00002-of-00002.safetensors', but shard 'm-00001-of-00002.safetensors' holds "
       "it"},
      {"missing tensor", index(shard1, shard1, shard2, shard2),
       "weight_map puts tensor 'd' in 'm-00002-of-00002.safetensors', which does not hold it"},
      {"unlisted tensor", R"({"weight_map":{"a":")" + shard1 + R"(","c":")" + shard2 + R"("}})",
       "shard 'm-00001-of-00002.safetensors' holds tensor 'b', which the weight_map does not list"},
      {"not a file name", R"({"weight_map":{"a":1}})", "weight_map entry of tensor 'a' is not a file name"},
      {"no map", R"({"metadata":{}})", "no 'weight_map'"},
      {"not JSON", R"({"weight_map":)", "index is not valid JSON at offset 14"},
      {"duplicate key", R"({"weight_map":{"a":"x","a":"y"}})", "duplicate key 'a' in 'weight_map'"},
      {"missing shard", R"({"weight_map":{"a":"gone.safetensors"}})", "shard 'gone.safetensors': "},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const fs::path path = dir / "bad.safetensors.index.json";
    write_file(path, as_bytes(c.index));
    const std::string error = open_error(path);
    CHECK_MESSAGE(error.find(c.fragment) != std::string::npos, error);
    CHECK(error.starts_with("bad.safetensors.index.json: "));
  }
}

TEST_CASE("named bad inputs are refused with the file and the problem named") {
  ScratchDir dir;
  const auto with_data = [](std::string_view header, std::size_t size) {
    return file_bytes(header, std::vector<std::byte>(size));
  };
  struct Case {
    std::string name;
    std::vector<std::byte> bytes;
    const char* fragment;
  };
  std::vector<std::byte> huge_length(16);
  store_le<std::uint64_t>(huge_length.data(), 200'000'000);
  std::vector<std::byte> beyond = file_bytes("{}");
  store_le<std::uint64_t>(beyond.data(), 100);
  std::string deep = R"({"w":)";
  for (int i = 0; i < 100000; ++i) deep += "[";
  const std::string bad_utf8 = "{\"w\xff\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
  const std::vector<Case> cases = {
      {"empty", {}, "empty file"},
      {"truncated length", {std::byte{8}, std::byte{0}, std::byte{0}}, "too short for the 8-byte header length"},
      {"header length beyond the file", beyond,
       "header length 100 at offset 0 runs past the end of the file (10 bytes)"},
      {"header over the cap", huge_length, "header length 200000000 at offset 0 exceeds the cap of 100000000 bytes"},
      {"not an object", file_bytes("[1, 2]"), "header at offset 8 does not start with '{'"},
      {"invalid JSON", file_bytes(R"({"w": })"), "header is not valid JSON at offset 14"},
      {"invalid UTF-8 name", file_bytes(bad_utf8, std::vector<std::byte>(1)), "UTF-8"},
      {"deep JSON", file_bytes(deep), "header nests deeper than 3 levels"},
      {"duplicate names",
       with_data(
           R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
           2),
       "duplicate key 'w'"},
      {"duplicate field", with_data(R"({"w":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}})", 1),
       "duplicate key 'dtype' in 'w'"},
      {"unknown dtype", with_data(R"({"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}})", 16),
       "tensor 'w': unknown dtype 'F128'"},
      {"negative dims", with_data(R"({"w":{"dtype":"F32","shape":[-2,2],"data_offsets":[0,16]}})", 16),
       "tensor 'w': negative dimension -2"},
      {"fractional dims", with_data(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4),
       "tensor 'w': dimension 1.5 is not an integer"},
      {"shape product overflow",
       with_data(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4),
       "tensor 'w': shape [4294967296, 4294967296] has more than 2^64 elements"},
      {"size overflow", with_data(R"({"w":{"dtype":"F32","shape":[4611686018427387904,2],"data_offsets":[0,4]}})", 4),
       "tensor 'w'"},
      {"overlapping offsets",
       with_data(
           R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
           12),
       "tensor 'b': data offsets 4..12 overlap tensor 'a' (0..8)"},
      {"gap", with_data(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
       "tensor 'a': data offsets 4..8 leave bytes 0..4 of the data section unused"},
      {"offsets out of file", with_data(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})", 8),
       "tensor 'w': data offsets 0..12 exceed the 8 bytes of data at offset 63"},
      {"offsets reversed", with_data(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8),
       "data offsets 8..0 end before they begin"},
      {"size mismatch", with_data(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
       "tensor 'w': data offsets 0..8 hold 8 bytes, but F32 of this shape needs 12"},
      {"bytes after the tensors", with_data(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 6),
       "bytes 4..6 of the data section (file offset 66) belong to no tensor"},
      {"odd F4", with_data(R"({"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}})", 2),
       "3 F4 elements do not fill whole bytes"},
      {"unknown field", with_data(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":1}})", 1),
       "tensor 'w': unknown key 'x'"},
      {"missing offsets", with_data(R"({"w":{"dtype":"U8","shape":[1]}})", 1), "tensor 'w': missing 'data_offsets'"},
      {"three offsets", with_data(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}})", 1),
       "'data_offsets' must hold two numbers"},
      {"metadata not strings", with_data(R"({"__metadata__":{"a":1}})", 0),
       "__metadata__ value of 'a' is not a string"},
      {"entry not an object", with_data(R"({"w":[1]})", 0), "tensor 'w': entry is not an object"},
      {"dimension not a number", with_data(R"({"w":{"dtype":"U8","shape":["1"],"data_offsets":[0,1]}})", 1),
       "tensor 'w': dimension is a string, not a number"},
      {"control characters named safely", with_data(R"({"w\n":{"dtype":"X","shape":[1],"data_offsets":[0,1]}})", 1),
       "tensor 'w\\x0a': unknown dtype 'X'"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const fs::path path = dir / "bad.safetensors";
    write_file(path, c.bytes);
    const std::string error = open_error(path);
    CHECK_MESSAGE(error.find(c.fragment) != std::string::npos, error);
    CHECK(error.starts_with("bad.safetensors: "));
    CHECK(error.find('\n') == std::string::npos);
  }
}

TEST_CASE("detect accepts safetensors headers and index files only") {
  const std::vector<std::byte> good = file_bytes(R"({"w":{}})");
  CHECK(format().detect("x.bin", good) != owf::Confidence::kNone);
  CHECK(format().detect("x.safetensors", as_bytes("GGUF\x03\0\0\0\0\0\0\0")) == owf::Confidence::kNone);
  CHECK(format().detect("x.safetensors", std::span<const std::byte>()) == owf::Confidence::kNone);
  CHECK(format().detect("m.safetensors.index.json", as_bytes("  {\"weight_map\": {}}")) != owf::Confidence::kNone);
  CHECK(format().detect("m.json", as_bytes("{\"weight_map\": {}}")) == owf::Confidence::kNone);
  CHECK(format().extensions() == std::vector<std::string_view>{".safetensors"});
}

}  // namespace owf::test
