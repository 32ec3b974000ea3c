// ggml block decoders and reference quantizers. Each decoder reads one block
// at the byte offsets of ggml-common.h (little-endian halves through
// owf/bytes.h) and computes in float in the same order as ggml, so decoded
// values match ggml bit for bit.
#include "quant.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

#include "owf/bytes.h"
#include "owf/numeric.h"

namespace owf::quant {
namespace {

constexpr int kSuperBlock = 256;  // QK_K

// Single bytes of a block; multi-byte fields go through load_le.
const std::uint8_t* bytes_at(const std::byte* block, std::size_t offset) {
  return reinterpret_cast<const std::uint8_t*>(block + offset);
}

const std::int8_t* signed_bytes_at(const std::byte* block, std::size_t offset) {
  return reinterpret_cast<const std::int8_t*>(block + offset);
}

float half_at(const std::byte* block, std::size_t offset) { return f16_to_f32(load_le<std::uint16_t>(block + offset)); }

// Non-linear 4-bit levels of iq4_nl and iq4_xs (kvalues_iq4nl).
constexpr std::array<std::int8_t, 16> kIq4Levels = {-127, -104, -83, -65, -49, -35, -22, -10,
                                                    1,    13,   25,  38,  53,  69,  89,  113};
// MXFP4 levels: twice the E2M1 values, so the scale is halved (kvalues_mxfp4).
constexpr std::array<std::int8_t, 16> kMxfp4Levels = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// The layout of q4_0, q4_1, iq4_nl, mxfp4 and each 32-element group of
// iq4_xs: 16 bytes, low nibbles are elements 0..15, high nibbles 16..31.
template <typename Value>
void decode_split_nibbles(const std::uint8_t* qs, float* out, Value value) {
  for (int j = 0; j < 16; ++j) {
    out[j] = value(qs[j] & 0x0F);
    out[j + 16] = value(qs[j] >> 4);
  }
}

void decode_q4_0(const std::byte* block, float* out) {
  const float d = half_at(block, 0);
  decode_split_nibbles(bytes_at(block, 2), out, [d](int q) { return static_cast<float>(q - 8) * d; });
}

void decode_q4_1(const std::byte* block, float* out) {
  const float d = half_at(block, 0);
  const float m = half_at(block, 2);
  decode_split_nibbles(bytes_at(block, 4), out, [d, m](int q) { return static_cast<float>(q) * d + m; });
}

// q5_0 / q5_1: a q4 block plus a 32-bit word whose bit j is bit 4 of element j.
template <bool kWithMin>
void decode_q5(const std::byte* block, float* out) {
  const float d = half_at(block, 0);
  const float m = kWithMin ? half_at(block, 2) : 0.0f;
  const std::size_t high_offset = kWithMin ? 4 : 2;
  const std::uint32_t high_bits = load_le<std::uint32_t>(block + high_offset);
  const std::uint8_t* qs = bytes_at(block, high_offset + 4);
  for (int j = 0; j < 16; ++j) {
    const int low = (qs[j] & 0x0F) | static_cast<int>(((high_bits >> j) & 1) << 4);
    const int high = (qs[j] >> 4) | static_cast<int>(((high_bits >> (j + 16)) & 1) << 4);
    if constexpr (kWithMin) {
      out[j] = static_cast<float>(low) * d + m;
      out[j + 16] = static_cast<float>(high) * d + m;
    } else {
      out[j] = static_cast<float>(low - 16) * d;
      out[j + 16] = static_cast<float>(high - 16) * d;
    }
  }
}

// q8_0 (d, 32 × i8) and q8_1 (d, s = d × sum, 32 × i8): the sum is not needed to decode.
template <std::size_t kQuantsOffset>
void decode_q8(const std::byte* block, float* out) {
  const float d = half_at(block, 0);
  const std::int8_t* qs = signed_bytes_at(block, kQuantsOffset);
  for (int j = 0; j < 32; ++j) out[j] = static_cast<float>(qs[j]) * d;
}

// q2_k: scales[16] (low nibble scale, high nibble min), qs[64], d, dmin. Each
// 128 elements use 32 bytes of qs: element l of the 2-bit plane `shift`.
void decode_q2_k(const std::byte* block, float* out) {
  const std::uint8_t* scales = bytes_at(block, 0);
  const std::uint8_t* qs = bytes_at(block, 16);
  const float d = half_at(block, 80);
  const float min = half_at(block, 82);
  int scale_index = 0;
  for (int half = 0; half < 2; ++half, qs += 32) {
    for (int shift = 0; shift < 8; shift += 2) {
      for (int group = 0; group < 2; ++group) {
        const std::uint8_t sc = scales[scale_index++];
        const float dl = d * static_cast<float>(sc & 0x0F);
        const float ml = min * static_cast<float>(sc >> 4);
        for (int l = 0; l < 16; ++l) {
          *out++ = dl * static_cast<float>((qs[16 * group + l] >> shift) & 3) - ml;
        }
      }
    }
  }
}

// The 6-bit scale i of q3_k: low 4 bits in scales[0..7] (low nibbles for
// i < 8, high nibbles after), high 2 bits in scales[8..11].
int q3_k_scale(const std::uint8_t* scales, int i) {
  const int low = i < 8 ? scales[i] & 0x0F : scales[i - 8] >> 4;
  const int high = (scales[8 + i % 4] >> (2 * (i / 4))) & 3;
  return low | (high << 4);
}

// q3_k: hmask[32], qs[64], scales[12], d. Element value is the 2-bit quant
// minus 4 unless its bit in hmask is set, times d × (scale − 32).
void decode_q3_k(const std::byte* block, float* out) {
  const std::uint8_t* hmask = bytes_at(block, 0);
  const std::uint8_t* qs = bytes_at(block, 32);
  const std::uint8_t* scales = bytes_at(block, 96);
  const float d_all = half_at(block, 108);
  int scale_index = 0;
  std::uint8_t mask = 1;
  for (int half = 0; half < 2; ++half, qs += 32) {
    for (int shift = 0; shift < 8; shift += 2, mask = static_cast<std::uint8_t>(mask << 1)) {
      for (int group = 0; group < 2; ++group) {
        const float dl = d_all * static_cast<float>(q3_k_scale(scales, scale_index++) - 32);
        for (int l = 16 * group; l < 16 * group + 16; ++l) {
          const int q = ((qs[l] >> shift) & 3) - ((hmask[l] & mask) ? 0 : 4);
          *out++ = dl * static_cast<float>(q);
        }
      }
    }
  }
}

// Scale and min j (0..7) of q4_k / q5_k, 6 bits each, packed in 12 bytes
// (ggml's get_scale_min_k4).
void k4_scale_min(const std::uint8_t* q, int j, int& scale, int& min) {
  if (j < 4) {
    scale = q[j] & 63;
    min = q[j + 4] & 63;
  } else {
    scale = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
    min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// q4_k: d, dmin, scales[12], qs[128]. q5_k adds qh[32] before qs: bit 2g of
// qh[l] is bit 4 of element l of group 2g, bit 2g+1 that of group 2g+1.
template <bool kFifthBit>
void decode_k4(const std::byte* block, float* out) {
  const float d = half_at(block, 0);
  const float min = half_at(block, 2);
  const std::uint8_t* scales = bytes_at(block, 4);
  const std::uint8_t* qh = bytes_at(block, 16);
  const std::uint8_t* qs = bytes_at(block, kFifthBit ? 48 : 16);
  for (int pair = 0; pair < 4; ++pair, qs += 32) {
    int sc = 0;
    int m = 0;
    k4_scale_min(scales, 2 * pair, sc, m);
    const float d1 = d * static_cast<float>(sc);
    const float m1 = min * static_cast<float>(m);
    k4_scale_min(scales, 2 * pair + 1, sc, m);
    const float d2 = d * static_cast<float>(sc);
    const float m2 = min * static_cast<float>(m);
    for (int l = 0; l < 32; ++l) {
      const int high = (kFifthBit && ((qh[l] >> (2 * pair)) & 1)) ? 16 : 0;
      *out++ = d1 * static_cast<float>((qs[l] & 0x0F) + high) - m1;
    }
    for (int l = 0; l < 32; ++l) {
      const int high = (kFifthBit && ((qh[l] >> (2 * pair + 1)) & 1)) ? 16 : 0;
      *out++ = d2 * static_cast<float>((qs[l] >> 4) + high) - m2;
    }
  }
}

// q6_k: ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16] (i8), d.
// Each 128 elements use 64 bytes of ql and 32 of qh.
void decode_q6_k(const std::byte* block, float* out) {
  const std::uint8_t* ql = bytes_at(block, 0);
  const std::uint8_t* qh = bytes_at(block, 128);
  const std::int8_t* sc = signed_bytes_at(block, 192);
  const float d = half_at(block, 208);
  for (int half = 0; half < 2; ++half, out += 128, ql += 64, qh += 32, sc += 8) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      out[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
      out[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      out[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      out[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
  }
}

// q8_k: d as f32, 256 × i8, then 16 i16 sums that decoding does not need.
void decode_q8_k(const std::byte* block, float* out) {
  const float d = std::bit_cast<float>(load_le<std::uint32_t>(block));
  const std::int8_t* qs = signed_bytes_at(block, 4);
  for (int j = 0; j < kSuperBlock; ++j) out[j] = d * static_cast<float>(qs[j]);
}

void decode_iq4_nl(const std::byte* block, float* out) {
  const float d = half_at(block, 0);
  decode_split_nibbles(bytes_at(block, 2), out, [d](int q) { return d * static_cast<float>(kIq4Levels[q]); });
}

// iq4_xs: d, scales_h (u16: 2 high bits per group), scales_l[4] (a nibble
// per group), then 8 groups of 32 elements laid out as iq4_nl.
void decode_iq4_xs(const std::byte* block, float* out) {
  const float d = half_at(block, 0);
  const std::uint16_t scales_high = load_le<std::uint16_t>(block + 2);
  const std::uint8_t* scales_low = bytes_at(block, 4);
  const std::uint8_t* qs = bytes_at(block, 8);
  for (int group = 0; group < 8; ++group, qs += 16, out += 32) {
    const int scale = ((scales_low[group / 2] >> (4 * (group % 2))) & 0x0F) | (((scales_high >> (2 * group)) & 3) << 4);
    const float dl = d * static_cast<float>(scale - 32);
    decode_split_nibbles(qs, out, [dl](int q) { return dl * static_cast<float>(kIq4Levels[q]); });
  }
}

// mxfp4: an E8M0 exponent e, then 16 bytes of E2M1 nibbles. The levels are
// doubled, so the scale is 2^(e − 128) (ggml's GGML_E8M0_TO_FP32_HALF).
void decode_mxfp4(const std::byte* block, float* out) {
  const int e = bytes_at(block, 0)[0];
  const float d = std::ldexp(1.0f, e - 128);
  decode_split_nibbles(bytes_at(block, 1), out, [d](int q) { return static_cast<float>(kMxfp4Levels[q]) * d; });
}

// One ternary digit of a tq1_0 byte: the byte holds ceil(v × 256 / 243) for
// a base-3 number v whose first digit is the most significant; multiplying
// by 3^n (mod 256) brings digit n to the top, where (q × 3) >> 8 reads it.
float ternary_digit(std::uint8_t packed, int n, float d) {
  static constexpr std::array<std::uint8_t, 5> kPowersOf3 = {1, 3, 9, 27, 81};
  const auto q = static_cast<std::uint8_t>(packed * kPowersOf3[n]);
  return static_cast<float>(((q * 3) >> 8) - 1) * d;
}

// tq1_0: qs[48] (5 digits per byte: 32 bytes × 5 then 16 bytes × 5), qh[4]
// (4 digits per byte), d. Digits run over bytes first, then over n.
void decode_tq1_0(const std::byte* block, float* out) {
  const std::uint8_t* qs = bytes_at(block, 0);
  const std::uint8_t* qh = bytes_at(block, 48);
  const float d = half_at(block, 52);
  for (int n = 0; n < 5; ++n) {
    for (int m = 0; m < 32; ++m) *out++ = ternary_digit(qs[m], n, d);
  }
  for (int n = 0; n < 5; ++n) {
    for (int m = 32; m < 48; ++m) *out++ = ternary_digit(qs[m], n, d);
  }
  for (int n = 0; n < 4; ++n) {
    for (int j = 0; j < 4; ++j) *out++ = ternary_digit(qh[j], n, d);
  }
}

// tq2_0: qs[64], d. Per 32 bytes, 2-bit plane l of byte m is element 32l + m; value q − 1.
void decode_tq2_0(const std::byte* block, float* out) {
  const std::uint8_t* qs = bytes_at(block, 0);
  const float d = half_at(block, 64);
  for (int half = 0; half < 2; ++half, qs += 32) {
    for (int shift = 0; shift < 8; shift += 2) {
      for (int m = 0; m < 32; ++m) *out++ = static_cast<float>(((qs[m] >> shift) & 3) - 1) * d;
    }
  }
}

}  // namespace

BlockDecoder block_decoder(DType dtype) {
  switch (dtype) {
    case DType::kQ4_0: return decode_q4_0;
    case DType::kQ4_1: return decode_q4_1;
    case DType::kQ5_0: return decode_q5<false>;
    case DType::kQ5_1: return decode_q5<true>;
    case DType::kQ8_0: return decode_q8<2>;
    case DType::kQ8_1: return decode_q8<4>;
    case DType::kQ2_K: return decode_q2_k;
    case DType::kQ3_K: return decode_q3_k;
    case DType::kQ4_K: return decode_k4<false>;
    case DType::kQ5_K: return decode_k4<true>;
    case DType::kQ6_K: return decode_q6_k;
    case DType::kQ8_K: return decode_q8_k;
    case DType::kIQ4_NL: return decode_iq4_nl;
    case DType::kIQ4_XS: return decode_iq4_xs;
    case DType::kTQ1_0: return decode_tq1_0;
    case DType::kTQ2_0: return decode_tq2_0;
    case DType::kMXFP4: return decode_mxfp4;
    default: return nullptr;
  }
}

// d = amax / 127 (stored as f16); each quant is round-half-away(x / d),
// computed with the unrounded reciprocal as ggml does.
void quantize_q8_0_block(const float* in, std::byte* out) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(in[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  store_le<std::uint16_t>(out, f32_to_f16(d));
  for (int j = 0; j < 32; ++j) {
    const auto q = static_cast<std::int8_t>(std::round(in[j] * id));
    out[2 + j] = static_cast<std::byte>(q);
  }
}

// d = −max / 8 where max is the first element of largest magnitude (sign
// kept, so it maps to quant 0); quants are trunc(x / d + 8.5) capped at 15,
// element j in the low nibble of byte j, element j + 16 in its high nibble.
void quantize_q4_0_block(const float* in, std::byte* out) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int j = 0; j < 32; ++j) {
    if (amax < std::fabs(in[j])) {
      amax = std::fabs(in[j]);
      max = in[j];
    }
  }
  const float d = max / -8.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  store_le<std::uint16_t>(out, f32_to_f16(d));
  const auto quant = [id](float x) { return std::min(15, static_cast<int>(x * id + 8.5f)); };
  for (int j = 0; j < 16; ++j) {
    out[2 + j] = static_cast<std::byte>(quant(in[j]) | (quant(in[j + 16]) << 4));
  }
}

}  // namespace owf::quant
