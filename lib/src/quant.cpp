// ggml block decoders and reference quantizers. Each decoder reads one block
// at the byte offsets of ggml-common.h (little-endian halves through
// owf/internal/bytes.h) and computes in float in the same order as ggml, so decoded
// values match ggml bit for bit.
#include "quant.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

#include "owf/internal/bytes.h"
#include "owf/numeric.h"

namespace owf::detail::quant {
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

// UE4M3, the unsigned sub-block scale of nvfp4 (bits 3..6 exponent with
// bias 7, bits 0..2 mantissa; bit 7 unused), halved because the E2M1 levels
// are doubled (ggml's ggml_ue4m3_to_fp32). 0 and 0x7F (NaN in E4M3) decode as 0.
float ue4m3_half(std::uint8_t bits) {
  if (bits == 0 || bits == 0x7F) return 0.0f;
  const int exponent = (bits >> 3) & 0x0F;
  const int mantissa = bits & 0x07;
  const float value = exponent == 0 ? std::ldexp(static_cast<float>(mantissa), -9)
                                    : std::ldexp(1.0f + static_cast<float>(mantissa) / 8.0f, exponent - 7);
  return value * 0.5f;
}

// nvfp4: d[4] (a UE4M3 scale per 16 elements), then qs[32]: sub-block s is
// bytes 8s..8s+7, low nibble element j, high nibble element j + 8.
void decode_nvfp4(const std::byte* block, float* out) {
  const std::uint8_t* scales = bytes_at(block, 0);
  const std::uint8_t* qs = bytes_at(block, 4);
  for (int sub = 0; sub < 4; ++sub, qs += 8, out += 16) {
    const float d = ue4m3_half(scales[sub]);
    for (int j = 0; j < 8; ++j) {
      out[j] = static_cast<float>(kMxfp4Levels[qs[j] & 0x0F]) * d;
      out[j + 8] = static_cast<float>(kMxfp4Levels[qs[j] >> 4]) * d;
    }
  }
}

// q1_0: d, then one sign bit per element (element j is bit j % 8 of byte j / 8): +d or −d.
void decode_q1_0(const std::byte* block, float* out) {
  const float d = half_at(block, 0);
  const std::uint8_t* qs = bytes_at(block, 2);
  for (int j = 0; j < 128; ++j) out[j] = ((qs[j / 8] >> (j % 8)) & 1) != 0 ? d : -d;
}

// q2_0: d, then 2 bits per element (element j is bits 2(j % 4) of byte j / 4); value (q − 1) × d.
void decode_q2_0(const std::byte* block, float* out) {
  const float d = half_at(block, 0);
  const std::uint8_t* qs = bytes_at(block, 2);
  for (int j = 0; j < 64; ++j) out[j] = static_cast<float>(((qs[j / 4] >> (2 * (j % 4))) & 3) - 1) * d;
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

// ggml's nearest_int: round half to even (the default rounding mode).
int nearest_int(float x) { return static_cast<int>(std::nearbyint(x)); }

// d = amax / 127 (stored as f16); each quant is round-half-away(x / d),
// computed with the unrounded reciprocal as ggml does.
void quantize_q8_0(const float* in, std::byte* out) {
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
void quantize_q4_0(const float* in, std::byte* out) {
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

constexpr int kGroup = 32;  // elements per scale/min pair of q4_k and q5_k

// The iscale search of ggml's make_qkx2_quants: try iscale = (nmax + rmin +
// rdelta × step) / (max − min) for step 0..steps, fit scale and min to each
// rounding by weighted least squares (min clamped to ≤ 0), and keep the fit
// of least weighted squared error. Returns the scale; `offset` receives −min
// (≥ 0), `levels` the quants in [0, nmax].
struct AffineSearch {
  int nmax;
  float rmin;
  float rdelta;
  int steps;
};

float fit_scale_and_offset(const float* x, const float* weights, const AffineSearch& search, std::uint8_t* levels,
                           float& offset) {
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < kGroup; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
    sum_w += weights[i];
    sum_x += weights[i] * x[i];
  }
  min = std::min(min, 0.0f);
  if (max == min) {
    std::fill(levels, levels + kGroup, std::uint8_t{0});
    offset = -min;
    return 0.0f;
  }
  const auto quantize_all = [&](float iscale, std::uint8_t* out) {
    for (int i = 0; i < kGroup; ++i) {
      out[i] = static_cast<std::uint8_t>(std::clamp(nearest_int(iscale * (x[i] - min)), 0, search.nmax));
    }
  };
  const auto weighted_error = [&](const std::uint8_t* quants, float scale, float shift) {
    float error = 0.0f;
    for (int i = 0; i < kGroup; ++i) {
      const float diff = scale * static_cast<float>(quants[i]) + shift - x[i];
      error += weights[i] * diff * diff;
    }
    return error;
  };
  float scale = (max - min) / static_cast<float>(search.nmax);
  quantize_all(static_cast<float>(search.nmax) / (max - min), levels);
  float best_error = weighted_error(levels, scale, min);
  std::array<std::uint8_t, kGroup> trial{};
  for (int step = 0; step <= search.steps; ++step) {
    const float iscale =
        (search.rmin + search.rdelta * static_cast<float>(step) + static_cast<float>(search.nmax)) / (max - min);
    quantize_all(iscale, trial.data());
    float sum_l = 0.0f;
    float sum_l2 = 0.0f;
    float sum_xl = 0.0f;
    for (int i = 0; i < kGroup; ++i) {
      const auto l = static_cast<float>(trial[i]);
      sum_l += weights[i] * l;
      sum_l2 += weights[i] * l * l;
      sum_xl += weights[i] * l * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0.0f) continue;
    float trial_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float trial_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (trial_min > 0.0f) {
      trial_min = 0.0f;
      trial_scale = sum_xl / sum_l2;
    }
    const float error = weighted_error(trial.data(), trial_scale, trial_min);
    if (error < best_error) {
      std::copy(trial.begin(), trial.end(), levels);
      best_error = error;
      scale = trial_scale;
      min = trial_min;
    }
  }
  offset = -min;
  return scale;
}

// q4_k (kFifthBit false) and q5_k: each group of 32 gets a scale and an
// offset fitted with weights rms(group) + |x|; both are then stored as 6-bit
// multiples of d = max scale / 63 and dmin = max offset / 63, and every
// element is requantized against the stored values. Packing mirrors
// decode_k4: nibbles of groups 2p and 2p + 1 share 32 bytes of qs.
template <bool kFifthBit>
void quantize_k4(const float* in, std::byte* out) {
  constexpr AffineSearch kSearch = kFifthBit ? AffineSearch{31, -0.5f, 0.1f, 15} : AffineSearch{15, -1.0f, 0.1f, 20};
  constexpr int kGroups = kSuperBlock / kGroup;
  std::array<std::uint8_t, kSuperBlock> levels{};
  std::array<float, kGroups> scales{};
  std::array<float, kGroups> offsets{};
  float max_scale = 0.0f;
  float max_offset = 0.0f;
  for (int g = 0; g < kGroups; ++g) {
    const float* x = in + kGroup * g;
    float sum_x2 = 0.0f;
    for (int l = 0; l < kGroup; ++l) sum_x2 += x[l] * x[l];
    const float rms = std::sqrt(sum_x2 / kGroup);
    std::array<float, kGroup> weights{};
    for (int l = 0; l < kGroup; ++l) weights[l] = rms + std::fabs(x[l]);
    scales[g] = fit_scale_and_offset(x, weights.data(), kSearch, levels.data() + kGroup * g, offsets[g]);
    max_scale = std::max(max_scale, scales[g]);
    max_offset = std::max(max_offset, offsets[g]);
  }
  const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
  const float inv_offset = max_offset > 0.0f ? 63.0f / max_offset : 0.0f;
  auto* packed_scales = reinterpret_cast<std::uint8_t*>(out + 4);
  std::fill(packed_scales, packed_scales + 12, std::uint8_t{0});
  for (int g = 0; g < kGroups; ++g) {
    const auto ls = static_cast<std::uint8_t>(std::min(63, nearest_int(inv_scale * scales[g])));
    const auto lm = static_cast<std::uint8_t>(std::min(63, nearest_int(inv_offset * offsets[g])));
    // The inverse of k4_scale_min.
    if (g < 4) {
      packed_scales[g] = ls;
      packed_scales[g + 4] = lm;
    } else {
      packed_scales[g + 4] = static_cast<std::uint8_t>((ls & 0x0F) | ((lm & 0x0F) << 4));
      packed_scales[g - 4] |= static_cast<std::uint8_t>((ls >> 4) << 6);
      packed_scales[g] |= static_cast<std::uint8_t>((lm >> 4) << 6);
    }
  }
  store_le<std::uint16_t>(out, f32_to_f16(max_scale / 63.0f));
  store_le<std::uint16_t>(out + 2, f32_to_f16(max_offset / 63.0f));
  const float d = half_at(out, 0);
  const float dmin = half_at(out, 2);
  for (int g = 0; g < kGroups; ++g) {
    int sc = 0;
    int m = 0;
    k4_scale_min(packed_scales, g, sc, m);
    const float group_d = d * static_cast<float>(sc);
    if (group_d == 0.0f) continue;
    const float group_offset = dmin * static_cast<float>(m);
    for (int l = 0; l < kGroup; ++l) {
      const int q = nearest_int((in[kGroup * g + l] + group_offset) / group_d);
      levels[kGroup * g + l] = static_cast<std::uint8_t>(std::clamp(q, 0, kSearch.nmax));
    }
  }
  auto* qh = reinterpret_cast<std::uint8_t*>(out + 16);
  auto* qs = reinterpret_cast<std::uint8_t*>(out + (kFifthBit ? 48 : 16));
  if constexpr (kFifthBit) std::fill(qh, qh + 32, std::uint8_t{0});
  for (int pair = 0; pair < kGroups / 2; ++pair, qs += 32) {
    const std::uint8_t* low = levels.data() + 2 * kGroup * pair;
    const std::uint8_t* high = low + kGroup;
    for (int l = 0; l < kGroup; ++l) {
      qs[l] = static_cast<std::uint8_t>((low[l] & 0x0F) | ((high[l] & 0x0F) << 4));
      if constexpr (kFifthBit) {
        qh[l] |= static_cast<std::uint8_t>(((low[l] >> 4) << (2 * pair)) | ((high[l] >> 4) << (2 * pair + 1)));
      }
    }
  }
}

// ggml's make_qx_quants with weights x² (rmse_type 1) for one group of 16
// q6_k elements: quants l in [−32, 31] at iscale = −(32 + 0.1 k) / max for
// k = 0, ±1..±9 (max the element of largest magnitude, sign kept), keeping
// the rounding whose least-squares scale explains most of the weighted
// energy. Returns that scale (0 for an all-zero group) and stores the kept
// quants + 32 in `levels`.
float fit_symmetric_scale(const float* x, std::uint8_t* levels) {
  constexpr int kCount = 16;
  constexpr int kMax = 32;
  std::fill(levels, levels + kCount, std::uint8_t{0});
  float amax = 0.0f;
  float max = 0.0f;
  for (int i = 0; i < kCount; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < 1e-15f) return 0.0f;  // ggml's GROUP_MAX_EPS
  const auto level = [x](float iscale, int i) { return std::clamp(nearest_int(iscale * x[i]), -kMax, kMax - 1); };
  // Σ w·x·l and Σ w·l² for the rounding at `iscale`.
  const auto sums = [x, &level](float iscale) {
    float sum_lx = 0.0f;
    float sum_l2 = 0.0f;
    for (int i = 0; i < kCount; ++i) {
      const auto l = static_cast<float>(level(iscale, i));
      const float w = x[i] * x[i];
      sum_lx += w * x[i] * l;
      sum_l2 += w * l * l;
    }
    return std::pair{sum_lx, sum_l2};
  };
  const auto keep = [levels, &level](float iscale) {
    for (int i = 0; i < kCount; ++i) levels[i] = static_cast<std::uint8_t>(level(iscale, i) + kMax);
  };
  const float first_iscale = -static_cast<float>(kMax) / max;
  auto [sum_lx, sum_l2] = sums(first_iscale);
  keep(first_iscale);
  float scale = sum_l2 != 0.0f ? sum_lx / sum_l2 : 0.0f;
  float best = scale * sum_lx;
  for (int step = -9; step <= 9; ++step) {
    if (step == 0) continue;
    const float iscale = -(static_cast<float>(kMax) + 0.1f * static_cast<float>(step)) / max;
    const auto [trial_lx, trial_l2] = sums(iscale);
    if (trial_l2 > 0.0f && trial_lx * trial_lx > best * trial_l2) {
      keep(iscale);
      scale = trial_lx / trial_l2;
      best = scale * trial_lx;
    }
  }
  return scale;
}

// q6_k: a scale per 16 elements (fit_symmetric_scale), stored as i8
// multiples of d = −max scale / 128 (the scale of largest magnitude maps to
// −128); every element is then requantized against the stored scale to
// [−32, 31] + 32, except in groups whose stored scale is 0, which keep the
// fit's quants as ggml does. Packing mirrors decode_q6_k.
void quantize_q6_k(const float* in, std::byte* out) {
  constexpr int kGroups = kSuperBlock / 16;
  std::array<float, kGroups> scales{};
  float max_scale = 0.0f;
  float max_abs_scale = 0.0f;
  std::array<std::uint8_t, kSuperBlock> levels{};
  for (int g = 0; g < kGroups; ++g) {
    scales[g] = fit_symmetric_scale(in + 16 * g, levels.data() + 16 * g);
    if (std::fabs(scales[g]) > max_abs_scale) {
      max_abs_scale = std::fabs(scales[g]);
      max_scale = scales[g];
    }
  }
  std::fill(out, out + 210, std::byte{0});
  if (max_abs_scale < 1e-15f) return;
  const float iscale = -128.0f / max_scale;
  store_le<std::uint16_t>(out + 208, f32_to_f16(1.0f / iscale));
  auto* stored_scales = reinterpret_cast<std::int8_t*>(out + 192);
  for (int g = 0; g < kGroups; ++g) {
    stored_scales[g] = static_cast<std::int8_t>(std::min(127, nearest_int(iscale * scales[g])));
  }
  const float d = half_at(out, 208);
  for (int g = 0; g < kGroups; ++g) {
    const float group_d = d * static_cast<float>(stored_scales[g]);
    if (group_d == 0.0f) continue;
    for (int l = 0; l < 16; ++l) {
      levels[16 * g + l] = static_cast<std::uint8_t>(std::clamp(nearest_int(in[16 * g + l] / group_d), -32, 31) + 32);
    }
  }
  auto* ql = reinterpret_cast<std::uint8_t*>(out);
  auto* qh = reinterpret_cast<std::uint8_t*>(out + 128);
  for (int half = 0; half < 2; ++half, ql += 64, qh += 32) {
    const std::uint8_t* q = levels.data() + 128 * half;
    for (int l = 0; l < 32; ++l) {
      ql[l] = static_cast<std::uint8_t>((q[l] & 0x0F) | ((q[l + 64] & 0x0F) << 4));
      ql[l + 32] = static_cast<std::uint8_t>((q[l + 32] & 0x0F) | ((q[l + 96] & 0x0F) << 4));
      qh[l] = static_cast<std::uint8_t>((q[l] >> 4) | ((q[l + 32] >> 4) << 2) | ((q[l + 64] >> 4) << 4) |
                                        ((q[l + 96] >> 4) << 6));
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
    case DType::kNVFP4: return decode_nvfp4;
    case DType::kQ1_0: return decode_q1_0;
    case DType::kQ2_0: return decode_q2_0;
    default: return nullptr;
  }
}

BlockQuantizer block_quantizer(DType dtype) {
  switch (dtype) {
    case DType::kQ8_0: return quantize_q8_0;
    case DType::kQ4_0: return quantize_q4_0;
    case DType::kQ4_K: return quantize_k4<false>;
    case DType::kQ5_K: return quantize_k4<true>;
    case DType::kQ6_K: return quantize_q6_k;
    default: return nullptr;
  }
}

}  // namespace owf::detail::quant
