// The helpers the library shares with the format adapters: UTF-8 validation
// and quoted names (owf/text.h), the read-range check of Model::read
// (owf/model.h) and the streaming of tensors by writers (owf/format.h).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib_test_util.h"
#include "owf/format.h"
#include "owf/internal/checked.h"
#include "owf/internal/writing.h"
#include "owf/model.h"
#include "owf/text.h"

namespace owf::test {
namespace {

TEST_CASE("UTF-8 validation refuses overlong forms, surrogates, code points above U+10FFFF and cut sequences") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain"));
  CHECK(is_valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));  // é € 😀
  CHECK(find_invalid_utf8("ab\xc0\xafz") == 2);                  // overlong '/'
  CHECK(find_invalid_utf8("\xed\xa0\x80") == 0);                 // surrogate U+D800
  CHECK(find_invalid_utf8("x\xf4\x90\x80\x80") == 1);            // U+110000
  CHECK(find_invalid_utf8("ok\xe2\x82") == 2);                   // sequence cut by the end
  CHECK(utf8_sequence_length("\xe2\x82\xac", 0) == 3);
  CHECK(utf8_sequence_length("\x80", 0) == 0);
}

TEST_CASE("quote escapes control bytes and bytes outside UTF-8 one by one, keeps valid text, cuts long names") {
  CHECK(quote("w") == "'w'");
  CHECK(quote("w\n") == "'w\\x0a'");
  CHECK(quote("a\x7f") == "'a\\x7f'");
  CHECK(quote("\xc3\xa9\xff") == "'\xc3\xa9\\xff'");  // é stays, the stray byte is escaped
  const std::string long_name(300, 'n');
  CHECK(quote(long_name) == "'" + std::string(200, 'n') + "...'");
}

TEST_CASE("printable escapes what a terminal acts on: C1 controls, bidi overrides and isolates, escapes") {
  CHECK(printable("w\x1b[31mRED") == "w\\x1b[31mRED");
  CHECK(printable("a\xc2\x9b"
                  "b") == "a\\xc2\\x9bb");  // U+009B, CSI
  CHECK(printable("x\xe2\x80\xae"
                  "y") == "x\\xe2\\x80\\xaey");           // U+202E, right-to-left override
  CHECK(printable("\xe2\x81\xa6") == "\\xe2\\x81\\xa6");  // U+2066, left-to-right isolate
  CHECK(printable("\xe2\x80\xa9\xc2\xa0\xe4\xb8\xad") == "\xe2\x80\xa9\xc2\xa0\xe4\xb8\xad");  // shown as is
  CHECK(quote("w\x1b") == "'w\\x1b'");
}

TEST_CASE("Model::find indexes names once, and a copy gets its own index") {
  MemoryModel model;
  for (int i = 0; i < 1000; ++i) model.add_pattern("t" + std::to_string(i), DType::kU8, {1});
  CHECK(model.find("t999") == std::optional<std::size_t>(999));
  CHECK(model.find("t0") == std::optional<std::size_t>(0));
  CHECK_FALSE(model.find("t1000"));
  MemoryModel copy = model;  // the copy's names live elsewhere: it must not reuse the original's index
  copy.add_pattern("late", DType::kU8, {1});
  CHECK(copy.find("late") == std::optional<std::size_t>(1000));
  CHECK(copy.find("t5") == std::optional<std::size_t>(5));
}

TEST_CASE("check_tensor_count names the limit") {
  CHECK(check_tensor_count(kMaxTensors, "m.npz").ok());
  const Status refused = check_tensor_count(kMaxTensors + 1, "m.npz");
  CHECK(refused.message() == "m.npz: 65537 tensors, more than the 65536 owf allows in one file");
}

