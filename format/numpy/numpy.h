// NumPy arrays: a single .npy file (one tensor, named after the file stem) or a
// .npz zip archive of NAME.npy members (np.savez stores them,
// np.savez_compressed deflates them). spec/formats/numpy.md gives the mapping
// to owf; npy_header.h describes the .npy layout.
#pragma once

#include <memory>

#include "owf/format.h"

namespace owf::formats {

// The "numpy" format (extensions ".npy" and ".npz"), chosen by content: the
// .npy magic or a zip archive. open() validates every header and data size
// before returning; deflated members are inflated into memory there, once.
// Big-endian and Fortran-order arrays are converted to little-endian C order as
// they are read, piece by piece. write() makes a .npy (one-tensor models only)
// or a .npz (stored with the array data 64-byte aligned, or deflated when
// WriteOptions::compression is set); owf metadata has no place there and is dropped.
std::unique_ptr<Format> make_numpy_format();

}  // namespace owf::formats
