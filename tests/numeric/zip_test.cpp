// ZipReader and ZipWriter: round trips through both, archives written by
// other tools (numpy, PyTorch, Python's zipfile), zip64, alignment, and
// hand-built damaged archives that must be refused with a precise message.
#include "owf/internal/zip.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "owf/internal/bytes.h"
#include "owf/io.h"

namespace fs = std::filesystem;
using owf::ErrorCode;
using owf::Status;
using owf::ZipReader;
using owf::ZipWriter;

namespace {

// Known CRC-32 values and raw deflate streams (checked with Python's zlib).
constexpr std::uint32_t kHelloCrc = 0x3610a686;  // "hello"
constexpr std::uint32_t kWorldCrc = 0x3a771143;  // "world"
const std::string kHelloDeflated("\xcb\x48\xcd\xc9\xc9\x07\x00", 7);

std::string text_of(std::span<const std::byte> bytes) { return std::string(owf::as_chars(bytes)); }

std::vector<std::byte> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::vector<std::byte> bytes(fs::file_size(path));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(in);
  return bytes;
}

// A fresh directory, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "owf-zip-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void check_refused(const Status& status, ErrorCode code, std::string_view fragment) {
  INFO("message: " << status.message());
  CHECK(status.code() == code);
  CHECK(status.message().find(fragment) != std::string::npos);
}

// Builders for hand-made archives; every field is explicit so tests can damage any of them.
struct Header {
  std::string name;
  std::uint16_t method = 0;
  std::uint16_t flags = 0;
  std::uint32_t crc = 0;
  std::uint32_t compressed_size = 0;
  std::uint32_t size = 0;
  std::string extra;
};

// The fields local and central headers share, from flags to the extra field length.
void append_shared_fields(std::vector<std::byte>& out, const Header& h) {
  owf::append_le<std::uint16_t>(out, h.flags);
  owf::append_le<std::uint16_t>(out, h.method);
  owf::append_le<std::uint32_t>(out, 0);  // time, date
  owf::append_le<std::uint32_t>(out, h.crc);
  owf::append_le<std::uint32_t>(out, h.compressed_size);
  owf::append_le<std::uint32_t>(out, h.size);
  owf::append_le<std::uint16_t>(out, static_cast<std::uint16_t>(h.name.size()));
  owf::append_le<std::uint16_t>(out, static_cast<std::uint16_t>(h.extra.size()));
}

void append_local(std::vector<std::byte>& out, const Header& h) {
  owf::append_le<std::uint32_t>(out, 0x04034b50);
  owf::append_le<std::uint16_t>(out, 20);
  append_shared_fields(out, h);
  owf::append_bytes(out, owf::as_bytes(h.name));
  owf::append_bytes(out, owf::as_bytes(h.extra));
}

void append_central(std::vector<std::byte>& out, const Header& h, std::uint32_t local_offset) {
  owf::append_le<std::uint32_t>(out, 0x02014b50);
  owf::append_le<std::uint32_t>(out, 20 | (20 << 16));  // versions made by and needed
  append_shared_fields(out, h);
  owf::append_le<std::uint16_t>(out, 0);  // comment
  owf::append_le<std::uint16_t>(out, 0);  // disk
  owf::append_le<std::uint16_t>(out, 0);  // internal attributes
  owf::append_le<std::uint32_t>(out, 0);  // external attributes
  owf::append_le<std::uint32_t>(out, local_offset);
  owf::append_bytes(out, owf::as_bytes(h.name));
  owf::append_bytes(out, owf::as_bytes(h.extra));
}

void append_end(std::vector<std::byte>& out, std::uint16_t count, std::uint32_t directory_size,
                std::uint32_t directory_offset) {
  owf::append_le<std::uint32_t>(out, 0x06054b50);
  owf::append_le<std::uint32_t>(out, 0);  // disks
  owf::append_le<std::uint16_t>(out, count);
  owf::append_le<std::uint16_t>(out, count);
  owf::append_le<std::uint32_t>(out, directory_size);
  owf::append_le<std::uint32_t>(out, directory_offset);
  owf::append_le<std::uint16_t>(out, 0);  // comment
}

// One stored or deflated member as both headers describe it, with its data.
struct Member {
  Header central;
  Header local;  // usually equal to `central`
  std::string data;
};

Member stored(std::string name, std::string data, std::uint32_t crc) {
  Header header{
      std::move(name), 0, 0, crc, static_cast<std::uint32_t>(data.size()), static_cast<std::uint32_t>(data.size()), ""};
  return {header, header, std::move(data)};
}