TEST_CASE("check_read_range names the source, the tensor and the range it refuses") {
  MemoryModel model;
  model.add_pattern("w", DType::kU8, {10});
  const std::vector<TensorInfo>& tensors = model.tensors();
  CHECK(check_read_range(tensors, 0, 0, 10, "m.owf").ok());
  CHECK(check_read_range(tensors, 0, 10, 0, "m.owf").ok());
  CHECK(check_read_range(tensors, 1, 0, 1, "m.owf").message() == "m.owf: no tensor with index 1");
  CHECK(check_read_range(tensors, 0, 4, 8, "m.owf").message() ==
        "m.owf: tensor 'w': read of 8 bytes at offset 4 exceeds its 10 bytes");
  CHECK(check_read_range(tensors, 0, UINT64_MAX, 2, "").message() ==
        "tensor 'w': read of 2 bytes at offset 18446744073709551615 exceeds its 10 bytes");
}

TEST_CASE("copy_tensor streams a tensor larger than one piece and reports every byte against the total") {
  ScratchDir dir;
  MemoryModel model;
  model.add_pattern("big", DType::kU8, {kReadPieceBytes + 3});
  model.add_pattern("small", DType::kU8, {5}, 2);
  std::vector<std::uint64_t> reported;
  WriteOptions options;
  options.progress = [&reported, expected_total = model.total_bytes()](std::uint64_t done, std::uint64_t total) {
    CHECK(total == expected_total);
    reported.push_back(done);
  };
  WriteProgress progress(options, model.total_bytes());
  auto out = AtomicFile::create(dir / "out.bin", false);
  REQUIRE(out.ok());
  REQUIRE(copy_tensor(model, 0, *out, progress).ok());
  REQUIRE(copy_tensor(model, 1, *out, progress).ok());
  REQUIRE(out->commit().ok());
  CHECK(reported == std::vector<std::uint64_t>{kReadPieceBytes, kReadPieceBytes + 3, kReadPieceBytes + 8});
  std::vector<std::byte> expected = model.data(0);
  expected.insert(expected.end(), model.data(1).begin(), model.data(1).end());
  CHECK(read_file(dir / "out.bin") == expected);
}

TEST_CASE("copy_tensors writes the same bytes with the read-ahead thread as without, after() between tensors") {
  MemoryModel model;
  model.add_pattern("big", DType::kU8, {(8u << 20) + 3});
  model.add_pattern("empty", DType::kU8, {0});
  model.add_pattern("small", DType::kU8, {5}, 2);
  const std::vector<std::size_t> order = {2, 1, 0};
  std::vector<std::byte> expected = model.data(2);
  expected.push_back(std::byte{0});
  expected.push_back(std::byte{1});
  expected.insert(expected.end(), model.data(0).begin(), model.data(0).end());
  expected.push_back(std::byte{2});
  for (const unsigned threads : {1u, 2u}) {
    CAPTURE(threads);
    ScratchDir dir;
    WriteOptions options;
    options.threads = threads;
    WriteProgress progress(options, model.total_bytes());
    auto out = AtomicFile::create(dir / "out.bin", false);
    REQUIRE(out.ok());
    const auto mark = [&](std::size_t i) {
      const std::byte marker{static_cast<unsigned char>(i)};
      return out->write(std::span<const std::byte>(&marker, 1));
    };
    REQUIRE(copy_tensors(model, order, *out, progress, mark).ok());
    REQUIRE(out->commit().ok());
    CHECK(read_file(dir / "out.bin") == expected);
    // An after() that fails stops the copy with its error.
    auto failing = AtomicFile::create(dir / "failing.bin", false);
    REQUIRE(failing.ok());
    const Status refused = copy_tensors(model, order, *failing, progress, [](std::size_t i) -> Status {
      return i == 1 ? Status::invalid_argument("stop at 1") : Status();
    });
    CHECK(refused.message() == "stop at 1");
  }
}

TEST_CASE("progress_source reads through the model and counts what it read") {
  MemoryModel model;
  model.add_pattern("w", DType::kU8, {6});
  std::uint64_t last = 0;
  WriteOptions options;
  options.progress = [&last](std::uint64_t done, std::uint64_t) { last = done; };
  WriteProgress progress(options, 6);
  const TensorSource source = progress_source(model, 0, progress);
  std::vector<std::byte> piece(4);
  REQUIRE(source(2, piece).ok());
  CHECK(std::equal(piece.begin(), piece.end(), model.data(0).begin() + 2));
  CHECK(last == 4);
  CHECK(progress.total() == 6);
}

}  // namespace
}  // namespace owf::test
