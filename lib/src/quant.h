// ggml block types (spec/owf-v1.md §5; block layouts of ggml's ggml-common.h,
// formulas of its ggml-quants.c): decoding one block to floats exactly as
// ggml's dequantize_row_* does, and ggml's reference quantizers for q8_0 and
// q4_0. Internal to lib/; numeric.cpp is the public face.
#pragma once

#include <cstddef>

#include "owf/dtype.h"

namespace owf::quant {

// Decodes one block (dtype_info(dtype).block_bytes bytes) into
// dtype_info(dtype).block_elements floats. Never fails: every bit pattern
// decodes to some value.
using BlockDecoder = void (*)(const std::byte* block, float* out);

// The decoder for a ggml block type, or nullptr for the grid-based IQ types
// (iq1_*, iq2_*, iq3_*) and for every dtype that is not a ggml block type.
BlockDecoder block_decoder(DType dtype);

// One block of 32 finite floats, quantized as ggml's quantize_row_q8_0_ref
// (34 bytes out) and quantize_row_q4_0_ref (18 bytes out) do.
void quantize_q8_0_block(const float* in, std::byte* out);
void quantize_q4_0_block(const float* in, std::byte* out);

}  // namespace owf::quant