// Local headers and data in order, then the central directory and end record.
std::vector<std::byte> build(const std::vector<Member>& members) {
  std::vector<std::byte> out;
  std::vector<std::uint32_t> offsets;
  for (const Member& member : members) {
    offsets.push_back(static_cast<std::uint32_t>(out.size()));
    append_local(out, member.local);
    owf::append_bytes(out, owf::as_bytes(member.data));
  }
  const auto directory_offset = static_cast<std::uint32_t>(out.size());
  for (std::size_t i = 0; i < members.size(); ++i) append_central(out, members[i].central, offsets[i]);
  append_end(out, static_cast<std::uint16_t>(members.size()), static_cast<std::uint32_t>(out.size() - directory_offset),
             directory_offset);
  return out;
}

std::vector<std::byte> hello_world() {
  return build({stored("hello.txt", "hello", kHelloCrc), stored("world.txt", "world", kWorldCrc)});
}

Status open_status(const std::vector<std::byte>& archive) { return ZipReader::open(archive, "t.zip").status(); }

// Writes `entries` with ZipWriter and returns the committed file's path.
fs::path write_archive(const fs::path& path, const std::function<void(ZipWriter&)>& entries) {
  auto file = owf::AtomicFile::create(path, true);
  REQUIRE(file.ok());
  ZipWriter writer(*file);
  entries(writer);
  REQUIRE(writer.finish().ok());
  REQUIRE(file->commit().ok());
  return path;
}

std::string repeated_text(std::size_t bytes) {
  std::string text;
  for (std::size_t i = 0; text.size() < bytes; ++i) text += "line " + std::to_string(i % 100) + " of some text\n";
  text.resize(bytes);
  return text;
}

// Runs a Python snippet with the archive path as sys.argv[1]; true when it exits 0.
bool python_accepts(const fs::path& archive, const std::string& script) {
  const fs::path script_path = archive.parent_path() / "check.py";
  std::ofstream(script_path) << script;
  const std::string command = std::string(OWF_PYTHON) + " " + script_path.string() + " " + archive.string();
  return std::system(command.c_str()) == 0;
}

}  // namespace

TEST_CASE("zip reader: a hand-built archive with two stored entries") {
  const auto archive = hello_world();
  auto reader = ZipReader::open(archive, "t.zip");
  REQUIRE(reader.ok());
  REQUIRE(reader->entries().size() == 2);
  const owf::ZipEntry* world = reader->find("world.txt");
  REQUIRE(world != nullptr);
  CHECK(world->method == 0);
  CHECK(world->size == 5);
  CHECK(world->crc32 == kWorldCrc);
  CHECK(*reader->data_offset(*world) == 30 + 9 + 5 + 30 + 9);
  auto data = reader->stored_data(*world);
  REQUIRE(data.ok());
  CHECK(text_of(data->bytes()) == "world");
  std::string copy(5, '\0');
  CHECK(reader->extract(*world, std::as_writable_bytes(std::span<char>(copy))).ok());
  CHECK(copy == "world");
  CHECK(reader->check_crc(reader->entries()[0]).ok());
  CHECK(reader->find("missing") == nullptr);
  check_refused(reader->extract(*world, {}), ErrorCode::kInvalidArgument, "buffer of 0 bytes for 5");
}

TEST_CASE("zip reader: deflated entries inflate and check size and CRC") {
  Member member = stored("h.txt", kHelloDeflated, kHelloCrc);
  member.central.method = member.local.method = 8;
  member.central.size = member.local.size = 5;
  const auto archive = build({member});
  auto reader = ZipReader::open(archive, "t.zip");
  REQUIRE(reader.ok());
  const owf::ZipEntry& entry = reader->entries()[0];
  std::vector<std::byte> out(5);
  CHECK(reader->extract(entry, out).ok());
  CHECK(text_of(out) == "hello");
  CHECK(reader->check_crc(entry).ok());
  check_refused(reader->stored_data(entry).status(), ErrorCode::kNotSupported, "is deflated, not stored");

  // Opens a damaged variant (which open() accepts: it does not inflate) and extracts it.
  const auto extract_variant = [](const Member& variant) {
    const auto damaged_archive = build({variant});
    auto damaged = ZipReader::open(damaged_archive, "t.zip");
    REQUIRE(damaged.ok());
    const owf::ZipEntry& damaged_entry = damaged->entries()[0];
    std::vector<std::byte> buffer(damaged_entry.size);
    const Status extracted = damaged->extract(damaged_entry, buffer);
    CHECK(damaged->check_crc(damaged_entry).code() == extracted.code());
    return extracted;
  };
  SUBCASE("TRUNCATED_DEFLATE") {
    member.central.compressed_size = member.local.compressed_size = 4;
    member.data.resize(4);
    check_refused(extract_variant(member), ErrorCode::kCorruption, "t.zip: entry 'h.txt': deflate data ends after");
  }
  SUBCASE("DEFLATE_LONGER_THAN_RECORDED") {
    member.central.size = member.local.size = 4;
    check_refused(extract_variant(member), ErrorCode::kCorruption, "inflates to more than the 4 bytes recorded");
  }
  SUBCASE("DEFLATE_SHORTER_THAN_RECORDED") {
    member.central.size = member.local.size = 6;
    check_refused(extract_variant(member), ErrorCode::kCorruption, "inflates to 5 bytes, not the 6 recorded");
  }
  SUBCASE("DAMAGED_DEFLATE") {
    member.data[0] = '\xff';  // block type 3 is reserved
    check_refused(extract_variant(member), ErrorCode::kCorruption, "deflate data is damaged");
  }
}

