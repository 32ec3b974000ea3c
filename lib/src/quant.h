// ggml block types (spec/owf-v1.md §5; block layouts of ggml's ggml-common.h,
// formulas of its ggml-quants.c): decoding one block to floats exactly as
// ggml's dequantize_row_* does, and ggml's reference quantizers
// (quantize_row_*_ref) for q8_0, q4_0, q4_k, q5_k and q6_k. Internal to lib/;
// numeric.cpp is the public face.
#pragma once

#include <cstddef>

#include "owf/dtype.h"

namespace owf::detail::quant {

// Decodes one block (dtype_info(dtype).block_bytes bytes) into
// dtype_info(dtype).block_elements floats. Never fails: every bit pattern
// decodes to some value.
using BlockDecoder = void (*)(const std::byte* block, float* out);

// The decoder for a ggml block type, or nullptr for the grid-based IQ types
// (iq1_*, iq2_*, iq3_*) and for every dtype that is not a ggml block type.
BlockDecoder block_decoder(DType dtype);

// Quantizes dtype_info(dtype).block_elements finite floats into one block
// (block_bytes bytes) exactly as ggml's quantize_row_<type>_ref does.
using BlockQuantizer = void (*)(const float* in, std::byte* out);

// The quantizer for q8_0, q4_0, q4_k, q5_k and q6_k; nullptr for every other dtype.
BlockQuantizer block_quantizer(DType dtype);

}  // namespace owf::detail::quant
