// Element values of every dtype. Decoding goes one of four ways:
//   - IEEE types (f16, bf16, f32, f64, complex) by their bits; f16 through a
//     65536-entry table built once;
//   - one-byte types (bool, u8, i8, the f8 family) through a 256-entry table;
//   - packed sub-byte types (int4, uint4, f4, f6) by reading each element's
//     bits from the little-endian bit stream, then a table;
//   - ggml block types block by block (quant.cpp).
#include "owf/numeric.h"

#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

#include "owf/internal/bytes.h"
#include "quant.h"

namespace owf {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInfinity = std::numeric_limits<double>::infinity();

// How a small float format spends its top codes (OCP 8-bit and MX formats).
enum class Specials {
  kIeee,               // exponent all ones: infinity (mantissa 0) or NaN (f8_e5m2)
  kFiniteNanMax,       // only S.1111.111 is NaN, no infinities (f8_e4m3fn)
  kNegativeZeroIsNan,  // 0x80 is NaN, no infinities, no −0 (the "fnuz" types)
  kNone,               // every code is a finite number (MX f6, f4)
};

struct SmallFloat {
  int exponent_bits;
  int mantissa_bits;
  int bias;
  Specials specials;
};

// The value of `code` in a sign-exponent-mantissa format without an implicit
// NaN payload: subnormals at exponent 0, as in IEEE 754.
double small_float_value(unsigned code, const SmallFloat& format) {
  const unsigned mantissa_mask = (1u << format.mantissa_bits) - 1;
  const unsigned exponent_mask = (1u << format.exponent_bits) - 1;
  const unsigned sign_bit = 1u << (format.exponent_bits + format.mantissa_bits);
  const unsigned mantissa = code & mantissa_mask;
  const unsigned exponent = (code >> format.mantissa_bits) & exponent_mask;
  const double sign = (code & sign_bit) ? -1.0 : 1.0;
  switch (format.specials) {
    case Specials::kIeee:
      if (exponent == exponent_mask) return mantissa == 0 ? sign * kInfinity : kNaN;
      break;
    case Specials::kFiniteNanMax:
      if (exponent == exponent_mask && mantissa == mantissa_mask) return kNaN;
      break;
    case Specials::kNegativeZeroIsNan:
      if (code == sign_bit) return kNaN;
      break;
    case Specials::kNone: break;
  }
  const double fraction = static_cast<double>(mantissa) / static_cast<double>(1u << format.mantissa_bits);
  if (exponent == 0) return sign * std::ldexp(fraction, 1 - format.bias);
  return sign * std::ldexp(1.0 + fraction, static_cast<int>(exponent) - format.bias);
}

// Value of every code of a type of at most 8 bits.
using CodeTable = std::array<double, 256>;

template <typename Fill>
CodeTable make_table(Fill value_of) {
  CodeTable table{};
  for (unsigned code = 0; code < table.size(); ++code) table[code] = value_of(code);
  return table;
}

CodeTable small_float_table(SmallFloat format) {
  return make_table([format](unsigned code) { return small_float_value(code, format); });
}

// The table for a one-byte or packed sub-byte dtype, nullptr for others.
const CodeTable* code_table(DType dtype) {
  static const CodeTable kBoolTable = make_table([](unsigned code) { return code != 0 ? 1.0 : 0.0; });
  static const CodeTable kU8Table = make_table([](unsigned code) { return static_cast<double>(code); });
  static const CodeTable kI8Table =
      make_table([](unsigned code) { return static_cast<double>(static_cast<std::int8_t>(code)); });
  static const CodeTable kE4M3Fn = small_float_table({4, 3, 7, Specials::kFiniteNanMax});
  static const CodeTable kE5M2 = small_float_table({5, 2, 15, Specials::kIeee});
  static const CodeTable kE4M3Fnuz = small_float_table({4, 3, 8, Specials::kNegativeZeroIsNan});
  static const CodeTable kE5M2Fnuz = small_float_table({5, 2, 16, Specials::kNegativeZeroIsNan});
  // E8M0 is an unsigned power of two: 2^(code − 127), 0xFF is NaN.
  static const CodeTable kE8M0 =
      make_table([](unsigned code) { return code == 0xFF ? kNaN : std::ldexp(1.0, static_cast<int>(code) - 127); });
  static const CodeTable kE2M3 = small_float_table({2, 3, 1, Specials::kNone});
  static const CodeTable kE3M2 = small_float_table({3, 2, 3, Specials::kNone});
  static const CodeTable kE2M1 = small_float_table({2, 1, 1, Specials::kNone});
  // Nibbles: two's complement for int4.
  static const CodeTable kI4 =
      make_table([](unsigned code) { return static_cast<double>(static_cast<int>((code & 0x0F) ^ 8) - 8); });
  switch (dtype) {
    case DType::kBool: return &kBoolTable;
    case DType::kU8:
    case DType::kU4: return &kU8Table;
    case DType::kI8: return &kI8Table;
    case DType::kF8E4M3FN: return &kE4M3Fn;
    case DType::kF8E5M2: return &kE5M2;
    case DType::kF8E4M3FNUZ: return &kE4M3Fnuz;
    case DType::kF8E5M2FNUZ: return &kE5M2Fnuz;
    case DType::kF8E8M0: return &kE8M0;
    case DType::kF6E2M3: return &kE2M3;
    case DType::kF6E3M2: return &kE3M2;
    case DType::kF4E2M1: return &kE2M1;
    case DType::kI4: return &kI4;
    default: return nullptr;
  }
}

float f16_bits_to_f32(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000) << 16;
  const std::uint32_t exponent = (bits >> 10) & 0x1F;
  const std::uint32_t mantissa = bits & 0x3FF;
  if (exponent == 0x1F) return std::bit_cast<float>(sign | 0x7F800000 | (mantissa << 13));  // inf, NaN payload kept
  if (exponent != 0) return std::bit_cast<float>(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
  // Subnormal (or zero): mantissa × 2^-24, exact in float.
  const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  return sign ? -magnitude : magnitude;
}

const std::array<float, 65536>& f16_table() {
  static const auto table = [] {
    std::array<float, 65536> values{};
    for (std::uint32_t bits = 0; bits < values.size(); ++bits)
      values[bits] = f16_bits_to_f32(static_cast<std::uint16_t>(bits));
    return values;
  }();
  return table;
}

// Unsigned integer `value` rounded to nearest even after dropping its low
// `shift` bits (1 <= shift < 32).
std::uint32_t shift_right_round_even(std::uint32_t value, int shift) {
  const std::uint32_t kept = value >> shift;
  const std::uint32_t rest = value & ((1u << shift) - 1);
  const std::uint32_t half = 1u << (shift - 1);
  return kept + ((rest > half || (rest == half && (kept & 1))) ? 1 : 0);
}

// The conversions behind f32_to_f16 and bf16_to_f32, here so that the loops below inline them
// (calls to the exported functions may be interposed, so are not inlined). f32 -> f16 computes
// every case and selects one, without branches, so that loops over it vectorize.
inline std::uint16_t f16_from_f32(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t sign = (bits >> 16) & 0x8000;
  const std::uint32_t magnitude = bits & 0x7FFFFFFF;
  // Normal in f16 (>= 2^-14): rebias the exponent, round the mantissa to nearest even; a carry out
  // of the mantissa correctly bumps the exponent.
  const std::uint32_t normal = (magnitude - ((127 - 15) << 23) + 0xFFF + ((magnitude >> 13) & 1)) >> 13;
  // Subnormal in f16: value / 2^-24 rounded to nearest even, which the FPU does when adding 0.5
  // (whose ulp is 2^-24); just below 2^-14 this correctly rounds up to the smallest normal.
  const std::uint32_t subnormal = std::bit_cast<std::uint32_t>(std::bit_cast<float>(magnitude) + 0.5f) - 0x3F000000;
  std::uint32_t half = magnitude < 0x38800000 ? subnormal : normal;
  // 65520 (0x477FF000) lies halfway between 65504, the largest f16, and 65536: it and everything
  // above round to infinity.
  half = magnitude >= 0x477FF000 ? 0x7C00 : half;
  // NaN: keep the top of the payload and set the quiet bit.
  half = magnitude > 0x7F800000 ? (0x7E00 | ((magnitude >> 13) & 0x3FF)) : half;
  return static_cast<std::uint16_t>(sign | half);
}

inline float f32_from_bf16(std::uint16_t bits) { return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16); }

