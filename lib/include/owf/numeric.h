// Element values: decoding any dtype to floating point (for statistics and
// diff), casting between float types with round-to-nearest-even, and the ggml
// reference quantizers. All functions work on whole blocks: `count` elements
// must be a multiple of the dtype's block_elements except at a tensor's end
// for packed sub-byte types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "owf/dtype.h"
#include "owf/export.h"
#include "owf/model.h"
#include "owf/status.h"

namespace OWF_EXPORT owf {

// Whether decode_to_f64 handles this dtype (all but some ggml block types).
bool can_decode(DType dtype);

// Decodes dst.size() elements from src into doubles (complex: real part;
// bool/integers: exact where representable). src must hold exactly the bytes
// of those elements. kNotSupported for dtypes that cannot be decoded.
Status decode_to_f64(DType dtype, std::span<const std::byte> src, std::span<double> dst);
Status decode_to_f32(DType dtype, std::span<const std::byte> src, std::span<float> dst);

// Whether encode_from_f32 can produce this dtype: f16, bf16, f32, f64, q8_0,
// q4_0, q4_k, q5_k, q6_k.
bool can_encode(DType dtype);

// Encodes src.size() floats as `dtype` into dst (exactly the storage size of
// that many elements): float targets round to nearest even; the ggml block
// types use ggml's reference quantizers (quantize_row_*_ref).
Status encode_from_f32(DType dtype, std::span<const float> src, std::span<std::byte> dst);

// Whether convert_in_place handles `from` -> `to`: between the 16-bit float types, f16 and bf16.
bool can_convert_in_place(DType from, DType to);

// Converts values.size() / 2 elements of `from` in place into `to` (both f16 or bf16): the bytes
// decode_to_f32 then encode_from_f32 would give, one table lookup each. kInvalidArgument for other
// dtypes or an odd number of bytes.
Status convert_in_place(DType from, DType to, std::span<std::byte> values);

// Decodes every element of tensor `index` of `model` into dst (exactly its
// element count), reading a compressed tensor in pieces of whole blocks.
// kNotSupported for dtypes that cannot be decoded.
Status read_tensor_f32(const Model& model, std::size_t index, std::span<float> dst);

float f16_to_f32(std::uint16_t bits);
std::uint16_t f32_to_f16(float value);  // round to nearest even
float bf16_to_f32(std::uint16_t bits);
std::uint16_t f32_to_bf16(float value);  // round to nearest even; NaN stays NaN

}  // namespace owf
