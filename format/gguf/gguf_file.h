// The records of a GGUF file (see gguf.h for the layout), each with a checked decoder that walks
// untrusted bytes through a ByteCursor and an encoder that appends the exact bytes back, so that
// decoding then encoding a record reproduces it byte for byte.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "owf/dtype.h"
#include "owf/internal/bytes.h"
#include "owf/status.h"

namespace owf::formats::gguf {

inline constexpr std::array<char, 4> kMagic = {'G', 'G', 'U', 'F'};
inline constexpr std::uint32_t kWriteVersion = 3;       // the version this adapter writes
inline constexpr std::uint32_t kDefaultAlignment = 32;  // when general.alignment is absent
inline constexpr std::uint32_t kMaxDims = 4;            // ggml's GGML_MAX_DIMS
inline constexpr std::uint64_t kMaxDimension = std::numeric_limits<std::int64_t>::max();  // ne[] are int64_t
inline constexpr std::size_t kMaxTensorNameBytes = 63;  // ggml's GGML_MAX_NAME (64) less the NUL
inline constexpr std::size_t kMaxKeyBytes = 65535;
// Array elements a file may hold in all its key-values: 20 times the largest vocabularies
// (tokens, scores, types and merges of ~260k-token models), bounding the memory metadata takes.
inline constexpr std::uint64_t kMaxValueElements = 1u << 24;
inline constexpr std::string_view kAlignmentKey = "general.alignment";
inline constexpr std::size_t kFixedHeaderBytes = 24;  // magic, version, tensor_count, kv_count

// The type ids of GGUF metadata values.
enum class ValueType : std::uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

// nullopt for an id GGUF does not define.
std::optional<ValueType> value_type_from_id(std::uint32_t id);
// Names as owf metadata spells them: "u8", "i8", ..., "f32", "bool", "string", "array".
std::string_view value_type_name(ValueType type);
std::optional<ValueType> value_type_from_name(std::string_view name);
// Bytes of one value of a fixed-size type; 0 for string and array.
std::size_t value_size(ValueType type);

// One metadata key-value pair. A scalar is kept as an array of one element: strings in
// `strings`; every other type in `numbers`, as its little-endian bit pattern zero-extended to 64
// bits (so every float, NaN payloads included, survives exactly).
struct KeyValue {
  std::string key;
  ValueType type = ValueType::kU8;
  ValueType element_type = ValueType::kU8;  // arrays only
  std::vector<std::uint64_t> numbers;
  std::vector<std::string> strings;
  std::uint64_t file_offset = 0;  // where the pair starts in its file; 0 when not read from one

  // The type of each element: `type`, or `element_type` for arrays.
  ValueType value_type() const { return type == ValueType::kArray ? element_type : type; }
  std::size_t size() const { return value_type() == ValueType::kString ? strings.size() : numbers.size(); }
};

KeyValue string_key_value(std::string key, std::string text);
KeyValue u32_key_value(std::string key, std::uint32_t value);

// One tensor info record.
struct TensorRecord {
  std::string name;
  std::vector<std::uint64_t> dims;  // ne[], innermost first
  std::uint32_t ggml_type = 0;
  std::uint64_t offset = 0;       // relative to the start of the data section
  std::uint64_t file_offset = 0;  // where the record starts in the file it was read from
};

// Decoders: check every length and count against the bytes that remain before allocating, and
// fail with a message naming the key or tensor and the absolute byte offset. Nested arrays and
// arrays of more than `max_elements` are refused (kNotSupported), as are bool values other than
// 0 and 1 (kCorruption).
Result<KeyValue> read_key_value(ByteCursor& cursor, std::uint64_t max_elements);
// Checks n_dims <= kMaxDims and each ne[] <= INT64_MAX (ggml's int64_t); the ggml type and the
// sizes are left to the caller.
Result<TensorRecord> read_tensor_record(ByteCursor& cursor);

// Encoders: append the exact GGUF bytes of the record.
void append_string(std::vector<std::byte>& out, std::string_view text);
void append_key_value(std::vector<std::byte>& out, const KeyValue& kv);
void append_tensor_record(std::vector<std::byte>& out, const TensorRecord& record);

// ggml tensor types <-> owf dtypes: F32, F16, BF16, F64, I8, I16, I32, I64 are owf's plain types,
// the block types are owf dtype 256 + the ggml type. nullopt where there is no counterpart.
std::optional<DType> dtype_from_ggml(std::uint32_t ggml_type);
std::optional<std::uint32_t> ggml_from_dtype(DType dtype);

// `bytes` as lower-case hex digits, `separator` between bytes ("47 47 55 46" with " ").
std::string to_hex(std::string_view bytes, std::string_view separator = {});

}  // namespace owf::formats::gguf