// Element-wise conversion in batches through local arrays: with a constant trip count, nothing
// that may alias and lambdas (inlined, where function pointers were not), the compiler
// vectorizes each inner loop, even under -O2's cheap cost model.
template <typename In, typename Out, typename Load, typename Convert, typename Store>
void convert_batched(std::size_t count, Load load, Convert convert, Store store) {
  constexpr std::size_t kBatch = 64;
  In in[kBatch];
  Out out[kBatch];
  std::size_t i = 0;
  for (; i + kBatch <= count; i += kBatch) {
    for (std::size_t j = 0; j < kBatch; ++j) in[j] = load(i + j);
    for (std::size_t j = 0; j < kBatch; ++j) out[j] = convert(in[j]);
    for (std::size_t j = 0; j < kBatch; ++j) store(i + j, out[j]);
  }
  for (; i < count; ++i) store(i, convert(load(i)));
}

// Reads element i of a packed little-endian bit stream of `bits`-bit fields.
unsigned packed_field(std::span<const std::byte> src, std::uint64_t index, unsigned bits) {
  const std::uint64_t bit = index * bits;
  const std::uint64_t byte = bit / 8;
  unsigned window = std::to_integer<unsigned>(src[byte]);
  if (byte + 1 < src.size()) window |= std::to_integer<unsigned>(src[byte + 1]) << 8;
  return (window >> (bit % 8)) & ((1u << bits) - 1);
}

