// Element values: f16/bf16 conversions, small float tables, packed sub-byte
// types, and ggml blocks built by hand with expected values worked out from
// ggml's published formulas (ggml-quants.c), never by calling owf's code.
#include "owf/numeric.h"

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "owf/internal/bytes.h"

using owf::DType;
using owf::ErrorCode;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// f16 bit patterns used as block scales.
constexpr std::uint16_t kHalfOne = 0x3C00;
constexpr std::uint16_t kHalfHalf = 0x3800;  // 0.5
constexpr std::uint16_t kHalfTwo = 0x4000;
constexpr std::uint16_t kHalfQuarter = 0x3400;  // 0.25
constexpr std::uint16_t kHalfMinusOne = 0xBC00;

// A zeroed block of raw bytes with little-endian setters.
struct Bytes {
  explicit Bytes(std::size_t size) : data(size) {}
  Bytes(std::initializer_list<unsigned> values) {
    for (unsigned v : values) data.push_back(static_cast<std::byte>(v));
  }
  Bytes& u8(std::size_t offset, unsigned value) {
    data.at(offset) = static_cast<std::byte>(value);
    return *this;
  }
  Bytes& u16(std::size_t offset, std::uint16_t value) {
    REQUIRE(offset + 2 <= data.size());
    owf::store_le<std::uint16_t>(data.data() + offset, value);
    return *this;
  }
  Bytes& u32(std::size_t offset, std::uint32_t value) {
    REQUIRE(offset + 4 <= data.size());
    owf::store_le<std::uint32_t>(data.data() + offset, value);
    return *this;
  }
  std::vector<std::byte> data;
};

bool same_value(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || (a == b && std::signbit(a) == std::signbit(b));
}

// Decodes `count` elements both ways; the f32 and f64 results must agree.
std::vector<float> decode(DType dtype, const Bytes& bytes, std::size_t count) {
  std::vector<float> as_float(count);
  std::vector<double> as_double(count);
  const owf::Status to_f32 = owf::decode_to_f32(dtype, bytes.data, as_float);
  const owf::Status to_f64 = owf::decode_to_f64(dtype, bytes.data, as_double);
  INFO(to_f32.message());
  REQUIRE(to_f32.ok());
  REQUIRE(to_f64.ok());
  for (std::size_t i = 0; i < count; ++i) {
    CAPTURE(i);
    CHECK(same_value(static_cast<float>(as_double[i]), as_float[i]));
  }
  return as_float;
}

// Checks selected elements: {index, expected value}.
void check_values(const std::vector<float>& values, std::initializer_list<std::pair<std::size_t, float>> expected) {
  for (const auto& [index, value] : expected) {
    CAPTURE(index);
    CHECK(same_value(values.at(index), value));
  }
}

std::vector<std::byte> encode(DType dtype, const std::vector<float>& values, std::size_t bytes) {
  std::vector<std::byte> out(bytes);
  const owf::Status status = owf::encode_from_f32(dtype, values, out);
  INFO(status.message());
  REQUIRE(status.ok());
  return out;
}

}  // namespace

