// The NumPy adapter: the corpus files, header syntax numpy writes (and older
// numpys wrote), big-endian and Fortran-order arrays, .npz stored and deflated
// members, writers, and named bad inputs refused with file and problem named.
#include "numpy/numpy.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "../lib/lib_test_util.h"
#include "format_test_util.h"
#include "owf/container.h"
#include "owf/digest.h"
#include "owf/internal/bytes.h"
#include "owf/internal/zip.h"

namespace owf::test {
namespace {

const fs::path kCorpus = fs::path(OWF_CORPUS_DIR);

const Format& format() {
  static const auto instance = formats::make_numpy_format();
  return *instance;
}

std::unique_ptr<Model> open_ok(const fs::path& path) { return test::open_ok(format(), path); }
std::string open_error(const fs::path& path) { return test::open_error(format(), path); }

// A .npy file with this header dict text (no padding needed) and data.
std::vector<std::byte> npy_bytes(std::string_view dict, std::span<const std::byte> data = {}, std::uint8_t major = 1) {
  std::vector<std::byte> bytes;
  append_bytes(bytes, as_bytes("\x93NUMPY"));
  append_le<std::uint8_t>(bytes, major);
  append_le<std::uint8_t>(bytes, 0);
  if (major == 1) {
    append_le<std::uint16_t>(bytes, static_cast<std::uint16_t>(dict.size()));
  } else {
    append_le<std::uint32_t>(bytes, static_cast<std::uint32_t>(dict.size()));
  }
  append_bytes(bytes, as_bytes(dict));
  append_bytes(bytes, data);
  return bytes;
}

std::vector<std::byte> u32_values(std::initializer_list<std::uint32_t> values, bool big_endian = false) {
  std::vector<std::byte> bytes;
  for (std::uint32_t value : values) {
    if (big_endian) value = __builtin_bswap32(value);
    append_le<std::uint32_t>(bytes, value);
  }
  return bytes;
}

std::vector<std::uint32_t> read_u32(const Model& model, std::size_t index) {
  auto bytes = read_tensor(model, index);
  REQUIRE_MESSAGE(bytes.ok(), bytes.status().message());
  std::vector<std::uint32_t> values;
  for (std::size_t at = 0; at + 4 <= bytes->size(); at += 4)
    values.push_back(load_le<std::uint32_t>(bytes->data() + at));
  return values;
}

std::vector<std::byte> bytes_of(std::string_view text) {
  const auto bytes = as_bytes(text);
  return {bytes.begin(), bytes.end()};
}

struct Member {
  std::string name;
  std::vector<std::byte> bytes;
  bool deflate = false;
};

void write_zip(const fs::path& path, const std::vector<Member>& members) {
  auto file = AtomicFile::create(path, true);
  REQUIRE(file.ok());
  ZipWriter zip(*file);
  for (const Member& member : members) {
    const Status status =
        member.deflate ? zip.add_deflated(member.name, member.bytes) : zip.add_stored(member.name, member.bytes);
    REQUIRE_MESSAGE(status.ok(), status.message());
  }
  REQUIRE(zip.finish().ok());
  REQUIRE(file->commit().ok());
}

}  // namespace

TEST_CASE("corpus: the g2p .npy is one f32 (768, 256) tensor named after the file") {
  const auto model = open_ok(kCorpus / "npy" / "g2p_en-enc_w_hh.npy");
  CHECK(model->format() == "npy v1.0");
  REQUIRE(model->tensors().size() == 1);
  const TensorInfo& info = model->tensors()[0];
  CHECK(info.name == "g2p_en-enc_w_hh");
  CHECK(info.dtype == DType::kF32);
  CHECK(info.shape == std::vector<std::uint64_t>{768, 256});
  // Values read independently with numpy.
  CHECK(f32_at(*model, 0, 0) == doctest::Approx(0.1823662668466568));
  CHECK(f32_at(*model, 0, 1) == doctest::Approx(-0.07587075233459473));
  CHECK(f32_at(*model, 0, 768 * 256 - 1) == doctest::Approx(0.25364261865615845));
  REQUIRE(model->view(0).has_value());
  CHECK(model->view(0)->size() == info.byte_size);
  CHECK(model->metadata() == "{}");
}

TEST_CASE("corpus: the g2p .npz has 12 f32 arrays in member order") {
  const auto model = open_ok(kCorpus / "npz" / "g2p_en-checkpoint20.npz");
  CHECK(model->format() == "npz");
  REQUIRE(model->tensors().size() == 12);
  CHECK(model->tensors()[0].name == "enc_emb");
  CHECK(model->tensors()[0].shape == std::vector<std::uint64_t>{29, 256});
  CHECK(model->tensors()[3].name == "enc_b_ih");
  CHECK(model->tensors()[3].shape == std::vector<std::uint64_t>{768});
  CHECK(model->tensors()[11].name == "fc_b");
  CHECK(model->tensors()[11].shape == std::vector<std::uint64_t>{74});
  for (const TensorInfo& info : model->tensors()) CHECK(info.dtype == DType::kF32);
  CHECK(f32_at(*model, 11, 0) == doctest::Approx(-0.1016676053404808));
  CHECK(f32_at(*model, 11, 2) == doctest::Approx(-0.02883581444621086));
  CHECK(model->encoding(0) == "raw");
  // The .npy in the corpus is the enc_w_hh member: same bytes, same digest under the same name.
  const auto single = open_ok(kCorpus / "npy" / "g2p_en-enc_w_hh.npy");
  CHECK(*read_tensor(*single, 0) == *read_tensor(*model, 2));
  CHECK(problems_of(*model).empty());
}

TEST_CASE("corpus files round-trip through .npz (stored and deflated), .npy and .owf with equal digests") {
  ScratchDir dir;
  const auto npz = open_ok(kCorpus / "npz" / "g2p_en-checkpoint20.npz");
  const Digest digest = digest_of(*npz);
  REQUIRE(format().write(*npz, "{}", dir / "stored.npz", {}).ok());
  CHECK(digest_of(*open_ok(dir / "stored.npz")) == digest);
  WriteOptions compressed;
  compressed.compression = CompressionOptions{};
  REQUIRE(format().write(*npz, "{}", dir / "deflated.npz", compressed).ok());
  const auto deflated = open_ok(dir / "deflated.npz");
  CHECK(deflated->encoding(0) == "deflate");
  CHECK(deflated->stored_size(0) < deflated->tensors()[0].byte_size);
  CHECK(digest_of(*deflated) == digest);
  REQUIRE(write_owf(*deflated, "{}", dir / "g2p.owf", {}).ok());
  CHECK(digest_of(*open_owf(dir / "g2p.owf")) == digest);
  // Deterministic output.
  REQUIRE(format().write(*npz, "{}", dir / "again.npz", {}).ok());
  CHECK(read_file(dir / "again.npz") == read_file(dir / "stored.npz"));

  // numpy's own .npy header is what owf writes too, so the bytes are identical.
  const fs::path npy = kCorpus / "npy" / "g2p_en-enc_w_hh.npy";
  REQUIRE(format().write(*open_ok(npy), "{}", dir / "g2p_en-enc_w_hh.npy", {}).ok());
  CHECK(read_file(dir / "g2p_en-enc_w_hh.npy") == read_file(npy));
}

TEST_CASE("stored members keep the array data 64-byte aligned in the archive") {
  ScratchDir dir;
  MemoryModel model;
  model.add_pattern("a", DType::kF32, {3});
  model.add_pattern("bb", DType::kU8, {5});
  model.add_pattern("c.d", DType::kF64, {2, 2});
  REQUIRE(format().write(model, "{}", dir / "m.npz", {}).ok());
  const std::vector<std::byte> archive = read_file(dir / "m.npz");
  auto zip = ZipReader::open(archive, "m.npz");
  REQUIRE(zip.ok());
  REQUIRE(zip->entries().size() == 3);
  CHECK(zip->entries()[2].name == "c.d.npy");
  for (const ZipEntry& entry : zip->entries()) {
    CHECK(entry.method == 0);
    CHECK((*zip->data_offset(entry) + 128) % 64 == 0);  // the .npy header is padded to 128 bytes here
  }
  const auto reread = open_ok(dir / "m.npz");
  CHECK(reread->tensors()[2].name == "c.d");
  CHECK(digest_of(*reread) == digest_of(model));
}

TEST_CASE("big-endian arrays are read as little-endian, in whole and in odd pieces") {
  ScratchDir dir;
  write_file(dir / "be.npy", npy_bytes("{'descr': '>u4', 'fortran_order': False, 'shape': (2, 3), }",
                                       u32_values({1, 2, 3, 0x01020304, 5, 6}, true)));
  const auto model = open_ok(dir / "be.npy");
  CHECK(read_u32(*model, 0) == std::vector<std::uint32_t>{1, 2, 3, 0x01020304, 5, 6});
  CHECK(!model->view(0).has_value());
  CHECK(model->encoding(0) == "big-endian");
  std::array<std::byte, 6> piece{};
  REQUIRE(model->read(0, 11, piece).ok());
  const std::vector<std::byte> expected = u32_values({1, 2, 3, 0x01020304, 5, 6});
  CHECK(std::equal(piece.begin(), piece.end(), expected.begin() + 11));
}

TEST_CASE("Fortran-order arrays are transposed to C order as they are read") {
  ScratchDir dir;
  // C-order values 0..23 of shape (2, 3, 4), stored column-major: element (i, j, k) at i + 2j + 6k.
  std::vector<std::uint32_t> column_major(24);
  for (std::uint32_t i = 0; i < 2; ++i) {
    for (std::uint32_t j = 0; j < 3; ++j) {
      for (std::uint32_t k = 0; k < 4; ++k) column_major[i + 2 * j + 6 * k] = i * 12 + j * 4 + k;
    }
  }
  std::vector<std::byte> data;
  for (const std::uint32_t value : column_major) append_le<std::uint32_t>(data, value);
  write_file(dir / "f.npy", npy_bytes("{'descr': '<u4', 'fortran_order': True, 'shape': (2, 3, 4), }", data));
  const auto model = open_ok(dir / "f.npy");
  std::vector<std::uint32_t> c_order(24);
  for (std::uint32_t i = 0; i < 24; ++i) c_order[i] = i;
  CHECK(read_u32(*model, 0) == c_order);
  CHECK(model->encoding(0) == "fortran-order");
  std::array<std::byte, 8> piece{};  // elements 13 and 14
  REQUIRE(model->read(0, 13 * 4, piece).ok());
  CHECK(load_le<std::uint32_t>(piece.data()) == 13);
  CHECK(load_le<std::uint32_t>(piece.data() + 4) == 14);

  // Big-endian complex in Fortran order: each float of a pair is swapped on its own.
  std::vector<std::byte> complex_data;
  for (const std::uint32_t bits : {10u, 11u, 30u, 31u, 20u, 21u, 40u, 41u}) {  // (0,0) (1,0) (0,1) (1,1)
    append_le<std::uint32_t>(complex_data, __builtin_bswap32(bits));
  }
  write_file(dir / "c.npy", npy_bytes("{'descr': '>c8', 'fortran_order': True, 'shape': (2, 2), }", complex_data));
  const auto complex = open_ok(dir / "c.npy");
  CHECK(complex->tensors()[0].dtype == DType::kC64);
  CHECK(read_u32(*complex, 0) == std::vector<std::uint32_t>{10, 11, 20, 21, 30, 31, 40, 41});
  CHECK(complex->encoding(0) == "big-endian+fortran-order");

  // An empty Fortran-order array reads as nothing, without touching its zero dimension.
  write_file(dir / "empty.npy", npy_bytes("{'descr': '>u4', 'fortran_order': True, 'shape': (0, 3, 4), }"));
  const auto empty = open_ok(dir / "empty.npy");
  CHECK(empty->encoding(0) == "big-endian+fortran-order");
  CHECK(empty->read(0, 0, {}).ok());
  CHECK(read_tensor(*empty, 0)->empty());

  // Fortran order with one dimension above 1 is C order already.
  write_file(dir / "row.npy",
             npy_bytes("{'descr': '<u4', 'fortran_order': True, 'shape': (1, 3), }", u32_values({1, 2, 3})));
  CHECK(open_ok(dir / "row.npy")->encoding(0) == "raw");
}

TEST_CASE("header syntax: key order, quotes, trailing comma, Python 2 ints, versions 2.0 and 3.0, 0-d and empty") {
  ScratchDir dir;
  struct Case {
    std::string name;
    std::vector<std::byte> bytes;
    DType dtype;
    std::vector<std::uint64_t> shape;
  };
  const std::vector<Case> cases = {
      {"reordered",
       npy_bytes("{'shape': (2,), 'fortran_order': False, 'descr': '<i2'}", u32_values({1})),
       DType::kI16,
       {2}},
      {"double quotes",
       npy_bytes("{\"descr\": \"|b1\", \"fortran_order\": False, \"shape\": (3,)}\n", std::vector<std::byte>(3)),
       DType::kBool,
       {3}},
      {"python 2 longs",
       npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1L, 2L), }  \n", std::vector<std::byte>(16)),
       DType::kF64,
       {1, 2}},
      {"version 2.0",
       npy_bytes("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", std::vector<std::byte>(16), 2),
       DType::kC128,
       {1}},
      {"version 3.0",
       npy_bytes("{'descr': '<f2', 'fortran_order': False, 'shape': (), }", std::vector<std::byte>(2), 3),
       DType::kF16,
       {}},
      {"zero-size", npy_bytes("{'descr': '<i8', 'fortran_order': True, 'shape': (0, 3), }"), DType::kI64, {0, 3}},
      {"unsigned byte",
       npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", std::vector<std::byte>(2)),
       DType::kU8,
       {2}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    write_file(dir / "h.npy", c.bytes);
    const auto model = open_ok(dir / "h.npy");
    CHECK(model->tensors()[0].dtype == c.dtype);
    CHECK(model->tensors()[0].shape == c.shape);
  }
  CHECK(open_ok(dir / "h.npy")->format() == "npy v1.0");
}

