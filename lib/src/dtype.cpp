// The one dtype table (spec/owf-v1.md §5). Block sizes of the ggml types are
// those of ggml-common.h (checked against its static_asserts).
#include "owf/dtype.h"

#include <array>
#include <string>

#include "owf/internal/checked.h"
#include "owf/internal/strings.h"

namespace owf {
namespace {

using detail::shape_text;
using K = DTypeKind;

constexpr std::array kDTypes = {
    DTypeInfo{DType::kBool, "bool", K::kBool, 1, 1, false},
    DTypeInfo{DType::kU8, "u8", K::kUnsigned, 1, 1, false},
    DTypeInfo{DType::kU16, "u16", K::kUnsigned, 1, 2, false},
    DTypeInfo{DType::kU32, "u32", K::kUnsigned, 1, 4, false},
    DTypeInfo{DType::kU64, "u64", K::kUnsigned, 1, 8, false},
    DTypeInfo{DType::kI8, "i8", K::kSigned, 1, 1, false},
    DTypeInfo{DType::kI16, "i16", K::kSigned, 1, 2, false},
    DTypeInfo{DType::kI32, "i32", K::kSigned, 1, 4, false},
    DTypeInfo{DType::kI64, "i64", K::kSigned, 1, 8, false},
    DTypeInfo{DType::kF16, "f16", K::kFloat, 1, 2, false},
    DTypeInfo{DType::kBF16, "bf16", K::kFloat, 1, 2, false},
    DTypeInfo{DType::kF32, "f32", K::kFloat, 1, 4, false},
    DTypeInfo{DType::kF64, "f64", K::kFloat, 1, 8, false},
    DTypeInfo{DType::kC64, "c64", K::kComplex, 1, 8, false},
    DTypeInfo{DType::kC128, "c128", K::kComplex, 1, 16, false},
    DTypeInfo{DType::kF8E4M3FN, "f8_e4m3fn", K::kFloat, 1, 1, false},
    DTypeInfo{DType::kF8E5M2, "f8_e5m2", K::kFloat, 1, 1, false},
    DTypeInfo{DType::kF8E4M3FNUZ, "f8_e4m3fnuz", K::kFloat, 1, 1, false},
    DTypeInfo{DType::kF8E5M2FNUZ, "f8_e5m2fnuz", K::kFloat, 1, 1, false},
    DTypeInfo{DType::kF8E8M0, "f8_e8m0", K::kFloat, 1, 1, false},
    DTypeInfo{DType::kF6E2M3, "f6_e2m3", K::kFloat, 4, 3, false},
    DTypeInfo{DType::kF6E3M2, "f6_e3m2", K::kFloat, 4, 3, false},
    DTypeInfo{DType::kF4E2M1, "f4_e2m1", K::kFloat, 2, 1, false},
    DTypeInfo{DType::kI4, "int4", K::kSigned, 2, 1, false},
    DTypeInfo{DType::kU4, "uint4", K::kUnsigned, 2, 1, false},
    DTypeInfo{DType::kQ4_0, "q4_0", K::kQuantized, 32, 18, true},
    DTypeInfo{DType::kQ4_1, "q4_1", K::kQuantized, 32, 20, true},
    DTypeInfo{DType::kQ5_0, "q5_0", K::kQuantized, 32, 22, true},
    DTypeInfo{DType::kQ5_1, "q5_1", K::kQuantized, 32, 24, true},
    DTypeInfo{DType::kQ8_0, "q8_0", K::kQuantized, 32, 34, true},
    DTypeInfo{DType::kQ8_1, "q8_1", K::kQuantized, 32, 36, true},
    DTypeInfo{DType::kQ2_K, "q2_k", K::kQuantized, 256, 84, true},
    DTypeInfo{DType::kQ3_K, "q3_k", K::kQuantized, 256, 110, true},
    DTypeInfo{DType::kQ4_K, "q4_k", K::kQuantized, 256, 144, true},
    DTypeInfo{DType::kQ5_K, "q5_k", K::kQuantized, 256, 176, true},
    DTypeInfo{DType::kQ6_K, "q6_k", K::kQuantized, 256, 210, true},
    DTypeInfo{DType::kQ8_K, "q8_k", K::kQuantized, 256, 292, true},
    DTypeInfo{DType::kIQ2_XXS, "iq2_xxs", K::kQuantized, 256, 66, true},
    DTypeInfo{DType::kIQ2_XS, "iq2_xs", K::kQuantized, 256, 74, true},
    DTypeInfo{DType::kIQ3_XXS, "iq3_xxs", K::kQuantized, 256, 98, true},
    DTypeInfo{DType::kIQ1_S, "iq1_s", K::kQuantized, 256, 50, true},
    DTypeInfo{DType::kIQ4_NL, "iq4_nl", K::kQuantized, 32, 18, true},
    DTypeInfo{DType::kIQ3_S, "iq3_s", K::kQuantized, 256, 110, true},
    DTypeInfo{DType::kIQ2_S, "iq2_s", K::kQuantized, 256, 82, true},
    DTypeInfo{DType::kIQ4_XS, "iq4_xs", K::kQuantized, 256, 136, true},
    DTypeInfo{DType::kIQ1_M, "iq1_m", K::kQuantized, 256, 56, true},
    DTypeInfo{DType::kTQ1_0, "tq1_0", K::kQuantized, 256, 54, true},
    DTypeInfo{DType::kTQ2_0, "tq2_0", K::kQuantized, 256, 66, true},
    DTypeInfo{DType::kMXFP4, "mxfp4", K::kQuantized, 32, 17, true},
    DTypeInfo{DType::kNVFP4, "nvfp4", K::kQuantized, 64, 36, true},
    DTypeInfo{DType::kQ1_0, "q1_0", K::kQuantized, 128, 18, true},
    DTypeInfo{DType::kQ2_0, "q2_0", K::kQuantized, 64, 18, true},
};

}  // namespace

const DTypeInfo* find_dtype(std::uint16_t id) {
  for (const DTypeInfo& info : kDTypes) {
    if (static_cast<std::uint16_t>(info.id) == id) return &info;
  }
  return nullptr;
}

const DTypeInfo& dtype_info(DType dtype) {
  // Every enumerator is in the table; an out-of-range value cast into DType
  // is a caller's bug, answered with the first entry rather than a crash.
  const DTypeInfo* info = find_dtype(static_cast<std::uint16_t>(dtype));
  return info != nullptr ? *info : kDTypes.front();
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const DTypeInfo& info : kDTypes) {
    if (info.name == name) return info.id;
  }
  return std::nullopt;
}