TEST_CASE("f16: special values both ways") {
  CHECK(owf::f16_to_f32(0x3C00) == 1.0f);
  CHECK(owf::f16_to_f32(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(owf::f16_to_f32(0x03FF) == std::ldexp(1023.0f, -24));
  CHECK(owf::f16_to_f32(0x0400) == std::ldexp(1.0f, -14));  // smallest normal
  CHECK(owf::f16_to_f32(0x7BFF) == 65504.0f);
  CHECK(owf::f16_to_f32(0xFC00) == -kInf);
  CHECK(std::isnan(owf::f16_to_f32(0x7E00)));
  CHECK(std::isnan(owf::f16_to_f32(0x7C01)));
  CHECK(std::signbit(owf::f16_to_f32(0x8000)));

  CHECK(owf::f32_to_f16(1.0f) == 0x3C00);
  CHECK(owf::f32_to_f16(-2.0f) == 0xC000);
  CHECK(owf::f32_to_f16(-0.0f) == 0x8000);
  CHECK(owf::f32_to_f16(65504.0f) == 0x7BFF);
  CHECK(owf::f32_to_f16(65519.996f) == 0x7BFF);
  CHECK(owf::f32_to_f16(65520.0f) == 0x7C00);  // halfway to 65536: ties to even, which is infinity
  CHECK(owf::f32_to_f16(1.0e6f) == 0x7C00);
  CHECK(owf::f32_to_f16(-kInf) == 0xFC00);
  CHECK(owf::f32_to_f16(std::ldexp(1.0f, -14)) == 0x0400);
  CHECK(owf::f32_to_f16(std::ldexp(1.0f, -24)) == 0x0001);
  CHECK(owf::f32_to_f16(std::ldexp(1.0f, -26)) == 0x0000);
  CHECK(owf::f32_to_f16(-std::ldexp(1.0f, -30)) == 0x8000);  // underflow keeps the sign
  // NaN stays a quiet NaN, whatever its payload.
  const std::uint16_t quiet = owf::f32_to_f16(kNaN);
  CHECK((quiet & 0x7E00) == 0x7E00);
  const std::uint16_t from_signaling = owf::f32_to_f16(std::bit_cast<float>(0x7F800001u));
  CHECK((from_signaling & 0x7E00) == 0x7E00);
  CHECK((owf::f32_to_f16(std::bit_cast<float>(0xFFC00000u)) & 0x8000) == 0x8000);
}

TEST_CASE("f16: round to nearest even at ties") {
  // 1 + 2^-11 is halfway between 0x3C00 and 0x3C01: the even one wins.
  CHECK(owf::f32_to_f16(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);
  // 1 + 3 * 2^-11 is halfway between 0x3C01 and 0x3C02.
  CHECK(owf::f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3C02);
  // Just above a tie rounds up.
  CHECK(owf::f32_to_f16(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)) == 0x3C01);
  // A carry out of the mantissa moves to the next exponent: 2 - 2^-12 rounds to 2.
  CHECK(owf::f32_to_f16(2.0f - std::ldexp(1.0f, -12)) == 0x4000);
  // Subnormal ties: 2^-25 is halfway between 0 and 2^-24, 3 * 2^-25 between 1 and 2 units.
  CHECK(owf::f32_to_f16(std::ldexp(1.0f, -25)) == 0x0000);
  CHECK(owf::f32_to_f16(std::ldexp(1.5f, -25)) == 0x0001);
  CHECK(owf::f32_to_f16(std::ldexp(3.0f, -25)) == 0x0002);
  // 1023.5 units of 2^-24 ties to 1024: the smallest normal.
  CHECK(owf::f32_to_f16(std::ldexp(2047.0f, -25)) == 0x0400);
}

TEST_CASE("f16 and bf16 arrays convert as their elements do, in batches and in the tail") {
  // 200 values (three batches of 64 and a tail) from every branch: normals, ties, subnormals,
  // overflow, infinities, NaN.
  std::vector<float> values;
  for (int i = 0; i < 200; ++i) {
    const float unit = static_cast<float>(i % 25) - 12.0f;
    const float cases[] = {unit * 0.37f,
                           std::ldexp(unit, -20),
                           std::ldexp(unit, -26),
                           unit * 7000.0f,
                           1.0f + std::ldexp(static_cast<float>(i % 8), -11),
                           kInf * unit,
                           std::bit_cast<float>(0x7F800001u + static_cast<std::uint32_t>(i) * 4099u)};
    values.push_back(cases[i % 7]);
  }
  std::vector<std::byte> halves(values.size() * 2);
  REQUIRE(owf::encode_from_f32(owf::DType::kF16, values, halves).ok());
  std::vector<std::byte> bf16(values.size() * 2);
  REQUIRE(owf::encode_from_f32(owf::DType::kBF16, values, bf16).ok());
  std::vector<float> widened(values.size());
  REQUIRE(owf::decode_to_f32(owf::DType::kBF16, bf16, widened).ok());
  for (std::size_t i = 0; i < values.size(); ++i) {
    CAPTURE(i);
    CHECK(owf::load_le<std::uint16_t>(halves.data() + 2 * i) == owf::f32_to_f16(values[i]));
    const std::uint16_t brain = owf::load_le<std::uint16_t>(bf16.data() + 2 * i);
    CHECK(std::bit_cast<std::uint32_t>(widened[i]) == std::bit_cast<std::uint32_t>(owf::bf16_to_f32(brain)));
  }
}

TEST_CASE("f16 <-> bf16 in place gives every 16-bit pattern what the f32 path gives") {
  std::vector<std::byte> all(2 * 65536);
  for (std::uint32_t bits = 0; bits < 65536; ++bits) owf::store_le<std::uint16_t>(all.data() + 2 * bits, bits);
  std::vector<float> widened(65536);
  for (const auto& [from, to] :
       {std::pair{owf::DType::kBF16, owf::DType::kF16}, std::pair{owf::DType::kF16, owf::DType::kBF16}}) {
    CAPTURE(owf::dtype_info(from).name);
    REQUIRE(owf::can_convert_in_place(from, to));
    REQUIRE(owf::decode_to_f32(from, all, widened).ok());
    std::vector<std::byte> expected(all.size());
    REQUIRE(owf::encode_from_f32(to, widened, expected).ok());
    std::vector<std::byte> converted = all;
    REQUIRE(owf::convert_in_place(from, to, converted).ok());
    CHECK(converted == expected);
  }
  std::vector<std::byte> same = all;
  REQUIRE(owf::convert_in_place(owf::DType::kF16, owf::DType::kF16, same).ok());
  CHECK(same == all);
  CHECK_FALSE(owf::can_convert_in_place(owf::DType::kF32, owf::DType::kF16));
  CHECK(owf::convert_in_place(owf::DType::kF32, owf::DType::kF16, same).code() == owf::ErrorCode::kInvalidArgument);
  CHECK(owf::convert_in_place(owf::DType::kBF16, owf::DType::kF16, std::span(same).first(3)).code() ==
        owf::ErrorCode::kInvalidArgument);
}

TEST_CASE("bf16: conversions, ties, overflow and NaN") {
  CHECK(owf::bf16_to_f32(0x3F80) == 1.0f);
  CHECK(owf::bf16_to_f32(0xC040) == -3.0f);
  CHECK(owf::bf16_to_f32(0xFF80) == -kInf);
  CHECK(owf::f32_to_bf16(1.0f) == 0x3F80);
  CHECK(owf::f32_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3F80);      // tie, even below
  CHECK(owf::f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3F82);  // tie, even above
  CHECK(owf::f32_to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)) == 0x3F81);
  CHECK(owf::f32_to_bf16(std::numeric_limits<float>::max()) == 0x7F80);  // overflows to infinity
  CHECK(owf::f32_to_bf16(-kInf) == 0xFF80);
  CHECK(owf::f32_to_bf16(kNaN) == 0x7FC0);
  // Truncating 0x7F800001 would give infinity; it must stay a (quiet) NaN.
  CHECK(owf::f32_to_bf16(std::bit_cast<float>(0x7F800001u)) == 0x7FC0);
  CHECK(owf::f32_to_bf16(std::bit_cast<float>(0xFF800001u)) == 0xFFC0);
}