TEST_CASE("named bad .npy inputs are refused with the file and the problem named") {
  ScratchDir dir;
  const std::string good_tail = "'fortran_order': False, 'shape': (2,), }";
  std::vector<std::byte> long_header = npy_bytes("{}", {}, 2);
  store_le<std::uint32_t>(long_header.data() + 8, 1'000'000);
  std::vector<std::byte> beyond = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }");
  store_le<std::uint16_t>(beyond.data() + 8, 500);
  std::string deep = "{'descr': '<f4', 'fortran_order': False, 'shape': ";
  for (int i = 0; i < 10000; ++i) deep += "(";
  struct Case {
    std::string name;
    std::vector<std::byte> bytes;
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {"empty", {}, "bad.npy: empty file"},
      {"not numpy", bytes_of(std::string_view("GGUF\3\0\0\0", 8)), "neither a .npy array"},
      {"truncated preamble", bytes_of("\x93NUMPY\x01"), "version at offset 6 needs 2 bytes, only 1 remain"},
      {"header length beyond the file", beyond, "header at offset 10 needs 500 bytes"},
      {"header over the cap", long_header, "header length 1000000 at offset 8 exceeds the cap of 65535 bytes"},
      {"unknown version", npy_bytes("{}", {}, 4), ".npy format version 4.0 is not supported"},
      {"object array", npy_bytes("{'descr': '|O', " + good_tail, std::vector<std::byte>(16)),
       "descr '|O': object arrays hold pickled Python objects"},
      {"structured dtype", npy_bytes("{'descr': [('x', '<f4'), ('y', '<i4')], " + good_tail), "structured dtypes"},
      {"strings", npy_bytes("{'descr': '<U5', " + good_tail), "descr '<U5': string, void and datetime arrays"},
      {"unknown descr", npy_bytes("{'descr': '<f3', " + good_tail), "descr '<f3' is not a numpy type"},
      {"long double", npy_bytes("{'descr': '<f16', " + good_tail), "extended precision"},
      {"no byte order", npy_bytes("{'descr': '|f4', " + good_tail), "needs byte order < or >"},
      {"native byte order", npy_bytes("{'descr': '=f4', " + good_tail), "native byte order"},
      {"shape product overflow",
       npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"),
       "shape [4294967296, 4294967296] has more than 2^64 elements"},
      {"negative dims", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 2), }"),
       "negative dimension -1 in 'shape'"},
      {"parenthesized int is no tuple", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (5), }"),
       "'shape' is not a tuple"},
      {"list shape", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': [2], }"), "'shape' is not a tuple"},
      {"int fortran_order", npy_bytes("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }"),
       "'fortran_order' is not True or False"},
      {"missing key", npy_bytes("{'descr': '<f4', 'fortran_order': False}"), "header lacks 'shape'"},
      {"duplicate key", npy_bytes("{'descr': '<f4', 'descr': '<f4', " + good_tail), "header key 'descr' appears twice"},
      {"unknown key", npy_bytes("{'descr': '<f4', 'extra': 1, " + good_tail), "unknown header key 'extra'"},
      {"data too short", npy_bytes("{'descr': '<f4', " + good_tail, std::vector<std::byte>(5)),
       "array data at offset 67 is 5 bytes, but f32 of this shape needs 8"},
      {"data too long", npy_bytes("{'descr': '<f4', " + good_tail, std::vector<std::byte>(9)),
       "array data at offset 67 is 9 bytes, but f32 of this shape needs 8"},
      {"unterminated string", npy_bytes("{'descr: 1}"), "unterminated string at offset 11"},
      {"escape", npy_bytes("{'de\\scr': 1}"), "escape sequences in header strings are not supported at offset 14"},
      {"text after the dict", npy_bytes("{'descr': '<f4', " + good_tail + " x"),
       "unexpected text after the header dict"},
      {"not a dict", npy_bytes("('descr', '<f4')"), "header does not start with a dict"},
      {"deep nesting", npy_bytes(deep), "nests deeper than 16"},
      {"huge int", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }"),
       "integer exceeds 2^64 at offset"},
      {"binary in header", npy_bytes("{'descr': '<f\xff', " + good_tail), "descr '<f\\xff' is not a numpy type"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    write_file(dir / "bad.npy", c.bytes);
    const std::string error = open_error(dir / "bad.npy");
    CHECK_MESSAGE(error.find(c.fragment) != std::string::npos, error);
    CHECK(error.starts_with("bad.npy: "));
  }
}