template <typename T>
void decode_plain_integers(DType dtype, std::span<const std::byte> src, std::span<T> dst) {
  const auto each = [&](auto load) {
    const std::size_t width = src.size() / dst.size();
    for (std::size_t i = 0; i < dst.size(); ++i) dst[i] = static_cast<T>(load(src.data() + i * width));
  };
  switch (dtype) {
    case DType::kU16: each([](const std::byte* p) { return load_le<std::uint16_t>(p); }); break;
    case DType::kU32: each([](const std::byte* p) { return load_le<std::uint32_t>(p); }); break;
    case DType::kU64: each([](const std::byte* p) { return load_le<std::uint64_t>(p); }); break;
    case DType::kI16:
      each([](const std::byte* p) { return static_cast<std::int16_t>(load_le<std::uint16_t>(p)); });
      break;
    case DType::kI32:
      each([](const std::byte* p) { return static_cast<std::int32_t>(load_le<std::uint32_t>(p)); });
      break;
    case DType::kI64:
      each([](const std::byte* p) { return static_cast<std::int64_t>(load_le<std::uint64_t>(p)); });
      break;
    default: break;
  }
}

// binary32 (Bits = u32) or binary64 (u64) values, one every `stride` bytes:
// complex types are read as their real parts.
template <typename Bits, typename T>
void decode_ieee_strided(const std::byte* p, std::size_t stride, std::span<T> dst) {
  using Float = std::conditional_t<sizeof(Bits) == 4, float, double>;
  for (std::size_t i = 0; i < dst.size(); ++i)
    dst[i] = static_cast<T>(std::bit_cast<Float>(load_le<Bits>(p + stride * i)));
}

// Decodes IEEE types; complex types give their real part (the first half of each element).
template <typename T>
bool decode_ieee(DType dtype, std::span<const std::byte> src, std::span<T> dst) {
  const std::byte* p = src.data();
  switch (dtype) {
    case DType::kF16: {
      const auto& table = f16_table();
      for (std::size_t i = 0; i < dst.size(); ++i) dst[i] = static_cast<T>(table[load_le<std::uint16_t>(p + 2 * i)]);
      return true;
    }
    case DType::kBF16:
      convert_batched<std::uint16_t, float>(
          dst.size(), [p](std::size_t i) { return load_le<std::uint16_t>(p + 2 * i); },
          [](std::uint16_t bits) { return f32_from_bf16(bits); },
          [dst](std::size_t i, float value) { dst[i] = static_cast<T>(value); });
      return true;
    case DType::kF32: decode_ieee_strided<std::uint32_t>(p, 4, dst); return true;
    case DType::kC64: decode_ieee_strided<std::uint32_t>(p, 8, dst); return true;
    case DType::kF64: decode_ieee_strided<std::uint64_t>(p, 8, dst); return true;
    case DType::kC128: decode_ieee_strided<std::uint64_t>(p, 16, dst); return true;
    default: return false;
  }
}