std::span<const DTypeInfo> all_dtypes() { return kDTypes; }

Result<std::uint64_t> element_count(std::span<const std::uint64_t> shape) {
  // Spec §5: the product of the nonzero dimensions must fit, so that the
  // answer does not depend on where a zero dimension sits.
  std::uint64_t nonzero_product = 1;
  bool has_zero = false;
  for (const std::uint64_t dim : shape) {
    has_zero |= dim == 0;
    const auto product = checked_mul(nonzero_product, dim == 0 ? 1 : dim);
    if (!product) return Status::invalid_argument("shape " + shape_text(shape) + " has more than 2^64 elements");
    nonzero_product = *product;
  }
  return has_zero ? 0 : nonzero_product;
}

Result<std::uint64_t> storage_size(DType dtype, std::span<const std::uint64_t> shape) {
  const DTypeInfo* info = find_dtype(static_cast<std::uint16_t>(dtype));
  if (info == nullptr) {
    return Status::invalid_argument("unknown dtype id " + std::to_string(static_cast<unsigned>(dtype)));
  }
  OWF_ASSIGN_OR_RETURN(const std::uint64_t count, element_count(shape));
  // Spec §5: the bit length of a packed stream must fit in 64 bits too.
  if (info->block_elements > 1 && !info->row_blocks &&
      !checked_mul(count, 8u * info->block_bytes / info->block_elements)) {
    return Status::invalid_argument(std::string(info->name) + " shape " + shape_text(shape) +
                                    " needs more than 2^64 bits");
  }
  const std::uint64_t blocks = count / info->block_elements;
  const std::uint64_t rest = count % info->block_elements;
  if (info->row_blocks) {
    if (shape.empty()) return Status::invalid_argument(std::string(info->name) + " needs rank >= 1, not a scalar");
    if (shape.back() % info->block_elements != 0) {
      return Status::invalid_argument(std::string(info->name) + " shape " + shape_text(shape) +
                                      ": innermost dimension is not a multiple of the block size " +
                                      std::to_string(info->block_elements));
    }
  }
  // Packed types may end in a partly filled block: its bytes round up. The
  // remainder is below block_elements, so rest * block_bytes cannot overflow.
  const std::uint64_t tail = (rest * info->block_bytes + info->block_elements - 1) / info->block_elements;
  const auto whole = checked_mul(blocks, info->block_bytes);
  const auto size = whole ? checked_add(*whole, tail) : std::nullopt;
  if (!size) {
    return Status::invalid_argument(std::string(info->name) + " shape " + shape_text(shape) +
                                    " needs more than 2^64 bytes");
  }
  return *size;
}

}  // namespace owf