TEST_CASE("plain types decode exactly") {
  check_values(decode(DType::kBool, Bytes{0, 1, 2}, 3), {{0, 0.0f}, {1, 1.0f}, {2, 1.0f}});
  check_values(decode(DType::kU8, Bytes{0, 200}, 2), {{1, 200.0f}});
  check_values(decode(DType::kI8, Bytes{0x80, 0xFF}, 2), {{0, -128.0f}, {1, -1.0f}});
  check_values(decode(DType::kI16, Bytes{0xFE, 0xFF, 0x00, 0x80}, 2), {{0, -2.0f}, {1, -32768.0f}});
  check_values(decode(DType::kU16, Bytes{0xFE, 0xFF}, 1), {{0, 65534.0f}});
  check_values(decode(DType::kI32, Bytes{0x00, 0x00, 0x00, 0x80}, 1), {{0, -2147483648.0f}});
  check_values(decode(DType::kU32, Bytes{0x01, 0x00, 0x01, 0x00}, 1), {{0, 65537.0f}});
  std::vector<double> wide(2);
  const Bytes sixty_four{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0, 0, 0, 0, 0, 0, 0x80};
  REQUIRE(owf::decode_to_f64(DType::kU64, sixty_four.data, wide).ok());
  CHECK(wide[0] == 18446744073709551615.0);
  CHECK(wide[1] == 9223372036854775808.0);
  REQUIRE(owf::decode_to_f64(DType::kI64, sixty_four.data, wide).ok());
  CHECK(wide[0] == -1.0);
  CHECK(wide[1] == -9223372036854775808.0);

  check_values(decode(DType::kF16, Bytes{0x00, 0x3C, 0x00, 0xFC}, 2), {{0, 1.0f}, {1, -kInf}});
  check_values(decode(DType::kBF16, Bytes{0x80, 0x3F, 0x40, 0xC0}, 2), {{0, 1.0f}, {1, -3.0f}});
  check_values(decode(DType::kF32, Bytes{0x00, 0x00, 0xC0, 0x3F}, 1), {{0, 1.5f}});
  // c64: (1.5, 7.0) gives its real part.
  check_values(decode(DType::kC64, Bytes{0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00, 0xE0, 0x40}, 1), {{0, 1.5f}});
  // f64 1 + 2^-50 is exact as a double and rounds to 1 as a float.
  Bytes f64(16);
  f64.u32(4, 0x3FF00000).u32(0, 0x00000004);  // 1 + 2^-50
  f64.u32(12, 0xC0080000);                    // −3: the imaginary part when read as c128
  std::vector<double> exact(2);
  REQUIRE(owf::decode_to_f64(DType::kF64, f64.data, exact).ok());
  CHECK(exact[0] == 1.0 + std::ldexp(1.0, -50));
  CHECK(exact[1] == -3.0);
  check_values(decode(DType::kC128, f64, 1), {{0, 1.0f}});
}

TEST_CASE("f8 formats at chosen code points") {
  // e4m3fn: bias 7, no infinities, only S.1111.111 is NaN.
  check_values(decode(DType::kF8E4M3FN, Bytes{0x00, 0x01, 0x08, 0x38, 0x7E, 0x7F, 0xFE, 0xFF, 0x80, 0x78}, 10),
               {{0, 0.0f},
                {1, 0.001953125f},
                {2, 0.015625f},
                {3, 1.0f},
                {4, 448.0f},
                {5, kNaN},
                {6, -448.0f},
                {7, kNaN},
                {8, -0.0f},
                {9, 256.0f}});
  // e5m2: bias 15, IEEE-like.
  check_values(decode(DType::kF8E5M2, Bytes{0x3C, 0x7B, 0x7C, 0xFC, 0x7D, 0x01, 0xC2}, 7),
               {{0, 1.0f}, {1, 57344.0f}, {2, kInf}, {3, -kInf}, {4, kNaN}, {5, 1.52587890625e-05f}, {6, -3.0f}});
  // e4m3fnuz: bias 8, 0x80 is the only NaN.
  check_values(decode(DType::kF8E4M3FNUZ, Bytes{0x40, 0x7F, 0x80, 0x00, 0x01, 0xFF}, 6),
               {{0, 1.0f}, {1, 240.0f}, {2, kNaN}, {3, 0.0f}, {4, 0.0009765625f}, {5, -240.0f}});
  // e5m2fnuz: bias 16.
  check_values(decode(DType::kF8E5M2FNUZ, Bytes{0x40, 0x7F, 0x80, 0x01}, 4),
               {{0, 1.0f}, {1, 57344.0f}, {2, kNaN}, {3, 7.62939453125e-06f}});
  // e8m0: 2^(x − 127), 0xFF is NaN.
  check_values(decode(DType::kF8E8M0, Bytes{127, 130, 0, 254, 255}, 5),
               {{0, 1.0f}, {1, 8.0f}, {2, std::ldexp(1.0f, -127)}, {3, std::ldexp(1.0f, 127)}, {4, kNaN}});
}

