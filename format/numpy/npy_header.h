// The .npy array header (numpy/lib/format.py), versions 1.0, 2.0 and 3.0:
//
//   offset 0   6 bytes  magic "\x93NUMPY"
//   offset 6   u8, u8   major, minor version
//   offset 8   u16 LE (1.0) or u32 LE (2.0, 3.0): HEADER_LEN
//   then       HEADER_LEN bytes: a Python dict literal, e.g.
//              {'descr': '<f4', 'fortran_order': False, 'shape': (768, 256), }
//              padded with spaces and ended by '\n' (numpy pads to 64 bytes)
//   then       the array data: shape product × itemsize bytes
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "owf/dtype.h"
#include "owf/status.h"

namespace owf::formats::numpy {

// What a header says about its array.
struct NpyArray {
  unsigned major_version = 1;  // 1, 2 or 3
  DType dtype = DType::kF32;
  bool big_endian = false;     // descr '>' with elements wider than one byte
  bool fortran_order = false;  // as written; the reader transposes
  std::vector<std::uint64_t> shape;
  std::uint64_t data_offset = 0;  // from the start of the .npy bytes
};

// The longest header dict owf reads (version 1.0's limit; numpy itself refuses
// more than 10000 bytes by default), and the most bytes of a .npy that
// parse_npy_header looks at: the 2.0/3.0 preamble and such a header.
inline constexpr std::uint64_t kMaxHeaderLength = 65535;
inline constexpr std::uint64_t kMaxHeaderBytes = 12 + kMaxHeaderLength;

// Parses the preamble and header at the start of `npy` (a whole .npy file or
// zip member). The header dict is parsed strictly: Python literal syntax, the
// three keys exactly once each in any order, a trailing comma allowed. Object
// arrays, structured and string dtypes are refused as kNotSupported. Messages
// start with `where`; offsets count from the start of `npy` plus `base_offset`.
// Does not look at the data.
Result<NpyArray> parse_npy_header(std::span<const std::byte> npy, std::uint64_t base_offset, std::string_view where);

// numpy's spelling of `dtype` ("<f4", "|b1"), or nullopt when numpy has no such dtype.
std::optional<std::string> numpy_descr(DType dtype);

// A version 1.0 header for a little-endian C-order array, padded so the data
// starts at a multiple of 64 bytes. The dtype must have a numpy_descr.
Result<std::vector<std::byte>> make_npy_header(DType dtype, std::span<const std::uint64_t> shape);

}  // namespace owf::formats::numpy