template <typename T>
Status decode_blocks(const DTypeInfo& info, std::span<const std::byte> src, std::span<T> dst) {
  const detail::quant::BlockDecoder decode_block = detail::quant::block_decoder(info.id);
  if (decode_block == nullptr) {
    return Status::not_supported("decoding " + std::string(info.name) + " values is not supported");
  }
  std::array<float, 256> block{};  // for double output: ggml blocks decode in float
  for (std::size_t first = 0, offset = 0; first < dst.size();
       first += info.block_elements, offset += info.block_bytes) {
    if constexpr (std::is_same_v<T, float>) {
      decode_block(src.data() + offset, dst.data() + first);
    } else {
      decode_block(src.data() + offset, block.data());
      for (std::size_t j = 0; j < info.block_elements; ++j) dst[first + j] = static_cast<T>(block[j]);
    }
  }
  return {};
}

// Checks that `bytes` holds exactly `count` elements of `dtype` (whole blocks
// for ggml block types, a partial last block for packed sub-byte types).
Result<const DTypeInfo*> check_extent(DType dtype, std::uint64_t count, std::uint64_t bytes, std::string_view verb) {
  const DTypeInfo* info = find_dtype(static_cast<std::uint16_t>(dtype));
  if (info == nullptr) {
    return Status::invalid_argument("unknown dtype id " + std::to_string(static_cast<unsigned>(dtype)));
  }
  const std::uint64_t shape[] = {count};
  auto expected = storage_size(dtype, shape);
  if (!expected.ok()) {
    return Status::invalid_argument(std::string(verb) + " " + std::to_string(count) + " " + std::string(info->name) +
                                    " elements: " + expected.status().message());
  }
  if (*expected != bytes) {
    return Status::invalid_argument(std::string(verb) + " " + std::to_string(count) + " " + std::string(info->name) +
                                    " elements takes " + std::to_string(*expected) + " bytes, not " +
                                    std::to_string(bytes));
  }
  return info;
}

template <typename T>
Status decode(DType dtype, std::span<const std::byte> src, std::span<T> dst) {
  OWF_ASSIGN_OR_RETURN(const DTypeInfo* info, check_extent(dtype, dst.size(), src.size(), "decoding"));
  if (dst.empty()) return {};
  if (info->row_blocks) return decode_blocks(*info, src, dst);
  if (decode_ieee(dtype, src, dst)) return {};
  if (const CodeTable* table = code_table(dtype)) {
    if (info->block_elements == 1) {
      for (std::size_t i = 0; i < dst.size(); ++i) dst[i] = static_cast<T>((*table)[std::to_integer<unsigned>(src[i])]);
    } else {
      const auto bits = static_cast<unsigned>(8 * info->block_bytes / info->block_elements);
      for (std::size_t i = 0; i < dst.size(); ++i) dst[i] = static_cast<T>((*table)[packed_field(src, i, bits)]);
    }
    return {};
  }
  decode_plain_integers(dtype, src, dst);
  return {};
}

}  // namespace

bool can_decode(DType dtype) {
  const DTypeInfo* info = find_dtype(static_cast<std::uint16_t>(dtype));
  if (info == nullptr) return false;
  return !info->row_blocks || detail::quant::block_decoder(dtype) != nullptr;
}

Status decode_to_f64(DType dtype, std::span<const std::byte> src, std::span<double> dst) {
  return decode(dtype, src, dst);
}

Status decode_to_f32(DType dtype, std::span<const std::byte> src, std::span<float> dst) {
  return decode(dtype, src, dst);
}

bool can_encode(DType dtype) {
  switch (dtype) {
    case DType::kF16:
    case DType::kBF16:
    case DType::kF32:
    case DType::kF64: return true;
    default: return detail::quant::block_quantizer(dtype) != nullptr;
  }
}

