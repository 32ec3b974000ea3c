// Fuzz target for the NumPy reader: .npy headers (the dict literal parser),
// and .npz archives of stored and deflated members; reads go through the
// byte-swapping and Fortran-order paths.
#include "fuzz_format.h"
#include "numpy/numpy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto format = owf::formats::make_numpy_format();
  owf::fuzz::open_and_read(*format, data, size);
  return 0;
}
