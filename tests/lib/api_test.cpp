// The library's entry points (owf/owf.h): one open for every format, writes chosen by name or
// extension, row reads that decode only the chunks they need, and the version header.
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "lib_test_util.h"
#include "owf/owf.h"

namespace owf::test {
namespace {

const fs::path kCorpus = OWF_CORPUS_DIR;

std::vector<std::string> format_names() {
  std::vector<std::string> names;
  for (const auto& format : registry().formats()) names.emplace_back(format->name());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("the library's registry holds every built-in format") {
  CHECK(format_names() == std::vector<std::string>{"gguf", "hf", "numpy", "onnx", "owf", "pytorch", "safetensors"});
}

TEST_CASE("owf::open reads a corpus file of every format, detected by content") {
  struct Case {
    const char* file;
    const char* format;
    std::size_t tensors;
  };
  const Case cases[] = {
      {"safetensors/silero_vad_16k.safetensors", "safetensors", 15},
      {"npy/g2p_en-enc_w_hh.npy", "numpy", 1},
      {"npz/g2p_en-checkpoint20.npz", "numpy", 12},
      {"gguf/ggml-mnist-fc-f32.gguf", "gguf", 4},
      {"pytorch/ggml-mnist_model.state_dict", "pytorch", 4},
      {"pytorch/facenet-mtcnn-pnet.pt", "pytorch", 13},
      {"onnx/silero_vad_16k_op15.onnx", "onnx", 175},  // initializers and Constant node values
  };
  for (const Case& c : cases) {
    const std::string file = c.file;
    CAPTURE(file);
    const auto detected = detect(kCorpus / c.file);
    REQUIRE_MESSAGE(detected.ok(), detected.status().message());
    CHECK((*detected)->name() == c.format);
    const auto model = open(kCorpus / c.file);
    REQUIRE_MESSAGE(model.ok(), model.status().message());
    CHECK((*model)->tensors().size() == c.tensors);
  }
  const auto refused = open(kCorpus / "other/stories260K.bin");
  CHECK(refused.status().message().find("unrecognized format") != std::string::npos);
}

TEST_CASE("owf::write picks the writer by extension or by name, and the result reads back") {
  ScratchDir dir;
  MemoryModel model;
  model.add_pattern("w", DType::kF32, {3, 4});
  REQUIRE(write(model, "{}", dir / "m.safetensors").ok());
  WriteOptions named;
  named.format = "owf";
  REQUIRE(write(model, "{\"license\":\"MIT\"}", dir / "m.bin", named).ok());
  for (const char* name : {"m.safetensors", "m.bin"}) {
    const auto back = open(dir / name);
    REQUIRE_MESSAGE(back.ok(), back.status().message());
    CHECK(*read_tensor(**back, 0) == model.data(0));
  }
  CHECK((*open(dir / "m.bin"))->metadata().find("MIT") != std::string::npos);
  WriteOptions unknown;
  unknown.format = "hdf5";
  CHECK(write(model, "{}", dir / "m.h5", unknown).message().starts_with("--format 'hdf5': unknown format (known: "));
  CHECK(write(model, "{}", dir / "m.xyz").code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("a write stores its metadata as completed after the tensors, in every format that keeps it") {
  ScratchDir dir;
  MemoryModel model;
  model.add_pattern("a", DType::kF32, {64, 64});
  model.add_pattern("b", DType::kF32, {64, 64}, 2);
  const std::string draft = R"({"license":"LicenseRef-0000"})";
  struct Case {
    std::string output;
    std::uint64_t max_shard_size;
    std::string reopened;
  };
  const Case cases[] = {{"m.owf", 0, "m.owf"},
                        {"m.safetensors", 0, "m.safetensors"},
                        {"s.safetensors", 20000, "s.safetensors.index.json"},  // two shards, each patched
                        {"m.gguf", 0, "m.gguf"}};
  for (const Case& c : cases) {
    CAPTURE(c.output);
    WriteOptions options;
    options.max_shard_size = c.max_shard_size;
    std::optional<WrittenContent> seen;
    const OutputMetadata metadata(draft, [&seen](const WrittenContent& written) -> Result<std::string> {
      seen = written;
      return std::string(R"({"license":"LicenseRef-abcd"})");
    });
    const Status written = write(model, metadata, dir / c.output, options);
    REQUIRE_MESSAGE(written.ok(), written.message());
    REQUIRE(seen.has_value());
    // Only the .owf writer digests what it writes; the others leave that to the caller.
    CHECK(seen->content_digest == (c.output == "m.owf" ? std::optional<Digest>(*content_digest(model)) : std::nullopt));
    const auto back = open(dir / c.reopened);
    REQUIRE_MESSAGE(back.ok(), back.status().message());
    CHECK((*back)->metadata().find("LicenseRef-abcd") != std::string::npos);
    CHECK((*back)->metadata().find("LicenseRef-0000") == std::string::npos);
    CHECK(*read_tensor(**back, 1) == model.data(1));
  }
}

TEST_CASE("a completion that fails, or changes the length of a header before the tensors, leaves no output") {
  ScratchDir dir;
  MemoryModel model;
  model.add_pattern("a", DType::kF32, {16, 16});
  const std::string draft = R"({"license":"LicenseRef-0000"})";
  const OutputMetadata longer(draft, [](const WrittenContent&) -> Result<std::string> {
    return std::string(R"({"license":"LicenseRef-00000"})");
  });
  for (const char* name : {"m.safetensors", "m.gguf"}) {
    CAPTURE(std::string(name));
    const Status status = write(model, longer, dir / name);
    CHECK(status.code() == ErrorCode::kInvalidArgument);
    CHECK(status.message().find("laid out for") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / name));
  }
  const OutputMetadata failing(draft, [](const WrittenContent&) -> Result<std::string> {
    return Status::corruption("input.bin: changed while it was read");
  });
  for (const char* name : {"f.owf", "f.safetensors", "f.gguf"}) {
    CAPTURE(std::string(name));
    const Status status = write(model, failing, dir / name);
    CHECK(status.code() == ErrorCode::kCorruption);
    CHECK(status.message().find("changed while it was read") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / name));
  }
}

TEST_CASE("read_rows of a compressed tensor decodes only the chunks those rows lie in") {
  ScratchDir dir;
  MemoryModel model;
  model.add_pattern("w", DType::kF32, {64, 256});  // rows of 1 KiB; chunks of 4 KiB hold 4 rows each
  WriteOptions options;
  options.compression = CompressionOptions{3, 4096, true};
  REQUIRE(write(model, "{}", dir / "m.owf", options).ok());
  const auto opened = open(dir / "m.owf");
  REQUIRE(opened.ok());
  const Model& m = **opened;
  REQUIRE(m.encoding(0) == "zstd+lanes");
  REQUIRE(*row_size(m.tensors()[0]) == 1024);
  CHECK(m.statistics().chunks_decoded == 0);

  const auto rows_match = [&](std::uint64_t begin, std::uint64_t end) {
    std::vector<std::byte> rows((end - begin) * 1024);
    REQUIRE(read_rows(m, 0, begin, end, rows).ok());
    CHECK(std::equal(rows.begin(), rows.end(), model.data(0).begin() + static_cast<std::ptrdiff_t>(begin * 1024)));
  };
  rows_match(8, 12);  // exactly chunk 2
  CHECK(m.statistics().chunks_decoded == 1);
  rows_match(6, 10);  // the end of chunk 1 and the start of chunk 2
  CHECK(m.statistics().chunks_decoded == 3);
  rows_match(63, 64);  // the last row: the last chunk only
  CHECK(m.statistics().chunks_decoded == 4);
  rows_match(5, 5);  // no rows, no chunks
  CHECK(m.statistics().chunks_decoded == 4);
}

TEST_CASE("read_rows of raw tensors copies the rows; bad requests are refused naming the tensor") {
  ScratchDir dir;
  MemoryModel model;
  model.add_pattern("w", DType::kU8, {5, 3});
  model.add_pattern("s", DType::kF32, {});
  model.add_pattern("nibbles", DType::kI4, {3, 3});
  REQUIRE(write(model, "{}", dir / "m.owf").ok());
  const auto opened = open(dir / "m.owf");
  REQUIRE(opened.ok());
  const Model& m = **opened;
  std::vector<std::byte> rows(6);
  REQUIRE(read_rows(m, 0, 3, 5, rows).ok());
  CHECK(std::equal(rows.begin(), rows.end(), model.data(0).begin() + 9));
  CHECK(m.statistics().chunks_decoded == 0);

  CHECK(read_rows(m, 0, 4, 6, rows).message() == "tensor 'w': rows 4..6 are not within its 5 rows");
  CHECK(read_rows(m, 0, 3, 2, rows).message() == "tensor 'w': rows 3..2 are not within its 5 rows");
  CHECK(read_rows(m, 0, 0, 1, rows).message() == "tensor 'w': rows 0..1 take 3 bytes, not 6");
  CHECK(read_rows(m, 1, 0, 1, rows).message() == "tensor 's': a scalar has no rows");
  CHECK(read_rows(m, 2, 0, 1, rows).code() == ErrorCode::kNotSupported);
  CHECK(read_rows(m, 3, 0, 1, rows).message() == "tensor index 3 out of range (the model has 3 tensors)");
}

TEST_CASE("for_each_piece reads a tensor in order, in whole blocks of at most kReadPieceBytes") {
  MemoryModel model;
  const std::uint64_t blocks = kReadPieceBytes / 34 + 5;  // q8_0 blocks: 34 bytes, which 8 MiB is not a multiple of
  model.add_pattern("w", DType::kQ8_0, {blocks * 32});
  std::vector<std::byte> seen;
  std::vector<std::uint64_t> sizes;
  REQUIRE(for_each_piece(model, 0, [&](std::uint64_t offset, std::span<const std::byte> piece) {
            CHECK(offset == seen.size());
            sizes.push_back(piece.size());
            seen.insert(seen.end(), piece.begin(), piece.end());
            return Status();
          }).ok());
  CHECK(seen == model.data(0));
  REQUIRE(sizes.size() == 2);
  CHECK(sizes[0] == kReadPieceBytes / 34 * 34);
  CHECK(sizes[1] == 5 * 34);

  const Status stopped = for_each_piece(model, 0, [](std::uint64_t offset, std::span<const std::byte>) {
    return offset == 0 ? Status::corruption("first piece refused") : Status();
  });
  CHECK(stopped.message() == "first piece refused");
}

TEST_CASE("for_each_piece_pair walks two tensors side by side, stops when asked, refuses different sizes") {
  MemoryModel a;
  MemoryModel b;
  a.add_pattern("x", DType::kU8, {2 * kReadPieceBytes + 1}, 1);
  b.add_pattern("y", DType::kU8, {2 * kReadPieceBytes + 1}, 2);
  b.add_pattern("short", DType::kU8, {16}, 2);
  std::vector<std::uint64_t> offsets;
  REQUIRE(for_each_piece_pair(a, 0, b, 0, [&](std::uint64_t offset, auto piece_a, auto piece_b) {
            offsets.push_back(offset);
            CHECK(piece_a.size() == piece_b.size());
            CHECK(std::equal(piece_a.begin(), piece_a.end(), a.data(0).begin() + static_cast<std::ptrdiff_t>(offset)));
            CHECK(std::equal(piece_b.begin(), piece_b.end(), b.data(0).begin() + static_cast<std::ptrdiff_t>(offset)));
            return true;
          }).ok());
  CHECK(offsets == std::vector<std::uint64_t>{0, kReadPieceBytes, 2 * kReadPieceBytes});

  int calls = 0;
  REQUIRE(for_each_piece_pair(a, 0, b, 0, [&](std::uint64_t, auto, auto) { return ++calls < 2; }).ok());
  CHECK(calls == 2);

  const Status refused = for_each_piece_pair(a, 0, b, 1, [](std::uint64_t, auto, auto) { return true; });
  CHECK(refused.message() == "tensors 'x' and 'short' differ in size: 16777217 and 16 bytes");
}

TEST_CASE("the version macros are the library's version") {
  CHECK(std::string(OWF_VERSION_STRING) == library_version());
  CHECK(OWF_VERSION_STRING == std::to_string(OWF_VERSION_MAJOR) + "." + std::to_string(OWF_VERSION_MINOR) + "." +
                                  std::to_string(OWF_VERSION_PATCH));
}

}  // namespace owf::test