TEST_CASE("packed sub-byte types: fp6, fp4, int4, uint4") {
  // f6_e2m3 codes 001000 (1.0), 011111 (7.5), 000001 (0.125), 111111 (−7.5), then 010000 (2.0)
  // alone in a partial block: bits 0..23 = 0xFC17C8, bits 24..29 = 0x10.
  check_values(decode(DType::kF6E2M3, Bytes{0xC8, 0x17, 0xFC, 0x10}, 5),
               {{0, 1.0f}, {1, 7.5f}, {2, 0.125f}, {3, -7.5f}, {4, 2.0f}});
  // f6_e3m2 codes 001100 (1.0), 011111 (28), 000001 (0.0625), 100100 (−0.25): 0x9017CC.
  check_values(decode(DType::kF6E3M2, Bytes{0xCC, 0x17, 0x90}, 4), {{0, 1.0f}, {1, 28.0f}, {2, 0.0625f}, {3, -0.25f}});
  // f4_e2m1: low nibble first. 0x71: 0.5 then 6; 0xF9: −0.5 then −6; 0x08: −0 alone.
  check_values(decode(DType::kF4E2M1, Bytes{0x71, 0xF9, 0x08}, 5),
               {{0, 0.5f}, {1, 6.0f}, {2, -0.5f}, {3, -6.0f}, {4, -0.0f}});
  check_values(decode(DType::kI4, Bytes{0x8F, 0x07}, 4), {{0, -1.0f}, {1, -8.0f}, {2, 7.0f}, {3, 0.0f}});
  check_values(decode(DType::kU4, Bytes{0x8F, 0x07}, 3), {{0, 15.0f}, {1, 8.0f}, {2, 7.0f}});
}

TEST_CASE("q4_0: (q − 8) × d, low nibbles first") {
  Bytes block(18);
  block.u16(0, kHalfHalf);
  for (unsigned j = 0; j < 16; ++j) block.u8(2 + j, j | ((15 - j) << 4));
  // Element j < 16: (j − 8) × 0.5; element j + 16: ((15 − j) − 8) × 0.5.
  const std::vector<float> expected = {-4.0f, -3.5f, -3.0f, -2.5f, -2.0f, -1.5f, -1.0f, -0.5f, 0.0f,  0.5f, 1.0f,
                                       1.5f,  2.0f,  2.5f,  3.0f,  3.5f,  3.5f,  3.0f,  2.5f,  2.0f,  1.5f, 1.0f,
                                       0.5f,  0.0f,  -0.5f, -1.0f, -1.5f, -2.0f, -2.5f, -3.0f, -3.5f, -4.0f};
  CHECK(decode(DType::kQ4_0, block, 32) == expected);
}

TEST_CASE("q4_1: q × d + m") {
  Bytes block(20);
  block.u16(0, kHalfHalf).u16(2, kHalfMinusOne).u8(4, 0x0F).u8(5, 0xF3);
  // 15 × 0.5 − 1 = 6.5; 3 × 0.5 − 1 = 0.5; a zero quant gives m = −1.
  check_values(decode(DType::kQ4_1, block, 32), {{0, 6.5f}, {1, 0.5f}, {2, -1.0f}, {16, -1.0f}, {17, 6.5f}});
}

TEST_CASE("q5_0: bit j of qh is bit 4 of element j") {
  Bytes block(22);
  block.u16(0, kHalfOne).u32(2, 0x00020001).u8(6, 0x21).u8(7, 0x3F);
  // e0: (1 | 16) − 16 = 1; e1: 15 − 16 = −1; e16: 2 − 16 = −14; e17: (3 | 16) − 16 = 3; rest 0 − 16.
  check_values(decode(DType::kQ5_0, block, 32),
               {{0, 1.0f}, {1, -1.0f}, {2, -16.0f}, {16, -14.0f}, {17, 3.0f}, {31, -16.0f}});
}

TEST_CASE("q5_1: 5-bit q × d + m") {
  Bytes block(24);
  block.u16(0, kHalfHalf).u16(2, kHalfTwo).u32(4, 0x80000000).u8(8 + 15, 0xA5);
  // e15: 5 × 0.5 + 2 = 4.5; e31: (10 | 16) × 0.5 + 2 = 15; others 0 × 0.5 + 2.
  check_values(decode(DType::kQ5_1, block, 32), {{15, 4.5f}, {31, 15.0f}, {0, 2.0f}, {16, 2.0f}});
}

TEST_CASE("q8_0 and q8_1: q × d") {
  Bytes q8_0(34);
  q8_0.u16(0, kHalfQuarter);
  for (unsigned j = 0; j < 32; ++j) q8_0.u8(2 + j, static_cast<std::uint8_t>(j - 16));
  q8_0.u8(2, 0x80);
  // (j − 16) × 0.25, and −128 × 0.25 = −32 for element 0.
  check_values(decode(DType::kQ8_0, q8_0, 32), {{0, -32.0f}, {1, -3.75f}, {16, 0.0f}, {31, 3.75f}});

  Bytes q8_1(36);
  q8_1.u16(0, kHalfTwo).u16(2, 0x1234).u8(4 + 3, static_cast<std::uint8_t>(-5));
  check_values(decode(DType::kQ8_1, q8_1, 32), {{3, -10.0f}, {0, 0.0f}});
}

TEST_CASE("q2_k: d × scale × q − dmin × min per 16 elements") {
  // scales[16] at 0, qs[64] at 16, d at 80, dmin at 82. Element e: half h = e / 128,
  // plane p = (e % 128) / 32, group g = (e % 32) / 16, l = e % 16; quant in byte
  // 32h + 16g + l at bits 2p; scale byte 8h + 2p + g.
  Bytes block(84);
  block.u16(80, kHalfOne).u16(82, kHalfHalf);
  block.u8(0, 0x21).u8(1, 0x03).u8(2, 0x12).u8(4, 0x05).u8(6, 0xF1).u8(8, 0x34).u8(15, 0x11);
  block.u8(16 + 0, 0x27);   // planes: 3, 1, 2, 0
  block.u8(16 + 16, 0x02);  // element 16
  block.u8(16 + 32, 0x01);  // element 128
  block.u8(16 + 63, 0xC0);  // element 255, plane 3
  check_values(decode(DType::kQ2_K, block, 256), {
                                                     {0, 2.0f},    // 1 × 3 − 0.5 × 2
                                                     {1, -1.0f},   // 1 × 0 − 0.5 × 2
                                                     {16, 6.0f},   // 3 × 2 − 0
                                                     {32, 1.5f},   // 2 × 1 − 0.5 × 1
                                                     {64, 10.0f},  // 5 × 2 − 0
                                                     {96, -7.5f},  // 1 × 0 − 0.5 × 15
                                                     {128, 2.5f},  // 4 × 1 − 0.5 × 3
                                                     {255, 2.5f},  // 1 × 3 − 0.5 × 1
                                                 });
}

