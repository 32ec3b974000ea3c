// The element types a tensor can have. The numeric ids are part of the file
// format (spec/owf-v1.md, "Data types"); everything else here derives from the
// one table in dtype.cpp.
//
// Every dtype is described as blocks: `block_elements` elements occupy
// `block_bytes` bytes. Plain types have blocks of one element; packed sub-byte
// types (int4, f4_e2m1, f6_*) have small blocks that may be partially filled at
// the end of a tensor; ggml block types (q4_0, q4_k, ...) require the innermost
// dimension to be a multiple of the block.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "owf/export.h"
#include "owf/status.h"

namespace OWF_EXPORT owf {

enum class DType : std::uint16_t {
  kBool = 1,
  kU8 = 2,
  kU16 = 3,
  kU32 = 4,
  kU64 = 5,
  kI8 = 6,
  kI16 = 7,
  kI32 = 8,
  kI64 = 9,
  kF16 = 10,
  kBF16 = 11,
  kF32 = 12,
  kF64 = 13,
  kC64 = 14,   // complex: two f32, real first
  kC128 = 15,  // complex: two f64, real first
  kF8E4M3FN = 16,
  kF8E5M2 = 17,
  kF8E4M3FNUZ = 18,
  kF8E5M2FNUZ = 19,
  kF8E8M0 = 20,
  kF6E2M3 = 21,
  kF6E3M2 = 22,
  kF4E2M1 = 23,
  kI4 = 24,
  kU4 = 25,
  // ggml block types: 256 + the ggml type number, so GGUF files pass through.
  kQ4_0 = 258,
  kQ4_1 = 259,
  kQ5_0 = 262,
  kQ5_1 = 263,
  kQ8_0 = 264,
  kQ8_1 = 265,
  kQ2_K = 266,
  kQ3_K = 267,
  kQ4_K = 268,
  kQ5_K = 269,
  kQ6_K = 270,
  kQ8_K = 271,
  kIQ2_XXS = 272,
  kIQ2_XS = 273,
  kIQ3_XXS = 274,
  kIQ1_S = 275,
  kIQ4_NL = 276,
  kIQ3_S = 277,
  kIQ2_S = 278,
  kIQ4_XS = 279,
  kIQ1_M = 285,
  kTQ1_0 = 290,
  kTQ2_0 = 291,
  kMXFP4 = 295,
  kNVFP4 = 296,
  kQ1_0 = 297,
  kQ2_0 = 298,
};

enum class DTypeKind : std::uint8_t { kBool, kUnsigned, kSigned, kFloat, kComplex, kQuantized };

struct DTypeInfo {
  DType id;
  std::string_view name;  // lower case, as in the spec: "f32", "q4_k"
  DTypeKind kind;
  std::uint32_t block_elements;  // elements per block
  std::uint32_t block_bytes;     // bytes per block
  bool row_blocks;               // ggml block type: innermost dim % block_elements == 0

  // Bytes per element for plain (one-element-block) types, else 0.
  std::uint32_t element_bytes() const { return block_elements == 1 ? block_bytes : 0; }
};

// nullptr for an id that is not in the table: readers must refuse such files.
const DTypeInfo* find_dtype(std::uint16_t id);
const DTypeInfo& dtype_info(DType dtype);
std::optional<DType> dtype_from_name(std::string_view name);
std::span<const DTypeInfo> all_dtypes();

// Product of `shape`, failing when the product of its nonzero dimensions
// overflows 64 bits (spec §5), even if another dimension is 0.
Result<std::uint64_t> element_count(std::span<const std::uint64_t> shape);

// Bytes that a tensor of this dtype and shape occupies, decoded: checked for
// overflow and, for ggml block types, for rank >= 1 and whole blocks per row.
Result<std::uint64_t> storage_size(DType dtype, std::span<const std::uint64_t> shape);

}  // namespace owf
