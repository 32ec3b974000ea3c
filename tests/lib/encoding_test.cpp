// Byte-exact encodings: the preamble, a tensor record, a chunk header and a
// whole small file, spelled out field by field from spec/owf-v1.md. Hash
// values were computed independently with Python's hashlib and xxhash.
#include <doctest/doctest.h>

#include <string>

#include "lib_test_util.h"
#include "owf/container.h"
#include "owf/digest.h"
#include "owf/internal/bytes.h"

namespace owf::test {
namespace {

std::vector<std::byte> from_hex(std::string_view hex) {
  std::vector<std::byte> bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<std::byte>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return bytes;
}

// SHA-256 tensor digest of u8 tensor "w" of shape [2] holding 01 02 (spec §7).
constexpr std::string_view kTensorDigestW = "76245361fe7085c1a041fc3708cf7a482e800ed4bc1cf4b06b7b029f9d3dcfa3";
// Content digest of that single tensor, and of no tensors at all.
constexpr std::string_view kContentDigestW = "c9aa2ac83aaaf80470d07b4956d50333bda18766c6b05953429c571a73f7808a";
constexpr std::string_view kContentDigestEmpty = "2f576d315e85bf8c07a355a40675cf1e4ace4dd14e1b69acedb72d256ba880d5";
constexpr std::uint64_t kXxh3Of0102 = 0x08130b77ddef5807;

}  // namespace

TEST_CASE("a one-tensor file is laid out byte for byte as the spec says") {
  ScratchDir dir;
  MemoryModel model;
  model.add("w", DType::kU8, {2}, {std::byte{1}, std::byte{2}});
  WriteOptions options;
  options.alignment = 8;
  options.header_slack = 0;
  options.header_copy_room = false;
  REQUIRE(write_owf(model, "{}", dir / "w.owf", options).ok());
  const auto file = read_file(dir / "w.owf");

  // Header at align_up(64 + 2, 8) = 72: digest, tensor_count, metadata, one record.
  std::vector<std::byte> header = from_hex(kContentDigestW);
  append_le<std::uint64_t>(header, 1);  // tensor_count
  append_le<std::uint64_t>(header, 2);  // metadata_length
  append_bytes(header, as_bytes("{}"));
  append_le<std::uint32_t>(header, 36 + 1 + 8);  // record_length: fixed part, name, one dimension
  append_le<std::uint16_t>(header, 2);           // dtype u8
  append_le<std::uint8_t>(header, 0);            // encoding raw
  append_le<std::uint8_t>(header, 1);            // rank
  append_le<std::uint32_t>(header, 1);           // name_length
  append_bytes(header, as_bytes("w"));
  append_le<std::uint64_t>(header, 2);   // shape[0]
  append_le<std::uint64_t>(header, 64);  // offset: data_start = align_up(64, 8)
  append_le<std::uint64_t>(header, 2);   // stored_length
  append_le<std::uint64_t>(header, kXxh3Of0102);
  REQUIRE(header.size() == 95);

  std::vector<std::byte> preamble = from_hex("894f57460d0a1a0a");
  append_le<std::uint16_t>(preamble, 1);                      // major
  append_le<std::uint16_t>(preamble, 0);                      // minor
  append_le<std::uint32_t>(preamble, 8);                      // alignment
  append_le<std::uint64_t>(preamble, 72);                     // header_offset
  append_le<std::uint64_t>(preamble, 95);                     // header_length
  append_le<std::uint64_t>(preamble, 95);                     // header_capacity: no slack asked for
  append_le<std::uint64_t>(preamble, 0x5258f82ab37c6060ull);  // header_checksum (XXH3 of the header)
  append_le<std::uint64_t>(preamble, 0);                      // reserved
  append_le<std::uint64_t>(preamble, 0xd56e801881c5303bull);  // preamble_checksum (XXH3 of bytes 0..55)

  std::vector<std::byte> expected = preamble;
  append_bytes(expected, from_hex("0102"));
  expected.resize(72);  // zero padding up to the header
  append_bytes(expected, header);
  CHECK(expected.size() == 167);
  CHECK(file == expected);
}

TEST_CASE("tensor and content digests follow spec section 7") {
  MemoryModel model;
  model.add("w", DType::kU8, {2}, {std::byte{1}, std::byte{2}});
  CHECK(to_hex(*tensor_digest(model, 0)) == kTensorDigestW);
  CHECK(to_hex(*content_digest(model)) == kContentDigestW);
  CHECK(to_hex(combine_digests({})) == kContentDigestEmpty);
  CHECK(to_hex(*content_digest(MemoryModel{})) == kContentDigestEmpty);
}

TEST_CASE("a compressed tensor stores the chunk header, table and frames of spec 6.2") {
  ScratchDir dir;
  MemoryModel model;
  model.add_pattern("h", DType::kU16, {50}, 3);  // 100 bytes: chunks of 40, 40 and 20
  WriteOptions options;
  options.compression = CompressionOptions{3, 40, true, false};
  REQUIRE(write_owf(model, "{}", dir / "z.owf", options).ok());
  const auto file = read_file(dir / "z.owf");
  const auto reader = open_owf(dir / "z.owf");
  const StoredTensor& stored = reader->stored(0);
  ByteCursor cursor{std::span<const std::byte>(file).subspan(stored.offset, stored.stored_size)};
  CHECK(*cursor.u32("chunk_size") == 40);
  CHECK(*cursor.u8("filter") == 1);  // byte-group: u16 elements
  CHECK(*cursor.u8("reserved") == 0);
  CHECK(*cursor.u16("reserved") == 0);
  CHECK(*cursor.u64("chunk_count") == 3);
  std::uint64_t frames = 0;
  for (int i = 0; i < 3; ++i) frames += *cursor.u64("chunk_length");
  CHECK(16 + 3 * 8 + frames == stored.stored_size);
  // The first frame begins with the Zstandard magic number 0xFD2FB528.
  CHECK(*cursor.u32("frame magic") == 0xFD2FB528u);
}

TEST_CASE("a lanes chunk stores each lane compressed or as is, as spec 6.3 says") {
  ScratchDir dir;
  MemoryModel model;
  // u16 elements whose high byte is constant (compresses) and low byte noise (stored as is).
  std::vector<std::byte> data(2 * 4096);
  std::uint32_t state = 7;
  for (std::size_t j = 0; j < 4096; ++j) {
    state = state * 1103515245u + 12345u;
    data[2 * j] = static_cast<std::byte>(state >> 24);
    data[2 * j + 1] = std::byte{0x3F};
  }
  model.add("w", DType::kU16, {4096}, data);
  WriteOptions options;
  options.compression = CompressionOptions{1, 8192, true, true};
  REQUIRE(write_owf(model, "{}", dir / "z.owf", options).ok());
  const auto file = read_file(dir / "z.owf");
  const auto reader = open_owf(dir / "z.owf");
  CHECK(reader->encoding(0) == "zstd+lanes");
  const StoredTensor& stored = reader->stored(0);
  ByteCursor cursor{std::span<const std::byte>(file).subspan(stored.offset, stored.stored_size)};
  CHECK(*cursor.u32("chunk_size") == 8192);
  CHECK(*cursor.u8("filter") == 2);
  CHECK(*cursor.u8("reserved") == 0);
  CHECK(*cursor.u16("reserved") == 0);
  CHECK(*cursor.u64("chunk_count") == 1);
  const std::uint64_t chunk_length = *cursor.u64("chunk_length");
  const std::uint32_t low = *cursor.u32("lane 0 length"), high = *cursor.u32("lane 1 length");
  CHECK(low == 4096);  // noise: stored
  CHECK(high < 100);   // one byte value: a tiny frame
  CHECK(chunk_length == 8 + low + high);
  const auto low_lane = *cursor.bytes(low, "lane 0");
  for (std::size_t j = 0; j < 4096; ++j) CHECK_EQ(low_lane[j], data[2 * j]);
  CHECK(*cursor.u32("frame magic") == 0xFD2FB528u);
  CHECK(*read_tensor(*reader, 0) == data);
}

}  // namespace owf::test