TEST_CASE("q3_k: d × (scale − 32) × (q − 4 unless the hmask bit is set)") {
  // hmask[32] at 0, qs[64] at 32, scales[12] at 96, d at 108. Scale i: low 4 bits
  // in byte i (i < 8) or the high nibble of byte i − 8; high 2 bits at bit
  // 2 × (i / 4) of byte 8 + i % 4. hmask bit 4h + p of byte 16g + l.
  Bytes block(110);
  block.u16(108, kHalfHalf);
  block.u8(96 + 0, 0x01).u8(96 + 8, 0x02);  // scale 0 = 1 | 2 << 4 = 33
  block.u8(96 + 1, 0x80).u8(96 + 9, 0x20);  // scale 9 = 8 | 2 << 4 = 40
  block.u8(32 + 0, 0x03).u8(0, 0x01);       // element 0: q 3, hmask set
  block.u8(32 + 1, 0x02);                   // element 1: q 2, hmask clear
  block.u8(32 + 48, 0x01).u8(16, 0x10);     // element 144: q 1, hmask bit 4 set
  block.u8(32 + 63, 0xC0).u8(31, 0x80);     // element 255: q 3, hmask bit 7 set
  check_values(decode(DType::kQ3_K, block, 256), {
                                                     {0, 1.5f},      // 0.5 × 1 × 3
                                                     {1, -1.0f},     // 0.5 × 1 × (2 − 4)
                                                     {2, -2.0f},     // 0.5 × 1 × (0 − 4)
                                                     {16, 64.0f},    // 0.5 × −32 × (0 − 4)
                                                     {144, 4.0f},    // 0.5 × 8 × 1
                                                     {145, -16.0f},  // 0.5 × 8 × (0 − 4)
                                                     {255, -48.0f},  // 0.5 × −32 × 3
                                                 });
}

TEST_CASE("q4_k: 6-bit scales and mins, d × sc × q − dmin × m") {
  // d, dmin, scales[12] at 4, qs[128] at 16. Sub-block j < 4: sc = s[j] & 63,
  // m = s[j + 4] & 63; j >= 4: sc = (s[j + 4] & 15) | (s[j − 4] >> 6) << 4,
  // m = (s[j + 4] >> 4) | (s[j] >> 6) << 4.
  Bytes block(144);
  block.u16(0, kHalfHalf).u16(2, kHalfOne);
  block.u8(4 + 0, 2).u8(4 + 4, 3);         // j0: sc 2, m 3
  block.u8(4 + 1, 0x44).u8(4 + 5, 1);      // j1: sc 4, m 1; top bits of s[1] feed j5
  block.u8(4 + 9, 0x21);                   // j5: sc 1 | 1 << 4 = 17, m 2
  block.u8(4 + 11, 0xF1).u8(4 + 7, 0xC0);  // j7: sc 1, m 15 | 3 << 4 = 63; j3's m stays 0
  block.u8(16 + 0, 0x5A).u8(16 + 64, 0x30).u8(16 + 127, 0xF0);
  check_values(decode(DType::kQ4_K, block, 256), {
                                                     {0, 7.0f},      // 0.5 × 2 × 10 − 3
                                                     {1, -3.0f},     // 0 − 3
                                                     {32, 9.0f},     // 0.5 × 4 × 5 − 1
                                                     {160, 23.5f},   // 0.5 × 17 × 3 − 2
                                                     {192, 0.0f},    // j3: sc 0, m 0
                                                     {255, -55.5f},  // 0.5 × 1 × 15 − 63
                                                 });
}

TEST_CASE("q5_k: q4_k plus a fifth bit from qh") {
  // qh[32] at 16, qs[128] at 48; bit 2p of qh[l] is the fifth bit of element
  // 64p + l, bit 2p + 1 that of element 64p + 32 + l.
  Bytes block(176);
  block.u16(0, kHalfOne).u16(2, kHalfHalf);
  block.u8(4 + 0, 1).u8(4 + 4, 2).u8(4 + 1, 3).u8(4 + 2, 2).u8(4 + 11, 0x01);
  block.u8(16 + 0, 0x07).u8(16 + 31, 0x80);
  block.u8(48 + 0, 0x24).u8(48 + 32, 0x01);
  check_values(decode(DType::kQ5_K, block, 256), {
                                                     {0, 19.0f},    // 1 × (4 + 16) − 0.5 × 2
                                                     {1, -1.0f},    // 1 × 0 − 0.5 × 2
                                                     {32, 54.0f},   // 3 × (2 + 16)
                                                     {64, 34.0f},   // 2 × (1 + 16)
                                                     {255, 16.0f},  // 1 × (0 + 16)
                                                 });
}

