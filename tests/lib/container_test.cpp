// Writer and Reader: round trips across dtypes, alignments, encodings and
// chunk sizes; named corruptions; metadata replacement; writer refusals.
#include "owf/container.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "lib_test_util.h"
#include "owf/digest.h"
#include "owf/internal/bytes.h"

namespace owf::test {
namespace {

MemoryModel sample_model() {
  MemoryModel model;
  model.add_pattern("embed.weight", DType::kF32, {37, 19}, 1);
  model.add_pattern("norm.bias", DType::kBF16, {1001}, 2);
  model.add_pattern("packed.f6", DType::kF6E3M2, {7}, 3);
  model.add_pattern("blk.0.q8", DType::kQ8_0, {2, 64}, 4);
  model.add_pattern("scalar", DType::kF64, {}, 5);
  model.add_pattern("empty", DType::kI16, {4, 0}, 6);
  model.add_pattern("c", DType::kC64, {3}, 7);
  model.add_pattern("wide", DType::kU64, {129}, 8);
  return model;
}

void check_same_content(const Model& expected, const Model& actual) {
  REQUIRE(actual.tensors().size() == expected.tensors().size());
  for (std::size_t i = 0; i < expected.tensors().size(); ++i) {
    const TensorInfo& want = expected.tensors()[i];
    const TensorInfo& got = actual.tensors()[i];
    CAPTURE(want.name);
    CHECK(got.name == want.name);
    CHECK(got.dtype == want.dtype);
    CHECK(got.shape == want.shape);
    CHECK(got.byte_size == want.byte_size);
    auto want_bytes = read_tensor(expected, i);
    auto got_bytes = read_tensor(actual, i);
    REQUIRE_MESSAGE(got_bytes.ok(), got_bytes.status().message());
    CHECK(*got_bytes == *want_bytes);
  }
}

}  // namespace

TEST_CASE("raw round trip keeps every tensor, metadata and the content digest") {
  ScratchDir dir;
  const MemoryModel model = sample_model();
  for (const std::uint32_t alignment : {8u, 64u, 4096u}) {
    CAPTURE(alignment);
    const auto path = dir / ("raw" + std::to_string(alignment) + ".owf");
    WriteOptions options;
    options.alignment = alignment;
    REQUIRE(write_owf(model, R"({"architecture":"test"})", path, options).ok());
    const auto reader = open_owf(path);
    CHECK(reader->alignment() == alignment);
    CHECK(reader->metadata() == R"({"architecture":"test"})");
    CHECK(reader->format() == "owf 1.0");
    check_same_content(model, *reader);
    for (std::size_t i = 0; i < reader->tensors().size(); ++i) {
      CHECK(reader->stored(i).offset % alignment == 0);
      CHECK(reader->encoding(i) == "raw");
      const auto view = reader->view(i);
      REQUIRE(view.has_value());
      CHECK(std::equal(view->begin(), view->end(), model.data(i).begin(), model.data(i).end()));
    }
    CHECK(problems_of(*reader).empty());
    CHECK(reader->recorded_digest() == *content_digest(model));
  }
}

TEST_CASE("compressed round trip across chunk sizes and filters") {
  ScratchDir dir;
  MemoryModel model = sample_model();
  model.add_pattern("many.chunks", DType::kF16, {3000}, 9);  // 6000 bytes: 94 chunks of 64
  const std::pair<CompressionOptions, std::string> filters[] = {
      {{3, 0, false, false}, "zstd"}, {{3, 0, true, false}, "zstd+bytegroup"}, {{1, 0, true, true}, "zstd+lanes"}};
  for (const std::uint32_t chunk_size : {16u, 64u, 1000u, 1u << 20}) {
    for (auto [compression, encoding] : filters) {
      CAPTURE(chunk_size);
      CAPTURE(encoding);
      const auto path = dir / ("z" + std::to_string(chunk_size) + encoding + ".owf");
      WriteOptions options;
      compression.chunk_size = chunk_size;
      options.compression = compression;
      REQUIRE(write_owf(model, "{}", path, options).ok());
      const auto reader = open_owf(path);
      check_same_content(model, *reader);
      CHECK(problems_of(*reader).empty());
      const std::size_t f32 = *reader->find("embed.weight");
      CHECK(reader->encoding(f32) == encoding);
      CHECK(reader->stored(f32).encoding == Encoding::kZstdChunked);
      CHECK_FALSE(reader->view(f32).has_value());
      CHECK(reader->encoding(*reader->find("packed.f6")) == "zstd");  // byte-group needs elements of >= 2 bytes
      CHECK(reader->encoding(*reader->find("empty")) == "raw");       // nothing to compress
    }
  }
}

TEST_CASE("read() of sub-ranges decodes exactly the bytes asked for") {
  ScratchDir dir;
  MemoryModel model;
  model.add_pattern("t", DType::kF32, {2500}, 11);  // 10000 bytes
  WriteOptions options;
  options.compression = CompressionOptions{1, 256, true};
  const auto path = dir / "ranges.owf";
  REQUIRE(write_owf(model, "{}", path, options).ok());
  const auto reader = open_owf(path);
  const auto& all = model.data(0);
  const std::pair<std::uint64_t, std::uint64_t> ranges[] = {{0, 0},    {0, 1},      {255, 2},   {256, 256}, {100, 5000},
                                                            {9999, 1}, {9744, 256}, {0, 10000}, {3, 9997}};
  for (const auto& [offset, size] : ranges) {
    CAPTURE(offset);
    CAPTURE(size);
    std::vector<std::byte> got(size);
    REQUIRE(reader->read(0, offset, got).ok());
    CHECK(std::equal(got.begin(), got.end(), all.begin() + static_cast<std::ptrdiff_t>(offset)));
  }
  std::vector<std::byte> too_far(2);
  const Status past_end = reader->read(0, 9999, too_far);
  CHECK(past_end.code() == ErrorCode::kInvalidArgument);
  CHECK(past_end.message().find("exceeds its 10000 bytes") != std::string::npos);
}

TEST_CASE("the output and every read are the same whatever the thread count") {
  ScratchDir dir;
  MemoryModel model = sample_model();
  model.add_pattern("big.bf16", DType::kBF16, {300000}, 10);  // 600000 bytes: 147 chunks of 4096
  model.add_pattern("big.f32", DType::kF32, {70000}, 11);
  std::vector<std::vector<std::byte>> files;
  for (const unsigned threads : {1u, 2u, 3u, 8u}) {
    CAPTURE(threads);
    for (const bool lanes : {false, true}) {
      WriteOptions options;
      options.threads = threads;
      options.compression = CompressionOptions{1, 4096, true, lanes};
      const auto path = dir / ("t" + std::to_string(threads) + (lanes ? "l" : "") + ".owf");
      REQUIRE(write_owf(model, "{}", path, options).ok());
      files.push_back(read_file(path));
      auto reader = Reader::open(path, threads);
      REQUIRE(reader.ok());
      check_same_content(model, **reader);
      CHECK(problems_of(**reader).empty());
      CHECK(*content_digest(**reader, threads) == *content_digest(model, 1));
    }
  }
  for (std::size_t i = 2; i < files.size(); ++i) CHECK(files[i] == files[i % 2]);
  CHECK(files[0] != files[1]);
}

TEST_CASE("writing the same model twice gives identical bytes") {
  ScratchDir dir;
  const MemoryModel model = sample_model();
  WriteOptions options;
  options.compression = CompressionOptions{5, 128, true};
  REQUIRE(write_owf(model, R"({"a":1})", dir / "one.owf", options).ok());
  REQUIRE(write_owf(model, R"({"a":1})", dir / "two.owf", options).ok());
  CHECK(read_file(dir / "one.owf") == read_file(dir / "two.owf"));
}

TEST_CASE("the Writer streams from sources and reports progress") {
  ScratchDir dir;
  const auto path = dir / "stream.owf";
  std::vector<std::pair<std::uint64_t, std::uint64_t>> progress;
  WriteOptions options;
  options.progress = [&](std::uint64_t done, std::uint64_t total) { progress.emplace_back(done, total); };
  auto writer = Writer::create(path, options);
  REQUIRE(writer.ok());
  const auto info = make_tensor_info("big", DType::kU8, {20u << 20});  // more than one 8 MiB piece
  REQUIRE(info.ok());
  std::uint64_t largest_request = 0;
  REQUIRE(writer
              ->add(*info,
                    [&](std::uint64_t offset, std::span<std::byte> dst) {
                      largest_request = std::max<std::uint64_t>(largest_request, dst.size());
                      for (std::size_t i = 0; i < dst.size(); ++i) dst[i] = static_cast<std::byte>((offset + i) % 251);
                      return Status();
                    })
              .ok());
  CHECK(largest_request <= (8u << 20));
  CHECK_FALSE(fs::exists(path));  // nothing appears before finish()
  REQUIRE(writer->finish("{}").ok());
  REQUIRE(!progress.empty());
  CHECK(progress.back().first == (20u << 20));
  const auto reader = open_owf(path);
  std::vector<std::byte> tail(10);
  REQUIRE(reader->read(0, (20u << 20) - 10, tail).ok());
  for (std::size_t i = 0; i < tail.size(); ++i) CHECK(tail[i] == static_cast<std::byte>(((20u << 20) - 10 + i) % 251));
  CHECK(problems_of(*reader).empty());
}

TEST_CASE("the Writer refuses bad options, duplicate names, wrong sizes and bad metadata") {
  ScratchDir dir;
  WriteOptions options;
  options.alignment = 48;
  auto bad_alignment = Writer::create(dir / "a.owf", options);
  REQUIRE_FALSE(bad_alignment.ok());
  CHECK(bad_alignment.status().message().find("alignment 48 is not a power of two") != std::string::npos);
  options.alignment = 8192;
  CHECK_FALSE(Writer::create(dir / "a.owf", options).ok());
  options = {};
  options.compression = CompressionOptions{3, 0, true};
  CHECK(Writer::create(dir / "a.owf", options).status().message().find("chunk size 0") != std::string::npos);
  options.compression = CompressionOptions{99, 1024, true};
  CHECK(Writer::create(dir / "a.owf", options).status().message().find("zstd level 99") != std::string::npos);

  auto writer = Writer::create(dir / "a.owf", WriteOptions{});
  REQUIRE(writer.ok());
  const auto info = *make_tensor_info("w", DType::kF32, {2});
  const std::vector<std::byte> eight(8), seven(7);
  REQUIRE(writer->add(info, eight).ok());
  const Status duplicate = writer->add(info, eight);
  CHECK(duplicate.message().find("tensor 'w': duplicate tensor name") != std::string::npos);
  const Status short_data = writer->add(*make_tensor_info("v", DType::kF32, {2}), seven);
  CHECK(short_data.message().find("7 bytes given for a tensor of 8") != std::string::npos);
  TensorInfo lying = *make_tensor_info("x", DType::kF32, {2});
  lying.byte_size = 4;
  CHECK(writer->add(lying, std::span(eight).first(4)).message().find("byte_size 4 should be 8") != std::string::npos);
  const Status not_object = writer->finish("[1]");
  CHECK(not_object.code() == ErrorCode::kInvalidArgument);
  CHECK(not_object.message().find("must be a JSON object") != std::string::npos);
  REQUIRE(writer->finish(R"({"ok":true})").ok());  // the failed finish left the writer usable
  CHECK(open_owf(dir / "a.owf")->tensors().size() == 1);
}

TEST_CASE("the Writer refuses bool values other than 0 and 1 and nonzero packed padding bits (spec §5)") {
  ScratchDir dir;
  for (const bool compress : {false, true}) {
    CAPTURE(compress);
    WriteOptions options;
    if (compress) options.compression = CompressionOptions{3, 2, true};
    const auto bools = *make_tensor_info("flags", DType::kBool, {4});
    auto writer = Writer::create(dir / "b.owf", options);
    REQUIRE(writer.ok());
    const std::vector<std::byte> two{std::byte{1}, std::byte{0}, std::byte{2}, std::byte{1}};
    CHECK(writer->add(bools, two).message() ==
          (dir / "b.owf").string() + ": tensor 'flags': bool value 2 at decoded byte 2 is neither 0 nor 1");
    const auto nibbles = *make_tensor_info("nibbles", DType::kI4, {3});
    auto packed = Writer::create(dir / "p.owf", options);
    REQUIRE(packed.ok());
    const std::vector<std::byte> padded{std::byte{0x21}, std::byte{0xF3}};
    CHECK(packed->add(nibbles, padded).message().find("unused high bits of the last byte (decoded byte 1)") !=
          std::string::npos);
    const std::vector<std::byte> clean{std::byte{0x21}, std::byte{0x03}};
    auto fine = Writer::create(dir / "ok.owf", options);
    REQUIRE(fine.ok());
    REQUIRE(fine->add(nibbles, clean).ok());
    REQUIRE(fine->add(bools, std::vector<std::byte>{std::byte{1}, std::byte{0}, std::byte{0}, std::byte{1}}).ok());
    REQUIRE(fine->finish("{}").ok());
    CHECK(problems_of(*open_owf(dir / "ok.owf")) == "");
    fs::remove(dir / "ok.owf");
  }
  CHECK_FALSE(fs::exists(dir / "b.owf"));
  CHECK_FALSE(fs::exists(dir / "p.owf"));
}

TEST_CASE("a source that fails leaves no output behind") {
  ScratchDir dir;
  const auto path = dir / "failed.owf";
  {
    auto writer = Writer::create(path, WriteOptions{});
    REQUIRE(writer.ok());
    const Status failed =
        writer->add(*make_tensor_info("w", DType::kU8, {100}),
                    [](std::uint64_t, std::span<std::byte>) { return Status::io_error("disk gone"); });
    CHECK(failed.message() == "disk gone");
    CHECK(writer->finish("{}").message().find("an earlier failure stopped this writer") != std::string::npos);
  }
  CHECK(dir.entries().empty());
}

TEST_CASE("verify names the tensor whose data has a flipped bit") {
  ScratchDir dir;
  const MemoryModel model = sample_model();
  for (const bool compressed : {false, true}) {
    CAPTURE(compressed);
    const auto path = dir / (compressed ? "flip-z.owf" : "flip.owf");
    WriteOptions options;
    if (compressed) options.compression = CompressionOptions{3, 64, true};
    REQUIRE(write_owf(model, "{}", path, options).ok());
    std::uint64_t target_offset = 0;
    {
      const auto reader = open_owf(path);
      const std::size_t index = *reader->find("norm.bias");
      target_offset = reader->stored(index).offset + reader->stored(index).stored_size - 3;
    }
    auto bytes = read_file(path);
    bytes[target_offset] ^= std::byte{0x10};
    write_file(path, bytes);
    const auto reader = open_owf(path);  // tensor bytes are checked lazily
    const std::string problems = problems_of(*reader);
    CHECK(problems.find(path.string() + ": tensor 'norm.bias': checksum mismatch") != std::string::npos);
    const Status single = reader->verify_tensor(*reader->find("norm.bias"));
    CHECK(single.code() == ErrorCode::kCorruption);
    CHECK(reader->verify_tensor(*reader->find("embed.weight")).ok());
  }
}

TEST_CASE("a flipped bit in the header fails open with the header checksum") {
  ScratchDir dir;
  const auto path = dir / "header.owf";
  REQUIRE(write_owf(sample_model(), R"({"k":"v"})", path, WriteOptions{}).ok());
  auto bytes = read_file(path);
  const std::uint64_t header_offset = load_le<std::uint64_t>(&bytes[16]);
  bytes[header_offset + 60] ^= std::byte{1};
  write_file(path, bytes);
  const auto reader = Reader::open(path);
  REQUIRE_FALSE(reader.ok());
  CHECK(reader.status().code() == ErrorCode::kCorruption);
  CHECK(reader.status().message().find(path.string() + ": header checksum mismatch at offset " +
                                       std::to_string(header_offset)) == 0);
}

TEST_CASE("verify reports nonzero padding but not free space (spec §2), and a wrong content digest") {
  ScratchDir dir;
  const auto path = dir / "padding.owf";
  WriteOptions options;
  options.alignment = 256;
  REQUIRE(write_owf(sample_model(), "{}", path, options).ok());
  auto bytes = read_file(path);
  bytes[100] = std::byte{7};               // between the preamble and the first tensor at 256
  bytes[bytes.size() - 1] = std::byte{9};  // last byte of the slack
  write_file(path, bytes);
  const std::string problems = problems_of(*open_owf(path));
  CHECK(problems.find("padding after the preamble has a nonzero byte at offset 100") != std::string::npos);
  CHECK(problems.find("slack") == std::string::npos);  // free space may hold an earlier header
  CHECK(problems.find("content digest") == std::string::npos);
}

TEST_CASE("replace_metadata edits in place when the header fits, else rewrites") {
  ScratchDir dir;
  const auto path = dir / "meta.owf";
  const MemoryModel model = sample_model();
  REQUIRE(write_owf(model, R"({"v":1})", path, WriteOptions{}).ok());
  const auto before = read_file(path);
  const std::uint64_t capacity = open_owf(path)->header_capacity();

  bool in_place = false;
  REQUIRE(replace_metadata(path, R"({"v":2,"license":"MIT"})", &in_place).ok());
  CHECK(in_place);
  auto after = read_file(path);
  CHECK(after.size() == before.size());
  const auto edited = open_owf(path);
  CHECK(edited->metadata() == R"({"v":2,"license":"MIT"})");
  // The new header sits beside the old one (§8), which is then zeroed: only the new header is nonzero.
  const std::uint64_t region = edited->header_region_start();
  CHECK(edited->header_offset() > region);
  CHECK(edited->header_offset() + edited->header_capacity() == after.size());
  CHECK(std::all_of(after.begin() + static_cast<std::ptrdiff_t>(region),
                    after.begin() + static_cast<std::ptrdiff_t>(edited->header_offset()),
                    [](std::byte b) { return b == std::byte{0}; }));
  CHECK(problems_of(*edited).empty());

  // The next edit goes back to the region's start, where the first header was.
  REQUIRE(replace_metadata(path, R"({"v":3})", &in_place).ok());
  CHECK(in_place);
  CHECK(open_owf(path)->header_offset() == region);
  CHECK(open_owf(path)->metadata() == R"({"v":3})");
  CHECK(read_file(path).size() == before.size());

  const std::string large = R"({"notes":")" + std::string(10000, 'x') + R"("})";
  REQUIRE(replace_metadata(path, large, &in_place).ok());
  CHECK_FALSE(in_place);
  const auto reader = open_owf(path);
  CHECK(reader->metadata() == large);
  CHECK(reader->header_capacity() > capacity);
  check_same_content(model, *reader);
  CHECK(problems_of(*reader).empty());
  CHECK(dir.entries() == std::vector<std::string>{"meta.owf"});

  // Back to a small header: fits in the grown capacity, in place again.
  REQUIRE(replace_metadata(path, "{}", &in_place).ok());
  CHECK(in_place);
  CHECK(open_owf(path)->metadata() == "{}");
  CHECK(replace_metadata(path, "not json", &in_place).code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("replace_metadata refuses a file of a newer minor version, leaving it untouched") {
  // Its records would be rewritten without the extension bytes that version may define.
  for (const char* vector : {"minor_version_1_2.owf", "minor_version_1_2_unknown_ids.owf"}) {
    CAPTURE(vector);
    ScratchDir dir;
    const auto path = dir / vector;
    fs::copy_file(fs::path(OWF_VECTORS_DIR) / "valid" / vector, path);
    const auto before = read_file(path);
    bool in_place = false;
    const Status status = replace_metadata(path, R"({"x":1})", &in_place);
    CHECK(status.code() == ErrorCode::kNotSupported);
    CHECK_MESSAGE(status.message().find("format version 1.2 is newer than this library's 1.1") != std::string::npos,
                  status.message());
    CHECK(read_file(path) == before);
  }
}

TEST_CASE("replace_metadata keeps the file's minor version") {
  for (const auto& [vector, format] : {std::pair{"zstd_plain_level1.owf", "owf 1.0"}, {"zstd_lanes.owf", "owf 1.1"}}) {
    CAPTURE(vector);
    ScratchDir dir;
    const auto path = dir / vector;
    fs::copy_file(fs::path(OWF_VECTORS_DIR) / "valid" / vector, path);
    REQUIRE(open_owf(path)->format() == format);
    REQUIRE(replace_metadata(path, R"({"x":1})", nullptr).ok());
    const auto edited = open_owf(path);
    CHECK(edited->format() == format);
    CHECK(edited->metadata() == R"({"x":1})");
    CHECK(problems_of(*edited).empty());
  }
}

TEST_CASE("an empty model is a valid file of preamble and header") {
  ScratchDir dir;
  const auto path = dir / "empty.owf";
  REQUIRE(write_owf(MemoryModel{}, "{}", path, WriteOptions{}).ok());
  const auto reader = open_owf(path);
  CHECK(reader->tensors().empty());
  CHECK(reader->total_bytes() == 0);
  CHECK(problems_of(*reader).empty());
  CHECK(to_hex(reader->recorded_digest()) == to_hex(combine_digests({})));
}

}  // namespace owf::test