TEST_CASE("zip reader: BAD_CRC is found by extract and check_crc, not by open") {
  auto archive = build({stored("hello.txt", "hellO", kHelloCrc)});
  auto reader = ZipReader::open(archive, "t.zip");
  REQUIRE(reader.ok());
  std::vector<std::byte> out(5);
  check_refused(reader->extract(reader->entries()[0], out), ErrorCode::kCorruption,
                "t.zip: entry 'hello.txt': data at offset 39 has CRC-32");
  check_refused(reader->check_crc(reader->entries()[0]), ErrorCode::kCorruption,
                "the central directory records 907060870");
}

TEST_CASE("zip reader: named malformed archives are refused") {
  SUBCASE("EMPTY") { check_refused(open_status({}), ErrorCode::kCorruption, "t.zip: the archive has 0 bytes"); }
  SUBCASE("TRUNCATED_EOCD") {
    auto archive = hello_world();
    archive.resize(archive.size() - 3);
    check_refused(open_status(archive), ErrorCode::kCorruption, "no end of central directory record");
  }
  SUBCASE("EOCD_COMMENT_LENGTH_WRONG") {
    auto archive = hello_world();
    owf::store_le<std::uint16_t>(archive.data() + archive.size() - 2, 7);
    check_refused(open_status(archive), ErrorCode::kCorruption, "not a zip archive, or truncated");
  }
  SUBCASE("CENTRAL_OFFSET_BEYOND_FILE") {
    auto archive = hello_world();
    owf::store_le<std::uint32_t>(archive.data() + archive.size() - 6, 100000);
    check_refused(open_status(archive), ErrorCode::kCorruption, "central directory at offset 100000");
  }
  SUBCASE("TOO_MANY_ENTRIES") {
    auto archive = hello_world();
    owf::store_le<std::uint16_t>(archive.data() + archive.size() - 14, 3);
    owf::store_le<std::uint16_t>(archive.data() + archive.size() - 12, 3);
    check_refused(open_status(archive), ErrorCode::kCorruption, "claims 3 entries");
  }
  SUBCASE("LOCAL_NAME_MISMATCH") {
    Member member = stored("hello.txt", "hello", kHelloCrc);
    member.local.name = "jello.txt";
    check_refused(open_status(build({member})), ErrorCode::kCorruption,
                  "t.zip: entry 'hello.txt': local header at offset 0 names 'jello.txt'");
  }
  SUBCASE("LOCAL_METHOD_MISMATCH") {
    Member member = stored("hello.txt", "hello", kHelloCrc);
    member.local.method = 8;
    check_refused(open_status(build({member})), ErrorCode::kCorruption, "has method 8, the central directory 0");
  }
  SUBCASE("LOCAL_CRC_MISMATCH") {
    Member member = stored("hello.txt", "hello", kHelloCrc);
    member.local.crc = kWorldCrc;
    check_refused(open_status(build({member})), ErrorCode::kCorruption, "local header at offset 0 has crc32");
  }
  SUBCASE("LOCAL_SIZE_MISMATCH") {
    Member member = stored("hello.txt", "hello", kHelloCrc);
    member.local.size = 4;
    check_refused(open_status(build({member})), ErrorCode::kCorruption, "sizes 5/4");
  }
  SUBCASE("LOCAL_HEADER_OFFSET_WRONG") {
    auto archive = hello_world();
    // The local header offset field of the second central header.
    const std::size_t second_central = 2 * (30 + 9 + 5) + 46 + 9;
    owf::store_le<std::uint32_t>(archive.data() + second_central + 42, 1);
    check_refused(open_status(archive), ErrorCode::kCorruption, "no local header signature at offset 1");
  }
  SUBCASE("OVERLAPPING_ENTRIES") {
    // b.txt's local header and data sit inside a.txt's data.
    std::vector<std::byte> archive;
    const Header b{"b.txt", 0, 0, kHelloCrc, 5, 5, ""};
    std::vector<std::byte> inner;
    append_local(inner, b);
    owf::append_bytes(inner, owf::as_bytes("hello"));
    const Header a{"a.txt", 0, 0, 0, static_cast<std::uint32_t>(inner.size()), static_cast<std::uint32_t>(inner.size()),
                   ""};
    append_local(archive, a);
    owf::append_bytes(archive, inner);
    const auto directory_offset = static_cast<std::uint32_t>(archive.size());
    append_central(archive, a, 0);
    append_central(archive, b, 35);
    append_end(archive, 2, static_cast<std::uint32_t>(archive.size() - directory_offset), directory_offset);
    check_refused(open_status(archive), ErrorCode::kCorruption,
                  "t.zip: entry 'b.txt' (bytes 35..75) overlaps entry 'a.txt' (bytes 0..75)");
  }
  SUBCASE("SHARED_LOCAL_HEADER") {
    auto archive = build({stored("a.txt", "hello", kHelloCrc)});
    // A second central header for the same local header, with the same name.
    std::vector<std::byte> twice;
    owf::append_bytes(twice, std::span(archive).first(40));
    append_central(twice, {"a.txt", 0, 0, kHelloCrc, 5, 5, ""}, 0);
    append_central(twice, {"a.txt", 0, 0, kHelloCrc, 5, 5, ""}, 0);
    append_end(twice, 2, 2 * 51, 40);
    check_refused(open_status(twice), ErrorCode::kCorruption, "entry 'a.txt' (bytes 0..40) overlaps entry 'a.txt'");
  }
  SUBCASE("ENTRY_OVERLAPS_CENTRAL_DIRECTORY") {
    Member member = stored("a.txt", "hello", kHelloCrc);
    auto archive = build({member});
    // Claim 6 bytes of data: the last one is the central directory's first byte.
    owf::store_le<std::uint32_t>(archive.data() + 18, 6);
    owf::store_le<std::uint32_t>(archive.data() + 22, 6);
    owf::store_le<std::uint32_t>(archive.data() + 40 + 20, 6);
    owf::store_le<std::uint32_t>(archive.data() + 40 + 24, 6);
    check_refused(open_status(archive), ErrorCode::kCorruption,
                  "the central directory (bytes 40..91) overlaps entry 'a.txt' (bytes 0..41)");
  }
  SUBCASE("DATA_BEYOND_ARCHIVE") {
    Member member = stored("a.txt", "hello", kHelloCrc);
    member.central.size = member.central.compressed_size = member.local.size = member.local.compressed_size = 5000;
    check_refused(open_status(build({member})), ErrorCode::kCorruption,
                  "t.zip: entry 'a.txt': data at offset 35 (5000 bytes) runs past the end of the archive");
  }
  SUBCASE("STORED_SIZES_DIFFER") {
    Member member = stored("a.txt", "hello", kHelloCrc);
    member.central.size = member.local.size = 6;
    check_refused(open_status(build({member})), ErrorCode::kCorruption,
                  "stored entry has compressed size 5 but size 6");
  }
  SUBCASE("PATH_ESCAPE") {
    for (const std::string& name :
         std::vector<std::string>{"../evil", "a/../../evil", "/etc/passwd", "a\\b", std::string("a\0b", 3), "a/.."}) {
      CAPTURE(name);
      check_refused(open_status(build({stored(name, "hello", kHelloCrc)})), ErrorCode::kCorruption, "entry name");
    }
    CHECK(open_status(build({stored("a..b/..c", "hello", kHelloCrc)})).ok());
  }
  SUBCASE("DUPLICATE_NAME") {
    check_refused(open_status(build({stored("a", "hello", kHelloCrc), stored("a", "world", kWorldCrc)})),
                  ErrorCode::kCorruption, "t.zip: entry 'a' appears twice");
  }
  SUBCASE("ENCRYPTED") {
    Member member = stored("a", "hello", kHelloCrc);
    member.central.flags = member.local.flags = 1;
    check_refused(open_status(build({member})), ErrorCode::kNotSupported, "encrypted entries are not supported");
  }
  SUBCASE("UNSUPPORTED_METHOD") {
    Member member = stored("a", "hello", kHelloCrc);
    member.central.method = member.local.method = 12;
    check_refused(open_status(build({member})), ErrorCode::kNotSupported, "compression method 12 is not supported");
  }
  SUBCASE("ZIP64_SENTINEL_WITHOUT_EXTRA") {
    Member member = stored("a", "hello", kHelloCrc);
    member.central.size = member.central.compressed_size = 0xFFFFFFFF;
    check_refused(open_status(build({member})), ErrorCode::kCorruption, "no zip64 extra field");
  }
  SUBCASE("ZIP64_EXTRA_TOO_SHORT") {
    Member member = stored("a", "hello", kHelloCrc);
    member.central.size = member.central.compressed_size = 0xFFFFFFFF;
    member.central.extra = std::string("\x01\x00\x08\x00", 4) + std::string(8, '\x05');
    check_refused(open_status(build({member})), ErrorCode::kCorruption, "zip64 extra field value at offset");
  }
  SUBCASE("EXTRA_FIELD_OVERRUNS") {
    Member member = stored("a", "hello", kHelloCrc);
    member.central.size = member.central.compressed_size = 0xFFFFFFFF;
    member.central.extra = std::string("\x01\x00\x20\x00", 4) + std::string(8, '\x05');
    check_refused(open_status(build({member})), ErrorCode::kCorruption, "extra field data at offset");
  }
}