TEST_CASE("q6_k: d × scale × (6-bit q − 32)") {
  // ql[128] at 0, qh[64] at 128, scales[16] (i8) at 192, d at 208.
  Bytes block(210);
  block.u16(208, kHalfHalf);
  block.u8(192 + 0, 2).u8(192 + 1, 1).u8(192 + 2, static_cast<std::uint8_t>(-1)).u8(192 + 4, 3).u8(192 + 6, 1);
  block.u8(192 + 8, static_cast<std::uint8_t>(-2)).u8(192 + 15, 0x80);
  block.u8(0, 0x5F).u8(32, 0x80).u8(128, 0xE6);  // qh[0] planes: 2, 1, 2, 3
  block.u8(64, 0x01).u8(127, 0xF0).u8(128 + 63, 0xC0);
  check_values(decode(DType::kQ6_K, block, 256), {
                                                     {0, 15.0f},       // 0.5 × 2 × ((15 | 2 << 4) − 32)
                                                     {32, 8.0f},       // 0.5 × −1 × ((0 | 1 << 4) − 32)
                                                     {64, 7.5f},       // 0.5 × 3 × ((5 | 2 << 4) − 32)
                                                     {96, 12.0f},      // 0.5 × 1 × ((8 | 3 << 4) − 32)
                                                     {16, -16.0f},     // 0.5 × 1 × (0 − 32)
                                                     {128, 31.0f},     // 0.5 × −2 × (1 − 32)
                                                     {255, -1984.0f},  // 0.5 × −128 × ((15 | 3 << 4) − 32)
                                                 });
}

TEST_CASE("q8_k: f32 d × q") {
  Bytes block(292);
  block.u32(0, 0x3E800000).u8(4, static_cast<std::uint8_t>(-3)).u8(4 + 255, 100);  // d = 0.25
  check_values(decode(DType::kQ8_K, block, 256), {{0, -0.75f}, {1, 0.0f}, {255, 25.0f}});
}

TEST_CASE("iq4_nl and iq4_xs: the non-linear 4-bit levels") {
  Bytes nl(18);
  nl.u16(0, kHalfHalf).u8(2, 0xF0).u8(3, 0x78);
  // Levels −127 … 113: code 0 = −127, 15 = 113, 8 = 1, 7 = −10.
  check_values(decode(DType::kIQ4_NL, nl, 32), {{0, -63.5f}, {16, 56.5f}, {1, 0.5f}, {17, -5.0f}});

  // d, scales_h (u16) at 2, scales_l[4] at 4, qs[128] at 8. Group g scale:
  // nibble g % 2 of scales_l[g / 2] | bits 2g of scales_h << 4, minus 32.
  Bytes xs(136);
  xs.u16(0, kHalfOne).u16(2, 0x42).u8(4, 0x01).u8(5, 0xE0);  // group 0: 33 − 32 = 1; group 3: 30 − 32 = −2
  xs.u8(8 + 0, 0x0F).u8(8 + 48, 0x19);
  check_values(decode(DType::kIQ4_XS, xs, 256), {
                                                    {0, 113.0f},    // 1 × level 15
                                                    {16, -127.0f},  // 1 × level 0
                                                    {32, 4064.0f},  // −32 × −127
                                                    {96, -26.0f},   // −2 × level 9 (13)
                                                    {112, 208.0f},  // −2 × level 1 (−104)
                                                });
}

TEST_CASE("mxfp4: E2M1 nibbles scaled by 2^(e − 127)") {
  Bytes block(17);
  block.u8(0, 126).u8(1, 0x9F).u8(2, 0x07);  // scale 0.5
  // 0xF = −6, 0x9 = −0.5, 0x7 = 6, 0x0 = 0; each × 0.5.
  check_values(decode(DType::kMXFP4, block, 32), {{0, -3.0f}, {16, -0.25f}, {1, 3.0f}, {17, 0.0f}});
}

TEST_CASE("tq1_0: base-3 digits packed five to a byte") {
  // qs[48] at 0, qh[4] at 48, d at 52. A byte holds ceil(v × 256 / 243) for the
  // base-3 number v of its digits, most significant first; value = digit − 1.
  Bytes block(54);
  block.u16(52, kHalfTwo);
  block.u8(0, 188);       // digits 2 0 1 2 1: v = 178, ceil(178 × 256 / 243) = 188
  block.u8(32, 128);      // digits 1 1 1 1 1: v = 121 → 128
  block.u8(48 + 0, 231);  // digits 2 2 0 1 (then 0): v = 219 → 231
  check_values(decode(DType::kTQ1_0, block, 256), {
                                                      {0, 2.0f},
                                                      {32, -2.0f},
                                                      {64, 0.0f},
                                                      {96, 2.0f},
                                                      {128, 0.0f},
                                                      {1, -2.0f},  // a zero byte is all digits 0
                                                      {160, 0.0f},
                                                      {176, 0.0f},
                                                      {224, 0.0f},
                                                      {240, 2.0f},
                                                      {244, 2.0f},
                                                      {248, -2.0f},
                                                      {252, 0.0f},
                                                  });
}

TEST_CASE("tq2_0: 2-bit planes, value q − 1") {
  Bytes block(66);
  block.u16(64, kHalfHalf).u8(0, 0x93).u8(32, 0x02);  // byte 0 planes: 3, 0, 1, 2
  check_values(decode(DType::kTQ2_0, block, 256),
               {{0, 1.0f}, {32, -0.5f}, {64, 0.0f}, {96, 0.5f}, {1, -0.5f}, {128, 0.5f}});
}

TEST_CASE("decode refuses wrong sizes and undecodable types") {
  std::vector<float> out(2);
  const Bytes three(3);
  CHECK(owf::decode_to_f32(DType::kF16, three.data, out).code() == ErrorCode::kInvalidArgument);
  std::vector<float> thirty_one(31);
  const Bytes q4(18);
  const owf::Status partial = owf::decode_to_f32(DType::kQ4_0, q4.data, thirty_one);
  CHECK(partial.code() == ErrorCode::kInvalidArgument);
  CHECK(partial.message().find("q4_0") != std::string::npos);

  CHECK_FALSE(owf::can_decode(DType::kIQ2_XXS));
  CHECK_FALSE(owf::can_decode(DType::kIQ1_M));
  CHECK(owf::can_decode(DType::kQ4_K));
  CHECK(owf::can_decode(DType::kF6E3M2));
  std::vector<float> block(256);
  const Bytes iq2(66);
  const owf::Status unsupported = owf::decode_to_f32(DType::kIQ2_XXS, iq2.data, block);
  CHECK(unsupported.code() == ErrorCode::kNotSupported);
  CHECK(unsupported.message().find("iq2_xxs") != std::string::npos);
  std::vector<double> none;
  CHECK(owf::decode_to_f64(DType::kQ6_K, {}, none).ok());
}