Status encode_from_f32(DType dtype, std::span<const float> src, std::span<std::byte> dst) {
  if (!can_encode(dtype)) {
    return Status::not_supported("encoding " + std::string(dtype_info(dtype).name) + " values is not supported");
  }
  OWF_ASSIGN_OR_RETURN(const DTypeInfo* info, check_extent(dtype, src.size(), dst.size(), "encoding"));
  std::byte* out = dst.data();
  switch (dtype) {
    case DType::kF16:
      convert_batched<float, std::uint16_t>(
          src.size(), [src](std::size_t i) { return src[i]; }, [](float value) { return f16_from_f32(value); },
          [out](std::size_t i, std::uint16_t half) { store_le<std::uint16_t>(out + 2 * i, half); });
      break;
    case DType::kBF16:
      for (std::size_t i = 0; i < src.size(); ++i) store_le<std::uint16_t>(out + 2 * i, f32_to_bf16(src[i]));
      break;
    case DType::kF32:
      for (std::size_t i = 0; i < src.size(); ++i)
        store_le<std::uint32_t>(out + 4 * i, std::bit_cast<std::uint32_t>(src[i]));
      break;
    case DType::kF64:
      for (std::size_t i = 0; i < src.size(); ++i) {
        store_le<std::uint64_t>(out + 8 * i, std::bit_cast<std::uint64_t>(static_cast<double>(src[i])));
      }
      break;
    default: {
      // The ggml quantizers have no encoding for infinities or NaN.
      for (std::size_t i = 0; i < src.size(); ++i) {
        if (!std::isfinite(src[i])) {
          return Status::invalid_argument(std::string(info->name) + " cannot represent element " + std::to_string(i) +
                                          " (" + std::to_string(src[i]) + ")");
        }
      }
      const detail::quant::BlockQuantizer quantize = detail::quant::block_quantizer(dtype);
      for (std::size_t block = 0; block < src.size() / info->block_elements; ++block) {
        quantize(src.data() + block * info->block_elements, out + block * info->block_bytes);
      }
      break;
    }
  }
  return {};
}

bool can_convert_in_place(DType from, DType to) {
  const auto is_16bit_float = [](DType dtype) { return dtype == DType::kF16 || dtype == DType::kBF16; };
  return is_16bit_float(from) && is_16bit_float(to);
}

Status convert_in_place(DType from, DType to, std::span<std::byte> values) {
  if (!can_convert_in_place(from, to) || values.size() % 2 != 0) {
    return Status::invalid_argument("converting " + std::to_string(values.size()) + " bytes of " +
                                    std::string(dtype_info(from).name) + " in place to " +
                                    std::string(dtype_info(to).name) + " is not supported");
  }
  if (from == to) return {};
  // Every 16-bit pattern through the f32 conversions, once.
  using Table = std::array<std::uint16_t, 65536>;
  const auto table_of = [](auto convert) {
    Table table{};
    for (std::uint32_t bits = 0; bits < table.size(); ++bits) table[bits] = convert(static_cast<std::uint16_t>(bits));
    return table;
  };
  static const Table f16_from_bf16 = table_of([](std::uint16_t bits) { return f16_from_f32(f32_from_bf16(bits)); });
  static const Table bf16_from_f16 = table_of([](std::uint16_t bits) { return f32_to_bf16(f16_bits_to_f32(bits)); });
  const Table& table = from == DType::kBF16 ? f16_from_bf16 : bf16_from_f16;
  std::byte* p = values.data();
  // In batches, so that the loads and stores vectorize around the lookups (twice as fast).
  convert_batched<std::uint16_t, std::uint16_t>(
      values.size() / 2, [p](std::size_t i) { return load_le<std::uint16_t>(p + 2 * i); },
      [&table](std::uint16_t bits) { return table[bits]; },
      [p](std::size_t i, std::uint16_t bits) { store_le<std::uint16_t>(p + 2 * i, bits); });
  return {};
}

float f16_to_f32(std::uint16_t bits) { return f16_bits_to_f32(bits); }

std::uint16_t f32_to_f16(float value) { return f16_from_f32(value); }

float bf16_to_f32(std::uint16_t bits) { return f32_from_bf16(bits); }

std::uint16_t f32_to_bf16(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  if ((bits & 0x7FFFFFFF) > 0x7F800000) return static_cast<std::uint16_t>((bits >> 16) | 0x0040);  // quiet NaN
  // Overflow rounds to infinity, as IEEE does; infinity itself stays put.
  return static_cast<std::uint16_t>(shift_right_round_even(bits, 16));
}

}  // namespace owf