TEST_CASE("zip reader: zip64 end records and extra fields") {
  // One stored entry whose sizes and local header offset are all in zip64 extra fields.
  std::vector<std::byte> archive;
  std::string local_extra = std::string("\x01\x00\x10\x00", 4);
  std::string central_extra = std::string("\x01\x00\x18\x00", 4);
  for (int i = 0; i < 2; ++i) local_extra += std::string("\x05\0\0\0\0\0\0\0", 8);
  for (int i = 0; i < 3; ++i) central_extra += std::string(i < 2 ? "\x05\0\0\0\0\0\0\0" : "\0\0\0\0\0\0\0\0", 8);
  append_local(archive, {"a", 0, 0, kHelloCrc, 0xFFFFFFFF, 0xFFFFFFFF, local_extra});
  owf::append_bytes(archive, owf::as_bytes("hello"));
  const std::uint64_t directory_offset = archive.size();
  append_central(archive, {"a", 0, 0, kHelloCrc, 0xFFFFFFFF, 0xFFFFFFFF, central_extra}, 0xFFFFFFFF);
  const std::uint64_t directory_size = archive.size() - directory_offset;
  const std::uint64_t zip64_end = archive.size();
  owf::append_le<std::uint32_t>(archive, 0x06064b50);
  owf::append_le<std::uint64_t>(archive, 44);
  owf::append_le<std::uint32_t>(archive, 45 | (45 << 16));
  owf::append_le<std::uint64_t>(archive, 0);  // disks
  owf::append_le<std::uint64_t>(archive, 1);
  owf::append_le<std::uint64_t>(archive, 1);
  owf::append_le<std::uint64_t>(archive, directory_size);
  owf::append_le<std::uint64_t>(archive, directory_offset);
  owf::append_le<std::uint32_t>(archive, 0x07064b50);
  owf::append_le<std::uint32_t>(archive, 0);
  owf::append_le<std::uint64_t>(archive, zip64_end);
  owf::append_le<std::uint32_t>(archive, 1);
  append_end(archive, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF);

  auto reader = ZipReader::open(archive, "t.zip");
  REQUIRE(reader.ok());
  REQUIRE(reader->entries().size() == 1);
  CHECK(reader->entries()[0].size == 5);
  CHECK(reader->entries()[0].compressed_size == 5);
  CHECK(*reader->data_offset(reader->entries()[0]) == 30 + 1 + 20);
  auto data = reader->stored_data(reader->entries()[0]);
  REQUIRE(data.ok());
  CHECK(text_of(data->bytes()) == "hello");

  SUBCASE("ZIP64_LOCATOR_POINTS_NOWHERE") {
    owf::store_le<std::uint64_t>(archive.data() + archive.size() - 22 - 12, 7);
    check_refused(open_status(archive), ErrorCode::kCorruption, "no zip64 end record signature at offset 7");
  }
  SUBCASE("ZIP64_LOCATOR_BEYOND_RECORD") {
    owf::store_le<std::uint64_t>(archive.data() + archive.size() - 22 - 12, 1u << 30);
    check_refused(open_status(archive), ErrorCode::kCorruption, "leaves no room for the record");
  }
}