TEST_CASE("npz: deflated members, names without .npy, and named bad archives") {
  ScratchDir dir;
  const std::vector<std::byte> array =
      npy_bytes("{'descr': '<u4', 'fortran_order': False, 'shape': (3,), }", u32_values({7, 8, 9}));
  write_zip(dir / "ok.npz", {{"w.npy", array, true}, {"plain", array, false}});
  const auto model = open_ok(dir / "ok.npz");
  REQUIRE(model->tensors().size() == 2);
  CHECK(model->tensors()[0].name == "w");
  CHECK(model->tensors()[1].name == "plain");
  CHECK(read_u32(*model, 0) == std::vector<std::uint32_t>{7, 8, 9});
  CHECK(model->encoding(0) == "deflate");
  CHECK(model->encoding(1) == "raw");

  write_zip(dir / "dup.npz", {{"w.npy", array}, {"w", array}});
  CHECK(open_error(dir / "dup.npz").find("dup.npz: entry 'w': a second array named 'w'") != std::string::npos);
  write_zip(dir / "utf8.npz", {{"w\xff.npy", array}});
  const std::string utf8_error = open_error(dir / "utf8.npz");
  CHECK_MESSAGE(utf8_error.starts_with("utf8.npz: entry 'w\\xff.npy'"), utf8_error);
  CHECK(utf8_error.find("not valid UTF-8") != std::string::npos);
  write_zip(dir / "text.npz", {{"notes.txt", bytes_of("hello")}});
  CHECK(open_error(dir / "text.npz").find("text.npz: entry 'notes.txt': not a .npy array") != std::string::npos);
  write_zip(dir / "object.npz", {{"o.npy", npy_bytes("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }")}});
  CHECK(open_error(dir / "object.npz").find("object.npz: entry 'o.npy': descr '|O': object arrays") !=
        std::string::npos);

  // A deflated member that claims far more bytes than its compressed data can hold.
  write_zip(dir / "bomb.npz", {{"w.npy", array, true}});
  std::vector<std::byte> bomb = read_file(dir / "bomb.npz");
  auto zip = ZipReader::open(bomb, "bomb.npz");
  REQUIRE(zip.ok());
  const std::uint64_t local = *zip->data_offset(zip->entries()[0]) - 30 - 5;  // local header: 30 bytes, then "w.npy"
  const std::string_view text = as_chars(bomb);
  const std::size_t central = text.find("PK\x01\x02");
  REQUIRE(central != std::string_view::npos);
  store_le<std::uint32_t>(bomb.data() + local + 22, 0xFFFFFF00u);
  store_le<std::uint32_t>(bomb.data() + central + 24, 0xFFFFFF00u);
  write_file(dir / "bomb.npz", bomb);
  const std::string bomb_error = open_error(dir / "bomb.npz");
  CHECK_MESSAGE(bomb_error.find("bomb.npz: entry 'w.npy'") != std::string::npos, bomb_error);
  CHECK(bomb_error.find("is more than deflate can make of 73 compressed bytes") != std::string::npos);

  std::vector<std::byte> truncated = read_file(dir / "ok.npz");
  truncated.resize(truncated.size() - 10);
  write_file(dir / "cut.npz", truncated);
  CHECK(open_error(dir / "cut.npz").starts_with("cut.npz: "));
}