TEST_CASE("encode: float targets round to nearest even") {
  const std::vector<float> values = {1.0f, 1.0f + std::ldexp(1.0f, -11), 65520.0f, kNaN};
  const auto f16 = encode(DType::kF16, values, 8);
  CHECK(f16 == Bytes{0x00, 0x3C, 0x00, 0x3C, 0x00, 0x7C, 0x00, 0x7E}.data);
  const auto bf16 = encode(DType::kBF16, {1.5f, -2.0f}, 4);
  CHECK(bf16 == Bytes{0xC0, 0x3F, 0x00, 0xC0}.data);
  CHECK(encode(DType::kF32, {1.5f}, 4) == Bytes{0x00, 0x00, 0xC0, 0x3F}.data);
  CHECK(encode(DType::kF64, {-3.0f}, 8) == Bytes{0, 0, 0, 0, 0, 0, 0x08, 0xC0}.data);

  CHECK_FALSE(owf::can_encode(DType::kQ2_K));
  std::vector<std::byte> out(84);
  CHECK(owf::encode_from_f32(DType::kQ2_K, std::vector<float>(256), out).code() == ErrorCode::kNotSupported);
  std::vector<std::byte> short_out(3);
  CHECK(owf::encode_from_f32(DType::kF16, std::vector<float>{1.0f, 2.0f}, short_out).code() ==
        ErrorCode::kInvalidArgument);
}

TEST_CASE("encode q8_0: d = amax / 127, quants round half away from zero") {
  std::vector<float> values(64, 0.0f);
  // Block 0: amax 127 gives d = 1 exactly, so quants are round(x).
  values[0] = 127.0f;
  values[1] = 2.5f;     // → 3 (away from zero, not to even)
  values[2] = -2.5f;    // → −3
  values[3] = 0.49f;    // → 0
  values[4] = -126.6f;  // → −127
  values[5] = 1.5f;     // → 2
  // Block 1: amax 3: d = 3 / 127 = 0.0236220…, as f16 0x260C; 1/d = 42.33333.
  values[32] = -3.0f;  // → −127
  values[33] = 1.0f;   // 42.33 → 42
  values[34] = 0.5f;   // 21.17 → 21
  values[35] = 2.9f;   // 122.77 → 123
  const auto bytes = encode(DType::kQ8_0, values, 68);
  Bytes expected(68);
  expected.u16(0, 0x3C00).u8(2, 127).u8(3, 3).u8(4, 0xFD).u8(5, 0).u8(6, 0x81).u8(7, 2);
  expected.u16(34, 0x260C).u8(36, 0x81).u8(37, 42).u8(38, 21).u8(39, 123);
  CHECK(bytes == expected.data);

  // All zeros: d = 0 and every quant 0.
  CHECK(encode(DType::kQ8_0, std::vector<float>(32, 0.0f), 34) == Bytes(34).data);
  // Infinities and NaN have no q8_0 encoding.
  std::vector<float> with_nan(32, 1.0f);
  with_nan[7] = kNaN;
  std::vector<std::byte> out(34);
  const owf::Status refused = owf::encode_from_f32(DType::kQ8_0, with_nan, out);
  CHECK(refused.code() == ErrorCode::kInvalidArgument);
  CHECK(refused.message().find("element 7") != std::string::npos);
}

TEST_CASE("encode q4_0: d = max / −8 from the first largest magnitude, trunc(x / d + 8.5) capped at 15") {
  std::vector<float> values(64, 0.0f);
  // Block 0: max = −8, so d = 1 and q = min(15, trunc(x + 8.5)).
  const float first[] = {-8.0f, 7.0f, 0.4f, 0.5f, -0.5f, 3.49f, 3.5f, -1.2f};
  std::copy(std::begin(first), std::end(first), values.begin());
  values[16] = 6.6f;   // 15.1 → 15
  values[17] = -7.9f;  // 0.6 → 0
  // Block 1: 4 comes before −4, so max = 4 and d = −0.5: q = trunc(−2x + 8.5).
  values[32] = 4.0f;   // 0.5 → 0
  values[37] = -4.0f;  // 16.5 → 16, capped to 15
  const auto bytes = encode(DType::kQ4_0, values, 36);
  // Low nibble element j, high nibble element j + 16; zeros give 8.
  const Bytes expected{0x00, 0x3C, 0xF0, 0x0F, 0x88, 0x89, 0x88, 0x8B, 0x8C, 0x87, 0x88, 0x88,
                       0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x00, 0xB8, 0x80, 0x88, 0x88, 0x88,
                       0x88, 0x8F, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88};
  CHECK(bytes == expected.data);
  // Decoding gives back (q − 8) × d: −8 → 0 → −8; 7 → 15 → 7; 3.49 → 11 → 3.
  check_values(decode(DType::kQ4_0, expected, 64), {{0, -8.0f}, {1, 7.0f}, {5, 3.0f}, {32, 4.0f}, {37, -3.5f}});
}

