// Content digests do not depend on tensor order or container; they do depend
// on every name, dtype, shape and byte.
#include "owf/digest.h"

#include <doctest/doctest.h>

#include "lib_test_util.h"

namespace owf::test {

TEST_CASE("the content digest does not depend on tensor order") {
  MemoryModel forward, backward;
  forward.add_pattern("a", DType::kF32, {3}, 1);
  forward.add_pattern("b", DType::kI8, {5}, 2);
  forward.add_pattern("\xC3\xA9", DType::kU8, {2}, 3);  // sorts after ASCII bytewise
  backward.add_pattern("\xC3\xA9", DType::kU8, {2}, 3);
  backward.add_pattern("b", DType::kI8, {5}, 2);
  backward.add_pattern("a", DType::kF32, {3}, 1);
  CHECK(*content_digest(forward) == *content_digest(backward));

  // And the .owf file records the same digest whatever order it was written in.
  ScratchDir dir;
  REQUIRE(write_owf(forward, "{}", dir / "f.owf", WriteOptions{}).ok());
  REQUIRE(write_owf(backward, "{}", dir / "b.owf", WriteOptions{}).ok());
  CHECK(open_owf(dir / "f.owf")->recorded_digest() == open_owf(dir / "b.owf")->recorded_digest());
  CHECK(read_file(dir / "f.owf") != read_file(dir / "b.owf"));
}

TEST_CASE("the content digest changes with any name, dtype, shape or byte") {
  const auto digest_of = [](const std::string& name, DType dtype, std::vector<std::uint64_t> shape,
                            std::vector<std::byte> data) {
    MemoryModel model;
    model.add(name, dtype, std::move(shape), std::move(data));
    return *content_digest(model);
  };
  const std::vector<std::byte> four(4, std::byte{1});
  const Digest base = digest_of("t", DType::kU8, {4}, four);
  CHECK(base != digest_of("u", DType::kU8, {4}, four));
  CHECK(base != digest_of("t", DType::kI8, {4}, four));
  CHECK(base != digest_of("t", DType::kU8, {2, 2}, four));
  CHECK(base != digest_of("t", DType::kU8, {4}, {std::byte{1}, std::byte{1}, std::byte{1}, std::byte{2}}));
  CHECK(base == digest_of("t", DType::kU8, {4}, four));
}

TEST_CASE("TensorDigester fed in pieces equals one update") {
  const auto info = *make_tensor_info("p", DType::kU8, {1000});
  const auto data = pattern_bytes(1000);
  TensorDigester whole(info), pieces(info);
  whole.update(data);
  for (std::size_t at = 0; at < data.size(); at += 37) {
    pieces.update(std::span(data).subspan(at, std::min<std::size_t>(37, data.size() - at)));
  }
  CHECK(whole.finish() == pieces.finish());
}

}  // namespace owf::test
