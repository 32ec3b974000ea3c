// The PyTorch reader and writer on the corpus and on hand-built archives:
// strided views, byte order, ties, and the refusals a user must see.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "owf/internal/bytes.h"
#include "owf/internal/zip.h"
#include "owf/io.h"
#include "pytorch/pickle_writer.h"
#include "pytorch/pytorch.h"
#include "pytorch/reader.h"
#include "pytorch/writer.h"

using namespace owf;
using namespace owf::formats::pytorch;
namespace fs = std::filesystem;

namespace {

const fs::path kCorpus = fs::path(OWF_CORPUS_DIR) / "pytorch";

// A fresh directory removed at the end of the test.
struct TempDir {
  fs::path path = fs::temp_directory_path() / ("owf_pytorch_test_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

struct ViewSpec {
  std::string name;
  std::string storage_class = "FloatStorage";
  std::string key = "0";
  std::uint64_t numel = 6;
  std::uint64_t offset = 0;
  std::vector<std::uint64_t> shape;
  std::vector<std::uint64_t> strides;
};

void append_tuple(PickleWriter& pickle, const std::vector<std::uint64_t>& values) {
  pickle.mark();
  for (const auto value : values) pickle.integer(value);
  pickle.tuple();
}

// An OrderedDict of _rebuild_tensor_v2 views, as torch writes it.
std::vector<std::byte> state_dict_pickle(const std::vector<ViewSpec>& views) {
  PickleWriter pickle;
  pickle.global("collections", "OrderedDict");
  pickle.empty_tuple();
  pickle.reduce();
  pickle.mark();
  for (const ViewSpec& view : views) {
    pickle.text(view.name);
    pickle.global("torch._utils", "_rebuild_tensor_v2");
    pickle.mark();
    pickle.mark();
    pickle.text("storage");
    pickle.global("torch", view.storage_class);
    pickle.text(view.key);
    pickle.text("cpu");
    pickle.integer(view.numel);
    pickle.tuple();
    pickle.persistent_id();
    pickle.integer(view.offset);
    append_tuple(pickle, view.shape);
    append_tuple(pickle, view.strides);
    pickle.boolean(false);
    pickle.global("collections", "OrderedDict");
    pickle.empty_tuple();
    pickle.reduce();
    pickle.tuple();
    pickle.reduce();
  }
  pickle.set_items();
  pickle.stop();
  return pickle.bytes();
}

struct Record {
  std::string name;
  std::vector<std::byte> data;
  bool deflate = false;
};

void write_zip(const fs::path& path, const std::vector<Record>& records) {
  auto file = AtomicFile::create(path, true);
  REQUIRE(file.ok());
  ZipWriter zip(*file);
  for (const Record& record : records) {
    REQUIRE((record.deflate ? zip.add_deflated(record.name, record.data) : zip.add_stored(record.name, record.data, 64))
                .ok());
  }
  REQUIRE(zip.finish().ok());
  REQUIRE(file->commit().ok());
}

std::vector<std::byte> floats(std::initializer_list<float> values) {
  std::vector<std::byte> bytes;
  for (const float value : values) append_le<std::uint32_t>(bytes, std::bit_cast<std::uint32_t>(value));
  return bytes;
}

std::vector<float> read_floats(const Model& model, std::size_t index) {
  const auto bytes = read_tensor(model, index);
  REQUIRE(bytes.ok());
  std::vector<float> values;
  for (std::size_t i = 0; i + 4 <= bytes->size(); i += 4) {
    values.push_back(std::bit_cast<float>(load_le<std::uint32_t>(bytes->data() + i)));
  }
  return values;
}

std::vector<std::byte> text_bytes(std::string_view text) {
  const auto bytes = as_bytes(text);
  return {bytes.begin(), bytes.end()};
}

const auto kSix = floats({0, 1, 2, 3, 4, 5});

// One tensor held in memory, of any dtype.
class MemoryModel final : public Model {
 public:
  MemoryModel(TensorInfo info, std::vector<std::byte> data) : tensors_{std::move(info)}, data_(std::move(data)) {}
  std::string format() const override { return "memory"; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  const std::string& metadata() const override { return metadata_; }
  Status read(std::size_t, std::uint64_t offset, std::span<std::byte> dst) const override {
    std::memcpy(dst.data(), data_.data() + offset, dst.size());
    return {};
  }

 private:
  std::vector<TensorInfo> tensors_;
  std::vector<std::byte> data_;
  std::string metadata_ = "{}";
};

// Every (offset, length) read of tensor `index` equals that slice of the whole tensor.
void check_every_window(const Model& model, std::size_t index) {
  const auto whole = read_tensor(model, index).value();
  for (std::size_t offset = 0; offset < whole.size(); ++offset) {
    for (std::size_t length = 1; offset + length <= whole.size(); ++length) {
      std::vector<std::byte> window(length);
      REQUIRE(model.read(index, offset, window).ok());
      CHECK(std::equal(window.begin(), window.end(), whole.begin() + static_cast<std::ptrdiff_t>(offset)));
    }
  }
}

Result<std::unique_ptr<Model>> open_views(const fs::path& path, const std::vector<ViewSpec>& views,
                                          std::vector<std::byte> storage = kSix) {
  write_zip(path, {{"ckpt/data.pkl", state_dict_pickle(views)}, {"ckpt/data/0", std::move(storage)}});
  return open_checkpoint(path, {});
}

}  // namespace

TEST_CASE("corpus: the legacy facenet checkpoints read with every tensor") {
  const std::pair<const char*, std::size_t> files[] = {
      {"facenet-mtcnn-pnet.pt", 13}, {"facenet-mtcnn-rnet.pt", 16}, {"facenet-mtcnn-onet.pt", 21}};
  for (const auto& [file, count] : files) {
    CAPTURE(file);
    auto model = open_checkpoint(kCorpus / file, {});
    REQUIRE_MESSAGE(model.ok(), model.status().message());
    CHECK((*model)->format().find("legacy") != std::string::npos);
    CHECK((*model)->tensors().size() == count);
    const auto conv1 = (*model)->find("conv1.weight");
    REQUIRE(conv1);
    CHECK((*model)->tensors()[*conv1].dtype == DType::kF32);
    CHECK((*model)->tensors()[*conv1].shape.size() == 4);
    std::vector<Problem> problems;
    (*model)->verify(problems);
    CHECK(problems.empty());
  }
}

TEST_CASE("corpus: facenet pnet conv1.weight has torch's shape") {
  auto model = open_checkpoint(kCorpus / "facenet-mtcnn-pnet.pt", {});
  REQUIRE(model.ok());
  const auto conv1 = (*model)->find("conv1.weight");
  REQUIRE(conv1);
  CHECK((*model)->tensors()[*conv1].shape == std::vector<std::uint64_t>{10, 3, 3, 3});
}

TEST_CASE("corpus: the MNIST state dict has no byteorder record and reads as little-endian") {
  auto model = open_checkpoint(kCorpus / "ggml-mnist_model.state_dict", {});
  REQUIRE_MESSAGE(model.ok(), model.status().message());
  CHECK((*model)->tensors().size() == 4);
  CHECK((*model)->metadata() == "{}");
  std::vector<Problem> problems;
  (*model)->verify(problems);
  CHECK(problems.empty());
}

TEST_CASE("corpus: stories260K ties output.weight to tok_embeddings.weight") {
  auto model = open_checkpoint(kCorpus / "stories260K-bf16.pt", {});
  REQUIRE_MESSAGE(model.ok(), model.status().message());
  CHECK((*model)->tensors().size() == 48);
  CHECK((*model)->metadata().find(R"("tied":{"output.weight":"tok_embeddings.weight"})") != std::string::npos);
  const auto output = (*model)->find("output.weight");
  const auto embeddings = (*model)->find("tok_embeddings.weight");
  REQUIRE(output);
  REQUIRE(embeddings);
  CHECK((*model)->tensors()[*output].dtype == DType::kBF16);
  CHECK(read_tensor(**model, *output).value() == read_tensor(**model, *embeddings).value());
}

TEST_CASE("corpus: the TorchScript archive is refused") {
  const auto model = open_checkpoint(kCorpus / "silero_vad-torchscript.jit", {});
  REQUIRE_FALSE(model.ok());
  CHECK(model.status().code() == ErrorCode::kNotSupported);
  CHECK(model.status().message().find("silero_vad-torchscript.jit: TorchScript archive, not a plain checkpoint") == 0);
}

TEST_CASE("detection by content: zip records under a root folder, or the legacy magic") {
  struct Case {
    const char* file;
    Confidence confidence;
  };
  for (const Case c :
       {Case{"facenet-mtcnn-pnet.pt", Confidence::kCertain}, Case{"ggml-mnist_model.state_dict", Confidence::kLikely},
        Case{"silero_vad-torchscript.jit", Confidence::kLikely}}) {
    auto mapped = MappedFile::open(kCorpus / c.file);
    REQUIRE(mapped.ok());
    CHECK(checkpoint_confidence(mapped->bytes().first(std::min<std::size_t>(4096, mapped->size()))) == c.confidence);
  }
  CHECK(checkpoint_confidence(as_bytes("PK\x03\x04")) == Confidence::kNone);
  CHECK(checkpoint_confidence(as_bytes("\x80\x02}q\x00.")) == Confidence::kNone);
}

TEST_CASE("views: a transpose reads in C order, partial reads included") {
  TempDir dir;
  auto model = open_views(dir.path / "t.pt", {{.name = "t", .shape = {3, 2}, .strides = {1, 3}}});
  REQUIRE_MESSAGE(model.ok(), model.status().message());
  CHECK(read_floats(**model, 0) == std::vector<float>{0, 3, 1, 4, 2, 5});
  // Bytes 6..14 straddle elements 1..3.
  std::vector<std::byte> middle(8);
  REQUIRE((*model)->read(0, 6, middle).ok());
  const auto all = read_tensor(**model, 0).value();
  CHECK(std::equal(middle.begin(), middle.end(), all.begin() + 6));
  CHECK_FALSE((*model)->read(0, 20, middle).ok());
}

TEST_CASE("views: offsets and slices that share one storage, and a scalar") {
  TempDir dir;
  auto model = open_views(dir.path / "s.pt", {{.name = "row1", .offset = 3, .shape = {3}, .strides = {1}},
                                              {.name = "col0", .shape = {2}, .strides = {3}},
                                              {.name = "scalar", .offset = 5, .shape = {}, .strides = {}}});
  REQUIRE_MESSAGE(model.ok(), model.status().message());
  CHECK(read_floats(**model, 0) == std::vector<float>{3, 4, 5});
  CHECK(read_floats(**model, 1) == std::vector<float>{0, 3});
  CHECK(read_floats(**model, 2) == std::vector<float>{5});
}

TEST_CASE("views: every byte window of a strided read equals the same window of the whole tensor") {
  TempDir dir;
  const std::vector<ViewSpec> views{{.name = "rows", .offset = 1, .shape = {2, 2}, .strides = {3, 1}},
                                    {.name = "transpose", .shape = {3, 2}, .strides = {1, 3}},
                                    {.name = "broadcast", .offset = 2, .shape = {2, 3}, .strides = {0, 1}}};
  const std::vector<std::vector<float>> expected{{1, 2, 4, 5}, {0, 3, 1, 4, 2, 5}, {2, 3, 4, 2, 3, 4}};
  auto model = open_views(dir.path / "w.pt", views, floats({0, 1, 2, 3, 4, 5}));
  REQUIRE_MESSAGE(model.ok(), model.status().message());
  for (std::size_t i = 0; i < views.size(); ++i) {
    CAPTURE(views[i].name);
    REQUIRE(read_floats(**model, i) == expected[i]);
    check_every_window(**model, i);
  }
}

TEST_CASE("views that reach past their storage are refused") {
  TempDir dir;
  const auto past = open_views(dir.path / "p.pt", {{.name = "w", .offset = 3, .shape = {4}, .strides = {1}}});
  REQUIRE_FALSE(past.ok());
  CHECK(past.status().message().find("p.pt: tensor 'w': view") != std::string::npos);
  CHECK(past.status().message().find("exceeds the 24 bytes of storage 'ckpt/data/0'") != std::string::npos);
  const auto huge = open_views(dir.path / "h.pt", {{.name = "w", .shape = {2, 2}, .strides = {1ull << 62, 1}}});
  REQUIRE_FALSE(huge.ok());
  CHECK(huge.status().message().find("exceeds the 24 bytes") != std::string::npos);
  const auto short_record = open_views(dir.path / "r.pt", {{.name = "w", .numel = 7, .shape = {6}, .strides = {1}}});
  REQUIRE_FALSE(short_record.ok());
  CHECK(short_record.status().message().find("should hold 7 elements of f32 but has 24 bytes") != std::string::npos);
}

TEST_CASE("records: missing, compressed, or an unknown byte order are refused") {
  TempDir dir;
  const std::vector<ViewSpec> views{{.name = "w", .shape = {6}, .strides = {1}}};
  write_zip(dir.path / "missing.pt", {{"ckpt/data.pkl", state_dict_pickle(views)}});
  const auto missing = open_checkpoint(dir.path / "missing.pt", {});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() == "missing.pt: storage '0' has no record 'ckpt/data/0'");

  write_zip(dir.path / "deflated.pt", {{"ckpt/data.pkl", state_dict_pickle(views)}, {"ckpt/data/0", kSix, true}});
  const auto deflated = open_checkpoint(dir.path / "deflated.pt", {});
  REQUIRE_FALSE(deflated.ok());
  CHECK(deflated.status().message().find("record 'ckpt/data/0' is compressed") != std::string::npos);

  write_zip(
      dir.path / "order.pt",
      {{"ckpt/data.pkl", state_dict_pickle(views)}, {"ckpt/byteorder", text_bytes("middle")}, {"ckpt/data/0", kSix}});
  const auto order = open_checkpoint(dir.path / "order.pt", {});
  REQUIRE_FALSE(order.ok());
  CHECK(order.status().message().find("neither 'little' nor 'big'") != std::string::npos);
}

TEST_CASE("byteorder 'big' swaps every element on read") {
  TempDir dir;
  std::vector<std::byte> big(kSix.size());
  for (std::size_t i = 0; i < kSix.size(); i += 4) {
    std::reverse_copy(kSix.begin() + i, kSix.begin() + i + 4, big.begin() + i);
  }
  write_zip(dir.path / "big.pt", {{"ckpt/data.pkl", state_dict_pickle({{.name = "w", .shape = {6}, .strides = {1}}})},
                                  {"ckpt/byteorder", text_bytes("big")},
                                  {"ckpt/data/0", big}});
  auto model = open_checkpoint(dir.path / "big.pt", {});
  REQUIRE_MESSAGE(model.ok(), model.status().message());
  CHECK(read_floats(**model, 0) == std::vector<float>{0, 1, 2, 3, 4, 5});
  check_every_window(**model, 0);
}

TEST_CASE("a malicious pickle inside a zip names the record and its file offset") {
  TempDir dir;
  PickleWriter pickle;
  pickle.global("os", "system");
  pickle.text("touch /tmp/owf-pwned");
  pickle.stop();
  write_zip(dir.path / "evil.pt", {{"evil/data.pkl", pickle.bytes()}});
  const auto model = open_checkpoint(dir.path / "evil.pt", {});
  REQUIRE_FALSE(model.ok());
  CHECK(model.status().message() ==
        "evil.pt: evil/data.pkl: offset 66: global 'os.system' is not allowed "
        "(a checkpoint may hold only tensors and plain values; no code runs)");
}

TEST_CASE("writer: views become contiguous, ties share one storage again, round trip is exact") {
  TempDir dir;
  auto source = open_checkpoint(kCorpus / "stories260K-bf16.pt", {});
  REQUIRE(source.ok());
  const fs::path out = dir.path / "out.pt";
  std::uint64_t last_progress = 0;
  WriteOptions options;
  options.progress = [&](std::uint64_t done, std::uint64_t) { last_progress = done; };
  REQUIRE(write_checkpoint(**source, (*source)->metadata(), out, options).ok());
  CHECK(last_progress > 0);

  auto mapped = MappedFile::open(out);
  REQUIRE(mapped.ok());
  auto zip = ZipReader::open(mapped->bytes(), "out.pt");
  REQUIRE(zip.ok());
  std::size_t data_records = 0;
  for (const ZipEntry& entry : zip->entries()) {
    if (entry.name.starts_with("archive/data/")) {
      ++data_records;
      CHECK(*zip->data_offset(entry) % 64 == 0);
    }
  }
  CHECK(data_records == 47);  // 48 tensors, output.weight shares tok_embeddings.weight's storage
  CHECK(zip->find("archive/byteorder"));
  CHECK(zip->find("archive/version"));

  auto copy = open_checkpoint(out, {});
  REQUIRE_MESSAGE(copy.ok(), copy.status().message());
  REQUIRE((*copy)->tensors().size() == 48);
  CHECK((*copy)->metadata() == (*source)->metadata());
  for (std::size_t i = 0; i < 48; ++i) {
    CHECK((*copy)->tensors()[i].name == (*source)->tensors()[i].name);
    CHECK((*copy)->tensors()[i].shape == (*source)->tensors()[i].shape);
    CHECK(read_tensor(**copy, i).value() == read_tensor(**source, i).value());
  }

  auto transposed = open_views(dir.path / "t.pt", {{.name = "t", .shape = {3, 2}, .strides = {1, 3}}});
  REQUIRE(transposed.ok());
  REQUIRE(write_checkpoint(**transposed, "{}", dir.path / "t2.pt", {}).ok());
  auto contiguous = open_checkpoint(dir.path / "t2.pt", {});
  REQUIRE(contiguous.ok());
  CHECK(read_floats(**contiguous, 0) == std::vector<float>{0, 3, 1, 4, 2, 5});
}

TEST_CASE("writer: a stale tie (different bytes) keeps both storages; unwritable dtypes are refused") {
  TempDir dir;
  auto model = open_views(dir.path / "two.pt", {{.name = "a", .shape = {3}, .strides = {1}},
                                                {.name = "b", .offset = 3, .shape = {3}, .strides = {1}}});
  REQUIRE(model.ok());
  REQUIRE(write_checkpoint(**model, R"({"pytorch":{"tied":{"b":"a"}}})", dir.path / "out.pt", {}).ok());
  auto copy = open_checkpoint(dir.path / "out.pt", {});
  REQUIRE(copy.ok());
  CHECK(read_floats(**copy, 1) == std::vector<float>{3, 4, 5});
  CHECK((*copy)->metadata() == "{}");

  CHECK_FALSE(write_checkpoint(**model, R"({"pytorch":{"tied":{"b":3}}})", dir.path / "bad.pt", {}).ok());
  CHECK_FALSE(fs::exists(dir.path / "bad.pt"));

  const MemoryModel nibbles(make_tensor_info("q.weight", DType::kI4, {4}).value(), std::vector<std::byte>(2));
  const Status refused = write_checkpoint(nibbles, "{}", dir.path / "int4.pt", {});
  CHECK(refused.code() == ErrorCode::kNotSupported);
  CHECK(refused.message().find("int4.pt: tensor 'q.weight': dtype int4 has no torch storage type") == 0);
  CHECK_FALSE(fs::exists(dir.path / "int4.pt"));
}

TEST_CASE("the format adapter: name, extensions, key selection through OpenOptions") {
  const auto format = formats::make_pytorch_format();
  CHECK(format->name() == "pytorch");
  CHECK(format->extensions() == std::vector<std::string_view>{".pt", ".pth", ".bin"});
  const auto missing = format->open(kCorpus / "ggml-mnist_model.state_dict", OpenOptions{"state_dict"});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == ErrorCode::kNotFound);
  const auto one = format->open(kCorpus / "ggml-mnist_model.state_dict", OpenOptions{"fc1.weight"});
  REQUIRE(one.ok());
  CHECK((*one)->tensors().size() == 1);
}