TEST_CASE("f16 and bf16: every bit pattern survives a round trip through f32") {
  for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
    const auto h = static_cast<std::uint16_t>(bits);
    CAPTURE(h);
    const float from_f16 = owf::f16_to_f32(h);
    const float from_bf16 = owf::bf16_to_f32(h);
    if (std::isnan(from_f16)) {
      CHECK(std::isnan(owf::f16_to_f32(owf::f32_to_f16(from_f16))));
    } else if (owf::f32_to_f16(from_f16) != h) {
      FAIL_CHECK("f16 round trip changed the bits");
    }
    if (std::isnan(from_bf16)) {
      CHECK(std::isnan(owf::bf16_to_f32(owf::f32_to_bf16(from_bf16))));
    } else if (owf::f32_to_bf16(from_bf16) != h) {
      FAIL_CHECK("bf16 round trip changed the bits");
    }
  }
}

TEST_CASE("every dtype decodes any bytes, and f32 and f64 decoding agree") {
  std::uint64_t state = 0x243F6A8885A308D3ull;  // fixed: the same bytes in every run
  std::vector<std::byte> random(256 * 292);
  for (std::byte& b : random) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    b = static_cast<std::byte>(state);
  }
  for (const owf::DTypeInfo& info : owf::all_dtypes()) {
    CAPTURE(info.name);
    const std::size_t count = 4 * info.block_elements;  // four whole blocks
    const std::span<const std::byte> src(random.data(), 4 * std::size_t{info.block_bytes});
    std::vector<float> as_float(count);
    std::vector<double> as_double(count);
    const owf::Status to_f32 = owf::decode_to_f32(info.id, src, as_float);
    CHECK(to_f32.code() == owf::decode_to_f64(info.id, src, as_double).code());
    CHECK(to_f32.ok() == owf::can_decode(info.id));
    if (!to_f32.ok()) continue;
    for (std::size_t i = 0; i < count; ++i) {
      // Wide integers round differently when narrowed in one step or two.
      if (info.kind != owf::DTypeKind::kFloat && info.kind != owf::DTypeKind::kQuantized) continue;
      if (!same_value(static_cast<float>(as_double[i]), as_float[i])) FAIL_CHECK("element " << i << " differs");
    }
  }
}

TEST_CASE("q8_0 and q4_0 round trips stay within the quantization step") {
  std::uint64_t state = 0x13198A2E03707344ull;
  std::vector<float> values(32 * 64);
  for (std::size_t i = 0; i < values.size(); ++i) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    // Blocks of different magnitudes, from 1e-3 to 1e3.
    const float scale = std::pow(10.0f, static_cast<float>(i / 32 % 7) - 3.0f);
    values[i] = scale * (static_cast<float>(state % 20001) / 10000.0f - 1.0f);
  }
  for (const DType dtype : {DType::kQ8_0, DType::kQ4_0}) {
    const owf::DTypeInfo& info = owf::dtype_info(dtype);
    CAPTURE(info.name);
    const auto bytes = encode(dtype, values, values.size() / 32 * info.block_bytes);
    std::vector<float> back(values.size());
    REQUIRE(owf::decode_to_f32(dtype, bytes, back).ok());
    for (std::size_t block = 0; block < values.size() / 32; ++block) {
      float amax = 0.0f;
      for (std::size_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(values[32 * block + j]));
      // Half a step d (amax / 127 or amax / 8), or for q4_0 a full step (it
      // caps the side opposite the largest value at 7 steps); plus up to
      // 127 or 8 times the error of d stored as f16 (relative 2^-11, but
      // absolute 2^-25 where d is subnormal in f16).
      const float step = dtype == DType::kQ8_0 ? amax / 127.0f : amax / 8.0f;
      const float max_quant = dtype == DType::kQ8_0 ? 127.0f : 8.0f;
      const float scale_error = std::max(step * std::ldexp(1.0f, -11), std::ldexp(1.0f, -25));
      const float bound = (dtype == DType::kQ8_0 ? 0.5f : 1.0f) * step + max_quant * scale_error;
      for (std::size_t j = 0; j < 32; ++j) {
        const std::size_t i = 32 * block + j;
        if (std::fabs(back[i] - values[i]) > bound)
          FAIL_CHECK("element " << i << ": " << values[i] << " -> " << back[i]);
      }
    }
  }
}

// Bit-exactness against ggml's own quantizers is tests/llama/test_ggml_quantizers.py; here, the
// properties any k-quant round trip must have.
TEST_CASE("encode q4_k, q5_k, q6_k: zeros stay zero, values come back within the type's step") {
  std::vector<float> values(512);
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = std::sin(0.37f * static_cast<float>(i)) * (1.0f + static_cast<float>(i % 7));  // |x| <= 7
  }
  std::fill(values.begin() + 256, values.begin() + 288, 0.0f);  // one zero group
  // Levels per group: 16, 32, 64; a group's range is at most 14, so its step is at most 14 / levels,
  // and rounding of the stored 6-bit (q6_k: 8-bit) scales adds a little.
  for (const auto& [dtype, levels] : {std::pair{DType::kQ4_K, 15.0f}, {DType::kQ5_K, 31.0f}, {DType::kQ6_K, 63.0f}}) {
    CAPTURE(owf::dtype_info(dtype).name);
    REQUIRE(owf::can_encode(dtype));
    const auto bytes = encode(dtype, values, 2 * owf::dtype_info(dtype).block_bytes);
    std::vector<float> decoded(values.size());
    REQUIRE(owf::decode_to_f32(dtype, bytes, decoded).ok());
    for (std::size_t i = 0; i < values.size(); ++i) {
      CAPTURE(i);
      CHECK(std::fabs(decoded[i] - values[i]) <= 14.0f / levels);
    }
    for (std::size_t i = 256; i < 288; ++i) CHECK(decoded[i] == 0.0f);
  }
  CHECK(encode(DType::kQ6_K, std::vector<float>(256, 0.0f), 210) == Bytes(210).data);
}