TEST_CASE("zip reader: archives written by numpy and PyTorch") {
  const fs::path corpus = OWF_CORPUS_DIR;
  SUBCASE("np.savez") {
    const auto archive = read_file(corpus / "npz/g2p_en-checkpoint20.npz");
    auto reader = ZipReader::open(archive, "g2p_en-checkpoint20.npz");
    REQUIRE(reader.ok());
    CHECK(reader->entries().size() == 12);
    for (const owf::ZipEntry& entry : reader->entries()) CHECK(reader->check_crc(entry).ok());
    const owf::ZipEntry* member = reader->find("enc_w_hh.npy");
    REQUIRE(member != nullptr);
    auto data = reader->stored_data(*member);
    REQUIRE(data.ok());
    const auto npy = read_file(corpus / "npy/g2p_en-enc_w_hh.npy");
    CHECK(std::equal(data->bytes().begin(), data->bytes().end(), npy.begin(), npy.end()));
  }
  SUBCASE("torch.save: data descriptors, 64-byte aligned data") {
    const auto archive = read_file(corpus / "pytorch/stories260K-bf16.pt");
    auto reader = ZipReader::open(archive, "stories260K-bf16.pt");
    REQUIRE(reader.ok());
    CHECK(reader->entries().size() > 48);
    const owf::ZipEntry* pickle = reader->find("stories260K-bf16/data.pkl");
    REQUIRE(pickle != nullptr);
    for (const owf::ZipEntry& entry : reader->entries()) {
      CAPTURE(entry.name);
      CHECK(*reader->data_offset(entry) % 64 == 0);
      CHECK(reader->check_crc(entry).ok());
    }
  }
}

