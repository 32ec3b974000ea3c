// The dtype table and storage sizes (spec §5).
#include "owf/dtype.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <string>

#include "owf/model.h"

namespace owf {

TEST_CASE("the dtype table is consistent: unique ids and names that round trip") {
  std::set<std::uint16_t> ids;
  std::set<std::string_view> names;
  for (const DTypeInfo& info : all_dtypes()) {
    CAPTURE(info.name);
    CHECK(ids.insert(static_cast<std::uint16_t>(info.id)).second);
    CHECK(names.insert(info.name).second);
    CHECK(find_dtype(static_cast<std::uint16_t>(info.id)) == &info);
    CHECK(dtype_from_name(info.name) == info.id);
    CHECK(info.row_blocks == (info.kind == DTypeKind::kQuantized));
  }
  CHECK(all_dtypes().size() == 52);
  CHECK(find_dtype(0) == nullptr);
  CHECK(find_dtype(26) == nullptr);
  CHECK(find_dtype(256 + 4) == nullptr);  // ggml's removed Q4_2
  CHECK_FALSE(dtype_from_name("float32").has_value());
}

TEST_CASE("ggml block sizes match ggml-common.h") {
  // (id, elements, bytes) from the static_asserts of ggml-common.h.
  const struct {
    DType id;
    std::uint32_t elements, bytes;
  } blocks[] = {
      {DType::kQ4_0, 32, 18},     {DType::kQ4_1, 32, 20},    {DType::kQ5_0, 32, 22},     {DType::kQ5_1, 32, 24},
      {DType::kQ8_0, 32, 34},     {DType::kQ8_1, 32, 36},    {DType::kQ2_K, 256, 84},    {DType::kQ3_K, 256, 110},
      {DType::kQ4_K, 256, 144},   {DType::kQ5_K, 256, 176},  {DType::kQ6_K, 256, 210},   {DType::kQ8_K, 256, 292},
      {DType::kIQ2_XXS, 256, 66}, {DType::kIQ2_XS, 256, 74}, {DType::kIQ3_XXS, 256, 98}, {DType::kIQ1_S, 256, 50},
      {DType::kIQ4_NL, 32, 18},   {DType::kIQ3_S, 256, 110}, {DType::kIQ2_S, 256, 82},   {DType::kIQ4_XS, 256, 136},
      {DType::kIQ1_M, 256, 56},   {DType::kTQ1_0, 256, 54},  {DType::kTQ2_0, 256, 66},   {DType::kMXFP4, 32, 17},
      {DType::kNVFP4, 64, 36},    {DType::kQ1_0, 128, 18},   {DType::kQ2_0, 64, 18},
  };
  for (const auto& block : blocks) {
    const DTypeInfo& info = dtype_info(block.id);
    CAPTURE(info.name);
    CHECK(info.block_elements == block.elements);
    CHECK(info.block_bytes == block.bytes);
  }
}

TEST_CASE("storage_size of plain, packed and block types") {
  using Shape = std::vector<std::uint64_t>;
  CHECK(*storage_size(DType::kF32, Shape{}) == 4);  // a scalar is one element
  CHECK(*storage_size(DType::kF32, Shape{3, 0, 5}) == 0);
  CHECK(*storage_size(DType::kBF16, Shape{7, 3}) == 42);
  CHECK(*storage_size(DType::kC128, Shape{2}) == 32);
  CHECK(*storage_size(DType::kI4, Shape{3}) == 2);  // 12 bits round up to 2 bytes
  CHECK(*storage_size(DType::kU4, Shape{4}) == 2);
  CHECK(*storage_size(DType::kF6E2M3, Shape{5}) == 4);  // 30 bits
  CHECK(*storage_size(DType::kF6E3M2, Shape{4}) == 3);
  CHECK(*storage_size(DType::kF4E2M1, Shape{1}) == 1);
  CHECK(*storage_size(DType::kQ8_0, Shape{3, 64}) == 3 * 2 * 34);
  CHECK(*storage_size(DType::kQ4_K, Shape{256}) == 144);
  CHECK(*storage_size(DType::kQ4_0, Shape{0, 32}) == 0);
}

TEST_CASE("storage_size refuses broken blocking and overflow") {
  using Shape = std::vector<std::uint64_t>;
  const auto scalar = storage_size(DType::kQ8_0, Shape{});
  CHECK(scalar.status().message() == "q8_0 needs rank >= 1, not a scalar");
  const auto ragged = storage_size(DType::kQ4_K, Shape{256, 100});
  CHECK(ragged.status().message().find("innermost dimension is not a multiple of the block size 256") !=
        std::string::npos);
  const auto elements = element_count(Shape{1ull << 32, 1ull << 32});
  CHECK(elements.status().message() == "shape [4294967296, 4294967296] has more than 2^64 elements");
  const auto bytes = storage_size(DType::kF64, Shape{1ull << 62});
  CHECK(bytes.status().message() == "f64 shape [4611686018427387904] needs more than 2^64 bytes");
  // Spec §5: a packed stream's bit length must fit in 64 bits, not only its byte length.
  CHECK(*storage_size(DType::kI4, Shape{UINT64_MAX / 4}) == UINT64_MAX / 8 + 1);
  CHECK(storage_size(DType::kI4, Shape{UINT64_MAX / 4 + 1}).status().message() ==
        "int4 shape [4611686018427387904] needs more than 2^64 bits");
  // The product of the nonzero dimensions must fit wherever a zero sits.
  for (const Shape& shape : {Shape{1ull << 40, 1ull << 40, 0}, Shape{0, 1ull << 40, 1ull << 40}}) {
    CHECK_FALSE(element_count(shape).ok());
  }
  CHECK(*element_count(Shape{1ull << 32, 0, 1ull << 31}) == 0);
}

TEST_CASE("make_tensor_info validates names as UTF-8 and fills byte_size") {
  const auto ok = make_tensor_info("blk.0.ффн", DType::kF16, {3, 4});
  REQUIRE(ok.ok());
  CHECK(ok->byte_size == 24);
  CHECK(make_tensor_info("", DType::kF32, {}).status().message() == "tensor name is empty");
  for (const std::string bad : {"\xC0\xAF", "a\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82", "\xFF"}) {
    CAPTURE(bad);
    const auto refused = make_tensor_info(bad, DType::kF32, {});
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == ErrorCode::kInvalidArgument);
    CHECK(refused.status().message().find("name is not valid UTF-8 at byte") != std::string::npos);
  }
  const auto ragged = make_tensor_info("w", DType::kQ4_0, {31});
  CHECK(ragged.status().message().find("tensor 'w': q4_0 shape [31]") == 0);
}

}  // namespace owf
