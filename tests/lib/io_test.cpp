// MappedFile and AtomicFile.
#include "owf/io.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>

#include "lib_test_util.h"
#include "owf/internal/bytes.h"

namespace owf::test {

TEST_CASE("MappedFile maps files, including empty ones, and reads with bounds") {
  ScratchDir dir;
  write_file(dir / "empty", {});
  auto empty = MappedFile::open(dir / "empty");
  REQUIRE(empty.ok());
  CHECK(empty->size() == 0);
  CHECK(empty->bytes().empty());

  write_file(dir / "abc", as_bytes("abcdef"));
  auto file = MappedFile::open(dir / "abc");
  REQUIRE(file.ok());
  CHECK(as_chars(file->bytes()) == "abcdef");
  std::vector<std::byte> two(2);
  REQUIRE(file->read_at(3, two).ok());
  CHECK(as_chars(two) == "de");
  const Status past = file->read_at(5, two);
  CHECK_FALSE(past.ok());
  CHECK(past.message().find((dir / "abc").string() + ": read of 2 bytes at offset 5") == 0);
  CHECK_FALSE(file->read_at(UINT64_MAX, two).ok());  // overflowing ranges are refused too

  MappedFile moved = std::move(file).value();
  CHECK(as_chars(moved.bytes()) == "abcdef");

  const auto missing = MappedFile::open(dir / "missing");
  CHECK(missing.status().code() == ErrorCode::kNotFound);
  CHECK(missing.status().message() == (dir / "missing").string() + ": no such file");
  CHECK(MappedFile::open(dir.path()).status().message().find("not a regular file") != std::string::npos);
}

TEST_CASE("AtomicFile shows the target only after commit") {
  ScratchDir dir;
  const auto target = dir / "out.bin";
  auto file = AtomicFile::create(target, false);
  REQUIRE(file.ok());
  REQUIRE(file->write(as_bytes("hello")).ok());
  REQUIRE(file->write_at(10, as_bytes("!")).ok());  // leaves a gap that reads as zeros
  CHECK(file->size() == 11);
  std::vector<std::byte> back(5);
  REQUIRE(file->read_at(0, back).ok());
  CHECK(as_chars(back) == "hello");
  CHECK_FALSE(fs::exists(target));
  REQUIRE(file->commit().ok());
  CHECK(read_file(target) == std::vector<std::byte>{std::byte{'h'},
                                                    std::byte{'e'},
                                                    std::byte{'l'},
                                                    std::byte{'l'},
                                                    std::byte{'o'},
                                                    {},
                                                    {},
                                                    {},
                                                    {},
                                                    {},
                                                    std::byte{'!'}});
  CHECK(dir.entries() == std::vector<std::string>{"out.bin"});
  struct stat info {};
  REQUIRE(::stat(target.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0644);
  CHECK_FALSE(file->write(as_bytes("x")).ok());  // inert after commit
}

TEST_CASE("large congruent writes (direct I/O where available) and small ones give the same bytes") {
  ScratchDir dir;
  constexpr std::size_t kBlock = AtomicFile::kDirectIOAlignment;
  const std::size_t size = (3u << 20) + 123;
  const std::uint64_t offset = 5 * kBlock + 100;  // unaligned: a buffered head and tail around the middle
  // Storage whose data sits at the same offset within a block as in the file.
  std::unique_ptr<std::byte[]> storage(new std::byte[size + 2 * kBlock]);
  const auto base = reinterpret_cast<std::uintptr_t>(storage.get());
  std::byte* start = storage.get() + (kBlock - base % kBlock) % kBlock + offset % kBlock;
  const auto data = pattern_bytes(size, 5);
  std::copy(data.begin(), data.end(), start);

  auto file = AtomicFile::create(dir / "direct.bin", false);
  REQUIRE(file.ok());
  REQUIRE(file->write_at(offset, std::span<const std::byte>(start, size)).ok());
  REQUIRE(file->write_at(0, as_bytes("head")).ok());
  CHECK(file->size() == offset + size);
  std::vector<std::byte> back(size);
  REQUIRE(file->read_at(offset, back).ok());
  CHECK(back == data);
  REQUIRE(file->commit().ok());
  const auto written = read_file(dir / "direct.bin");
  REQUIRE(written.size() == offset + size);
  CHECK(as_chars(std::span(written).first(4)) == "head");
  CHECK(std::all_of(written.begin() + 4, written.begin() + static_cast<std::ptrdiff_t>(offset),
                    [](std::byte b) { return b == std::byte{0}; }));
  CHECK(std::equal(data.begin(), data.end(), written.begin() + static_cast<std::ptrdiff_t>(offset)));
}

TEST_CASE("an uncommitted AtomicFile leaves nothing behind") {
  ScratchDir dir;
  {
    auto file = AtomicFile::create(dir / "never.bin", false);
    REQUIRE(file.ok());
    REQUIRE(file->write(as_bytes("partial")).ok());
    CHECK(dir.entries().empty());  // unnamed (O_TMPFILE) until commit: a killed process leaves nothing
  }
  CHECK(dir.entries().empty());
}

TEST_CASE("a replacing commit leaves only the target") {
  ScratchDir dir;
  write_file(dir / "t.bin", as_bytes("old"));
  auto file = AtomicFile::create(dir / "t.bin", true);
  REQUIRE(file.ok());
  REQUIRE(file->write(as_bytes("new")).ok());
  REQUIRE(file->commit().ok());
  CHECK(dir.entries().size() == 1);
  CHECK(as_chars(read_file(dir / "t.bin")) == "new");
}

TEST_CASE("AtomicFile refuses to replace a file unless asked to") {
  ScratchDir dir;
  const auto target = dir / "existing.bin";
  write_file(target, as_bytes("old"));
  const auto refused = AtomicFile::create(target, false);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == ErrorCode::kInvalidArgument);
  CHECK(refused.status().message() == target.string() + ": file exists");

  // A file that appears between create() and commit() is not replaced either.
  auto racing = AtomicFile::create(dir / "late.bin", false);
  REQUIRE(racing.ok());
  write_file(dir / "late.bin", as_bytes("first"));
  REQUIRE(racing->write(as_bytes("second")).ok());
  CHECK(racing->commit().message() == (dir / "late.bin").string() + ": file exists");
  CHECK(as_chars(read_file(dir / "late.bin")) == "first");

  auto replacing = AtomicFile::create(target, true);
  REQUIRE(replacing.ok());
  REQUIRE(replacing->write(as_bytes("new")).ok());
  REQUIRE(replacing->commit().ok());
  CHECK(as_chars(read_file(target)) == "new");
}

TEST_CASE("AtomicFile reports the path and the system's reason") {
  const auto failed = AtomicFile::create("/nonexistent-dir/x.owf", false);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().code() == ErrorCode::kIOError);
  // Named after the target, not a temporary file.
  CHECK(failed.status().message().find("/nonexistent-dir/x.owf: cannot create the output file: ") == 0);
  CHECK(failed.status().message().find("No such file or directory") != std::string::npos);
}

}  // namespace owf::test