TEST_CASE("zip reader: archives written by Python's zipfile (zip64 local headers, data descriptors)") {
  TempDir dir;
  const fs::path seekable = dir.path() / "py.zip";
  const fs::path streamed = dir.path() / "py.zip.stream";
  // np.savez forces zip64 local headers; a non-seekable output gets data descriptors.
  const std::string script = R"(
import sys, zipfile
class Unseekable:
    def __init__(self, f): self.f = f
    def write(self, b): return self.f.write(b)
    def flush(self): self.f.flush()
def fill(z):
    z.writestr(zipfile.ZipInfo("text.txt"), b"hello " * 1000, compress_type=zipfile.ZIP_DEFLATED)
    with z.open("forced64.txt", "w", force_zip64=True) as f:
        f.write(b"world")
with zipfile.ZipFile(sys.argv[1], "w") as z:
    fill(z)
with open(sys.argv[1] + ".stream", "wb") as raw:
    with zipfile.ZipFile(Unseekable(raw), "w") as z:
        fill(z)
)";
  REQUIRE(python_accepts(seekable, script));
  for (const fs::path& path : {seekable, streamed}) {
    CAPTURE(path);
    const auto archive = read_file(path);
    auto reader = ZipReader::open(archive, path.filename().string());
    REQUIRE(reader.ok());
    REQUIRE(reader->entries().size() == 2);
    const owf::ZipEntry& text = reader->entries()[0];
    std::vector<std::byte> out(text.size);
    CHECK(text.size == 6000);
    CHECK(reader->extract(text, out).ok());
    CHECK(text_of(out).substr(0, 12) == "hello hello ");
    auto forced = reader->stored_data(reader->entries()[1]);
    REQUIRE(forced.ok());
    CHECK(text_of(forced->bytes()) == "world");
  }
}