TEST_CASE("writers: .npy takes one tensor, dtypes numpy lacks are refused, nothing is left behind") {
  ScratchDir dir;
  MemoryModel two;
  two.add_pattern("a", DType::kF32, {2});
  two.add_pattern("b", DType::kF32, {2});
  Status status = format().write(two, "{}", dir / "two.npy", {});
  CHECK(status.code() == ErrorCode::kInvalidArgument);
  CHECK(status.message() == "two.npy: a .npy file holds one array, but the model has 2 tensors; write a .npz instead");

  MemoryModel bf16;
  bf16.add_pattern("ok", DType::kF32, {2});
  bf16.add_pattern("w", DType::kBF16, {2});
  status = format().write(bf16, "{}", dir / "bf16.npz", {});
  CHECK(status.code() == ErrorCode::kNotSupported);
  CHECK(status.message() == "bf16.npz: tensor 'w': NumPy has no dtype bf16; convert with --dtype f32");
  MemoryModel packed;
  packed.add_pattern("nibbles", DType::kI4, {4});
  CHECK(format().write(packed, "{}", dir / "p.npz", {}).message() ==
        "p.npz: tensor 'nibbles': NumPy has no dtype int4");
  MemoryModel escaping;
  escaping.add_pattern("../evil", DType::kU8, {1});
  CHECK(format().write(escaping, "{}", dir / "e.npz", {}).message().find("'../evil.npy'") != std::string::npos);
  CHECK(dir.entries().empty());

  MemoryModel one;
  one.add_pattern("only", DType::kI16, {3, 2});
  REQUIRE(format().write(one, "{}", dir / "one.npy", {}).ok());
  const auto reread = open_ok(dir / "one.npy");
  CHECK(reread->tensors()[0].name == "one");  // a .npy names its array after the file
  CHECK(*read_tensor(*reread, 0) == one.data(0));
  CHECK(!format().write(one, "{}", dir / "one.npy", {}).ok());  // exists
}

TEST_CASE("detect: the .npy magic, zips whose first member is .npy, and .npz names") {
  CHECK(format().detect("x.bin", npy_bytes("{}")) != owf::Confidence::kNone);
  ScratchDir dir;
  write_zip(dir / "a.zip", {{"w.npy", npy_bytes("{}")}});
  CHECK(format().detect(dir / "a.zip", read_file(dir / "a.zip")) != owf::Confidence::kNone);
  write_zip(dir / "t.pt", {{"archive/data.pkl", npy_bytes("{}")}});
  CHECK(format().detect(dir / "t.pt", read_file(dir / "t.pt")) == owf::Confidence::kNone);
  CHECK(format().detect(dir / "t.npz", read_file(dir / "t.pt")) != owf::Confidence::kNone);
  CHECK(format().detect("x.npy", as_bytes("GGUF")) == owf::Confidence::kNone);
}

}  // namespace owf::test