TEST_CASE("zip writer: stored, aligned and deflated entries round-trip") {
  TempDir dir;
  const std::string pickle = "pickle bytes";
  std::vector<std::byte> tensor(1000);
  for (std::size_t i = 0; i < tensor.size(); ++i) tensor[i] = static_cast<std::byte>(i * 7);
  const std::string text = repeated_text(100000);
  const fs::path path = write_archive(dir.path() / "out.zip", [&](ZipWriter& writer) {
    CHECK(writer.add_stored("arch/data.pkl", owf::as_bytes(pickle)).ok());
    CHECK(writer.add_stored("arch/data/0", tensor, 64).ok());
    CHECK(writer.add_stored("arch/empty", std::span<const std::byte>(), 64).ok());
    CHECK(writer.add_deflated("text.txt", owf::as_bytes(text)).ok());
    CHECK(writer.add_deflated("d\xc3\xa9j\xc3\xa0.txt", owf::as_bytes("")).ok());
  });
  const auto archive = read_file(path);
  auto reader = ZipReader::open(archive, "out.zip");
  REQUIRE(reader.ok());
  const auto& entries = reader->entries();
  REQUIRE(entries.size() == 5);
  CHECK(entries[0].name == "arch/data.pkl");
  CHECK(*reader->data_offset(entries[1]) % 64 == 0);
  CHECK(*reader->data_offset(entries[2]) % 64 == 0);
  CHECK(entries[3].method == 8);
  CHECK(entries[3].compressed_size < entries[3].size / 10);
  CHECK(entries[4].name == "d\xc3\xa9j\xc3\xa0.txt");

  auto pickle_data = reader->stored_data(entries[0]);
  REQUIRE(pickle_data.ok());
  CHECK(text_of(pickle_data->bytes()) == pickle);
  auto tensor_data = reader->stored_data(entries[1]);
  REQUIRE(tensor_data.ok());
  CHECK(std::equal(tensor_data->bytes().begin(), tensor_data->bytes().end(), tensor.begin(), tensor.end()));
  std::vector<std::byte> inflated(entries[3].size);
  CHECK(reader->extract(entries[3], inflated).ok());
  CHECK(text_of(inflated) == text);
  for (const owf::ZipEntry& entry : entries) CHECK(reader->check_crc(entry).ok());

  // Every entry carries the same fixed date, so identical input gives identical bytes.
  const fs::path again = write_archive(dir.path() / "again.zip", [&](ZipWriter& writer) {
    CHECK(writer.add_stored("arch/data.pkl", owf::as_bytes(pickle)).ok());
    CHECK(writer.add_stored("arch/data/0", tensor, 64).ok());
    CHECK(writer.add_stored("arch/empty", std::span<const std::byte>(), 64).ok());
    CHECK(writer.add_deflated("text.txt", owf::as_bytes(text)).ok());
    CHECK(writer.add_deflated("d\xc3\xa9j\xc3\xa0.txt", owf::as_bytes("")).ok());
  });
  CHECK(read_file(again) == archive);

  // Python agrees on names, contents, CRCs and where the aligned data starts.
  CHECK(python_accepts(path, R"(
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    assert z.testzip() is None
    assert z.namelist() == ["arch/data.pkl", "arch/data/0", "arch/empty", "text.txt", "d\u00e9j\u00e0.txt"]
    assert z.read("arch/data/0") == bytes((i * 7) % 256 for i in range(1000))
    assert z.read("text.txt").startswith(b"line 0 of some text\nline 1 of")
    info = z.getinfo("arch/data/0")
    raw = open(sys.argv[1], "rb").read()
    name_len, extra_len = int.from_bytes(raw[info.header_offset + 26:][:2], "little"), int.from_bytes(raw[info.header_offset + 28:][:2], "little")
    assert (info.header_offset + 30 + name_len + extra_len) % 64 == 0
)"));
}

TEST_CASE("zip writer: an .npz that numpy loads") {
  TempDir dir;
  std::string npy("\x93NUMPY\x01\x00", 8);
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  header.resize(128 - 10 - 1, ' ');  // magic, version and length take 10 bytes
  header += '\n';
  npy += std::string("\x76\x00", 2) + header;
  npy += std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);  // 1.0f, -2.0f
  const fs::path path = write_archive(dir.path() / "x.npz", [&](ZipWriter& writer) {
    CHECK(writer.add_stored("x.npy", owf::as_bytes(npy), 64).ok());
    CHECK(writer.add_deflated("y.npy", owf::as_bytes(npy)).ok());
  });
  CHECK(python_accepts(path, R"(
import sys, numpy
with numpy.load(sys.argv[1]) as npz:
    assert npz["x"].tolist() == [1.0, -2.0], npz["x"]
    assert npz["y"].tolist() == [1.0, -2.0], npz["y"]
)"));
}

TEST_CASE("zip writer: stored data is pulled in pieces and the CRC patched afterwards") {
  TempDir dir;
  const std::uint64_t size = (9u << 20) + 3;
  std::vector<std::uint64_t> offsets;
  const auto source = [&offsets](std::uint64_t offset, std::span<std::byte> dst) {
    offsets.push_back(offset);
    for (std::size_t i = 0; i < dst.size(); ++i) dst[i] = static_cast<std::byte>((offset + i) % 251);
    return Status();
  };
  const fs::path path = write_archive(
      dir.path() / "big.zip", [&](ZipWriter& writer) { CHECK(writer.add_stored("big", size, source, 4096).ok()); });
  CHECK(offsets == std::vector<std::uint64_t>{0, 4u << 20, 8u << 20});
  const auto archive = read_file(path);
  auto reader = ZipReader::open(archive, "big.zip");
  REQUIRE(reader.ok());
  const owf::ZipEntry& entry = reader->entries()[0];
  CHECK(entry.size == size);
  CHECK(*reader->data_offset(entry) == 4096);
  CHECK(reader->check_crc(entry).ok());
  auto data = reader->stored_data(entry);
  REQUIRE(data.ok());
  CHECK(data->bytes()[size - 1] == static_cast<std::byte>((size - 1) % 251));
}

TEST_CASE("zip writer: refuses what it cannot write") {
  TempDir dir;
  auto file = owf::AtomicFile::create(dir.path() / "bad.zip", false);
  REQUIRE(file.ok());
  ZipWriter writer(*file);
  const auto hello = owf::as_bytes("hello");
  check_refused(writer.add_stored("../up", hello), ErrorCode::kInvalidArgument, "bad.zip: entry '../up': entry name");
  check_refused(writer.add_deflated("/abs", hello), ErrorCode::kInvalidArgument, "absolute path");
  check_refused(writer.add_stored("a", hello, 48), ErrorCode::kInvalidArgument, "alignment 48 is not a power of two");
  check_refused(writer.add_stored("a", hello, 65536), ErrorCode::kInvalidArgument, "alignment 65536");
  check_refused(writer.add_stored(std::string(70000, 'n'), hello), ErrorCode::kInvalidArgument,
                "name is longer than 65535 bytes");
  const auto failing = [](std::uint64_t, std::span<std::byte>) { return Status::io_error("source.bin: read failed"); };
  check_refused(writer.add_stored("a", 10, failing), ErrorCode::kIOError, "source.bin: read failed");
  CHECK(writer.add_stored("b", hello).ok());
  CHECK(writer.add_deflated("b", hello).ok());
  check_refused(writer.finish(), ErrorCode::kInvalidArgument, "bad.zip: entry 'b' was added twice");
}

TEST_CASE("zip writer: zip64 end records once there are 65535 entries or more") {
  TempDir dir;
  constexpr std::size_t kEntries = 65537;
  const fs::path path = write_archive(dir.path() / "many.zip", [&](ZipWriter& writer) {
    for (std::size_t i = 0; i < kEntries; ++i) {
      if (!writer.add_stored(std::to_string(i), owf::as_bytes(i % 1000 == 0 ? "x" : "")).ok()) FAIL("add " << i);
    }
  });
  const auto archive = read_file(path);
  // The classic end record saturates its 16-bit count; a zip64 locator precedes it.
  CHECK(owf::load_le<std::uint16_t>(archive.data() + archive.size() - 12) == 0xFFFF);
  CHECK(owf::load_le<std::uint32_t>(archive.data() + archive.size() - 22 - 20) == 0x07064b50);
  auto reader = ZipReader::open(archive, "many.zip");
  REQUIRE(reader.ok());
  REQUIRE(reader->entries().size() == kEntries);
  CHECK(reader->entries().back().name == "65536");
  auto data = reader->stored_data(reader->entries()[65000]);
  REQUIRE(data.ok());
  CHECK(text_of(data->bytes()) == "x");
  CHECK(python_accepts(path, R"(
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    assert len(z.infolist()) == 65537
    assert z.read("65000") == b"x"
)"));
}

TEST_CASE("zip reader: the fuzz seeds (Python zipfile: plain, data descriptors, zip64 records) read") {
  const fs::path seeds = fs::path(OWF_SOURCE_DIR) / "tests/numeric/zip_seeds";
  for (const char* name : {"stored_deflated.zip", "descriptor_zip64_local.zip", "zip64_records.zip"}) {
    CAPTURE(name);
    const auto archive = read_file(seeds / name);
    auto reader = ZipReader::open(archive, name);
    REQUIRE(reader.ok());
    REQUIRE(reader->entries().size() >= 2);
    CHECK(reader->entries()[1].name == "dir/b.txt");
    CHECK(reader->entries()[1].method == 8);
    for (const owf::ZipEntry& entry : reader->entries()) CHECK(reader->check_crc(entry).ok());
  }
}

TEST_CASE("zip reader: DEFLATE_BOMB_SIZE claims more than deflate can produce") {
  Member member = stored("h.txt", kHelloDeflated, kHelloCrc);
  member.central.method = member.local.method = 8;
  member.central.size = member.local.size = 7 * 1032 + 1032;
  check_refused(open_status(build({member})), ErrorCode::kCorruption,
                "t.zip: entry 'h.txt' (central header at offset 42): size 8256 is more than deflate can make of 7");
}

TEST_CASE("zip writer: zip64 offsets once entries start past 4 GiB (a sparse hole before them)") {
  TempDir dir;
  const fs::path path = dir.path() / "far.zip";
  constexpr std::uint64_t kHole = 5ull << 30;
  const std::string text = repeated_text(10000);
  {
    auto file = owf::AtomicFile::create(path, true);
    REQUIRE(file.ok());
    // One byte at the end of the hole: the file system keeps the rest unallocated.
    REQUIRE(file->write_at(kHole - 1, std::vector<std::byte>(1)).ok());
    ZipWriter writer(*file);
    CHECK(writer.add_stored("far.txt", owf::as_bytes("hello"), 64).ok());
    CHECK(writer.add_deflated("deflated.txt", owf::as_bytes(text)).ok());
    REQUIRE(writer.finish().ok());
    REQUIRE(file->commit().ok());
  }
  auto mapped = owf::MappedFile::open(path);
  REQUIRE(mapped.ok());
  const auto archive = mapped->bytes();
  CHECK(owf::load_le<std::uint32_t>(archive.data() + archive.size() - 22 - 20) == 0x07064b50);
  CHECK(owf::load_le<std::uint32_t>(archive.data() + archive.size() - 6) == 0xFFFFFFFF);  // directory offset
  auto reader = ZipReader::open(archive, "far.zip");
  REQUIRE(reader.ok());
  REQUIRE(reader->entries().size() == 2);
  const owf::ZipEntry& far = reader->entries()[0];
  CHECK(*reader->data_offset(far) > kHole);
  CHECK(*reader->data_offset(far) % 64 == 0);
  auto data = reader->stored_data(far);
  REQUIRE(data.ok());
  CHECK(text_of(data->bytes()) == "hello");
  std::vector<std::byte> inflated(reader->entries()[1].size);
  CHECK(reader->extract(reader->entries()[1], inflated).ok());
  CHECK(text_of(inflated) == text);
  CHECK(python_accepts(path, R"(
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    assert z.getinfo("far.txt").header_offset >= 5 << 30
    assert z.read("far.txt") == b"hello"
    assert z.read("deflated.txt").startswith(b"line 0 of some text")
)"));
}
