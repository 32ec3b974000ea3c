#include "numpy/numpy.h"

#include <algorithm>
#include <array>
#include <exception>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "numpy/npy_header.h"
#include "owf/format.h"
#include "owf/internal/bytes.h"
#include "owf/internal/checked.h"
#include "owf/internal/writing.h"
#include "owf/internal/zip.h"
#include "owf/io.h"
#include "owf/source.h"
#include "owf/text.h"

namespace owf::formats {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kNpyMagic = "\x93NUMPY";
constexpr std::string_view kZipMagic = "PK";
constexpr std::string_view kLocalHeaderMagic = "PK\x03\x04";
constexpr std::string_view kMemberSuffix = ".npy";
// numpy aligns array data to 64 bytes; stored members keep that alignment in the archive.
constexpr std::uint32_t kMemberAlignment = 64;

// Where one array's bytes are and what read() must do to them.
struct Layout {
  std::span<const std::byte> bytes;          // the stored array data
  std::optional<std::uint64_t> file_offset;  // where `bytes` start in the file, if they are in it
  bool big_endian = false;
  bool fortran_order = false;  // set only where it changes the element order
  bool deflated = false;
  std::uint64_t stored_size = 0;
};

// Walks the elements of an array in C order and gives where each one is
// stored: the same index for C-order data, the column-major index for Fortran.
class ElementOrder {
 public:
  ElementOrder(std::span<const std::uint64_t> shape, bool fortran_order, std::uint64_t first)
      : shape_(shape.begin(), shape.end()), index_(shape.size()), stride_(shape.size()), fortran_(fortran_order) {
    if (!fortran_) {
      stored_ = first;
      return;
    }
    std::uint64_t stride = 1;
    for (std::size_t k = 0; k < shape_.size(); ++k) {
      stride_[k] = stride;
      stride *= shape_[k];  // at most the element count, which fits
    }
    for (std::size_t k = shape_.size(); k-- > 0;) {
      index_[k] = first % shape_[k];
      first /= shape_[k];
      stored_ += index_[k] * stride_[k];
    }
  }

  std::uint64_t stored() const { return stored_; }

  void next() {
    if (!fortran_) {
      ++stored_;
      return;
    }
    for (std::size_t k = shape_.size(); k-- > 0;) {
      stored_ += stride_[k];
      if (++index_[k] < shape_[k]) return;
      stored_ -= shape_[k] * stride_[k];
      index_[k] = 0;
    }
  }

 private:
  std::vector<std::uint64_t> shape_, index_, stride_;  // stride_: column-major, in elements
  bool fortran_;
  std::uint64_t stored_ = 0;
};

// A .npy file or the members of a .npz: every array's bytes are in the source
// (in `bytes_` or `fetched` too, when they hold all of them) or in a buffer
// inflated at open.
class NumpyModel final : public Model {
 public:
  struct Parts {
    std::optional<ZipReader> zip;
    std::vector<Region> fetched;  // of each stored .npz member: its bytes, or (of a URL) its header
    std::vector<std::vector<std::byte>> inflated;
    std::vector<TensorInfo> tensors;
    std::vector<Layout> layouts;
  };

  NumpyModel(std::string format, std::shared_ptr<const ByteSource> file, Region bytes, std::string display_name,
             Parts parts)
      : format_(std::move(format)),
        file_(std::move(file)),
        bytes_(std::move(bytes)),
        display_name_(std::move(display_name)),
        parts_(std::move(parts)) {}

  std::string format() const override { return format_; }
  const std::vector<TensorInfo>& tensors() const override { return parts_.tensors; }
  const std::string& metadata() const override { return metadata_; }

  Status read(std::size_t index, std::uint64_t offset, std::span<std::byte> dst) const override {
    OWF_RETURN_IF_ERROR(check_read_range(parts_.tensors, index, offset, dst.size(), display_name_));
    const TensorInfo& info = parts_.tensors[index];
    const Layout& layout = parts_.layouts[index];
    if (dst.empty()) return {};  // also spares convert() the zero dimensions of an empty array
    if (layout.big_endian || layout.fortran_order) {
      convert(info, layout, offset, dst);
      return {};
    }
    if (layout.file_offset) return file_->read_at(*layout.file_offset + offset, dst);
    std::copy_n(layout.bytes.begin() + static_cast<std::ptrdiff_t>(offset), dst.size(), dst.begin());
    return {};
  }

  std::optional<std::span<const std::byte>> view(std::size_t index) const override {
    const Layout& layout = parts_.layouts[index];
    if (layout.big_endian || layout.fortran_order || layout.bytes.size() != layout.stored_size) return std::nullopt;
    return layout.bytes;
  }

  std::string encoding(std::size_t index) const override {
    const Layout& layout = parts_.layouts[index];
    std::string encoding;
    for (const auto& [flag, name] : {std::pair{layout.deflated, "deflate"}, std::pair{layout.big_endian, "big-endian"},
                                     std::pair{layout.fortran_order, "fortran-order"}}) {
      if (flag) encoding += (encoding.empty() ? "" : "+") + std::string(name);
    }
    return encoding.empty() ? "raw" : encoding;
  }

  std::uint64_t stored_size(std::size_t index) const override { return parts_.layouts[index].stored_size; }

  // Adds the CRC-32 of stored members (deflated ones were checked when inflated).
  void verify(std::vector<Problem>& problems) const override {
    if (parts_.zip) {
      for (const ZipEntry& entry : parts_.zip->entries()) {
        if (entry.method != 0) continue;
        if (Status status = parts_.zip->check_crc(entry); !status.ok()) problems.push_back({status.message()});
      }
    }
    Model::verify(problems);
  }

 private:
  // Copies C-order little-endian bytes [offset, offset + dst.size()) of an
  // array stored big-endian and/or in Fortran order, one element at a time.
  static void convert(const TensorInfo& info, const Layout& layout, std::uint64_t offset, std::span<std::byte> dst) {
    const DTypeInfo& dtype = dtype_info(info.dtype);
    const std::uint64_t width = dtype.element_bytes();
    // Complex numbers are two floats, each with its own byte order.
    const std::uint64_t unit = dtype.kind == DTypeKind::kComplex ? width / 2 : width;
    ElementOrder order(info.shape, layout.fortran_order, offset / width);
    std::uint64_t skip = offset % width;  // bytes of the first element before the range
    std::array<std::byte, 16> element{};  // numpy's widest element is c16
    for (std::uint64_t done = 0; done < dst.size(); order.next()) {
      std::copy_n(layout.bytes.begin() + static_cast<std::ptrdiff_t>(order.stored() * width), width, element.begin());
      if (layout.big_endian) {
        for (std::uint64_t at = 0; at < width; at += unit)
          std::reverse(element.begin() + at, element.begin() + at + unit);
      }
      const std::uint64_t take = std::min(width - skip, dst.size() - done);
      std::copy_n(element.begin() + skip, take, dst.begin() + static_cast<std::ptrdiff_t>(done));
      done += take;
      skip = 0;
    }
  }

  std::string format_;
  std::shared_ptr<const ByteSource> file_;
  Region bytes_;              // of a .npy, what `parts_` views of it: all of it, or a remote file's header
  std::string display_name_;  // the file name, for messages
  Parts parts_;
  std::string metadata_ = "{}";  // neither .npy nor .npz has a place for metadata
};

// Checks one .npy of `npy_size` bytes (a file, or a zip member whose bytes start
// at file offset `file_offset` when stored) and adds its array as tensor `name`.
// `npy` holds its first bytes: at least the header, the whole .npy unless its
// data is read from the file.
Result<numpy::NpyArray> add_array(std::string name, std::span<const std::byte> npy, std::uint64_t npy_size,
                                  std::optional<std::uint64_t> file_offset, const std::string& where,
                                  NumpyModel::Parts& parts) {
  OWF_ASSIGN_OR_RETURN(const numpy::NpyArray array, numpy::parse_npy_header(npy, file_offset.value_or(0), where));
  auto info = make_tensor_info(std::move(name), array.dtype, array.shape);
  if (!info.ok()) return Status::corruption(where + ": " + info.status().message());
  const std::uint64_t data_size = npy_size - array.data_offset;
  const std::uint64_t data_at = file_offset.value_or(0) + array.data_offset;
  if (data_size != info->byte_size) {
    return Status::corruption(where + ": array data at offset " + std::to_string(data_at) + " is " +
                              std::to_string(data_size) + " bytes, but " + std::string(dtype_info(array.dtype).name) +
                              " of this shape needs " + std::to_string(info->byte_size));
  }
  std::size_t long_dims = 0;  // Fortran order changes nothing unless two dimensions exceed 1
  for (const std::uint64_t dim : array.shape) long_dims += dim > 1 ? 1 : 0;
  Layout layout;
  layout.bytes = npy.subspan(array.data_offset);
  if (file_offset) layout.file_offset = data_at;
  layout.big_endian = array.big_endian;
  layout.fortran_order = array.fortran_order && long_dims >= 2;
  layout.stored_size = info->byte_size;
  parts.tensors.push_back(std::move(info).value());
  parts.layouts.push_back(layout);
  return array;
}

// Of a URL, the header comes from the first bytes fetched when it opened, and
// an array that read() must reorder (big-endian, Fortran order) is fetched whole.
Result<std::unique_ptr<Model>> open_npy(std::shared_ptr<const ByteSource> file, const fs::path& path) {
  const std::string where = display_filename(path);
  const std::uint64_t size = file->size();
  OWF_ASSIGN_OR_RETURN(Region bytes, file->region(0, file->mapped() ? size : std::min(size, kUrlPrefixBytes)));
  NumpyModel::Parts parts;
  OWF_ASSIGN_OR_RETURN(numpy::NpyArray array, add_array(path.stem().string(), bytes.bytes(), size, 0, where, parts));
  const Layout& layout = parts.layouts.front();
  if ((layout.big_endian || layout.fortran_order) && bytes.size() < size) {
    OWF_ASSIGN_OR_RETURN(bytes, file->region(0, size));
    parts = {};
    OWF_ASSIGN_OR_RETURN(array, add_array(path.stem().string(), bytes.bytes(), size, 0, where, parts));
  }
  return std::unique_ptr<Model>(std::make_unique<NumpyModel>("npy v" + std::to_string(array.major_version) + ".0",
                                                             std::move(file), std::move(bytes), where,
                                                             std::move(parts)));
}

// Inflates a deflated member into memory, bounded by its declared size (which
// ZipReader::open already held to what deflate can make of the compressed bytes).
Result<std::vector<std::byte>> inflate(const ZipReader& zip, const ZipEntry& entry, const std::string& where) {
  std::vector<std::byte> buffer;
  try {
    buffer.resize(entry.size);
  } catch (const std::exception&) {
    return Status::invalid_argument(where + ": " + std::to_string(entry.size) + " bytes do not fit in memory");
  }
  OWF_RETURN_IF_ERROR(zip.extract(entry, buffer));
  return buffer;
}

// A .npz is read through its zip directory. Of a URL, a stored member's header
// is fetched with its local header in one request (the whole member when read()
// must reorder it) and its data when read; deflated members are inflated at open.
Result<std::unique_ptr<Model>> open_npz(std::shared_ptr<const ByteSource> file, const fs::path& path) {
  const std::string where = display_filename(path);
  OWF_ASSIGN_OR_RETURN(ZipReader zip, ZipReader::open(file, where));
  OWF_RETURN_IF_ERROR(check_tensor_count(zip.entries().size(), where));
  NumpyModel::Parts parts;
  std::set<std::string> names;
  for (const ZipEntry& entry : zip.entries()) {
    const std::string member = where + ": entry " + quote(entry.name);
    // np.load names an array after its member without ".npy".
    std::string name = entry.name;
    if (name.ends_with(kMemberSuffix)) name.resize(name.size() - kMemberSuffix.size());
    if (!names.insert(name).second) return Status::corruption(member + ": a second array named " + quote(name));
    if (entry.method == 0) {
      OWF_ASSIGN_OR_RETURN(Region npy, zip.stored_data(entry, numpy::kMaxHeaderBytes));
      OWF_ASSIGN_OR_RETURN(const std::uint64_t data_offset, zip.data_offset(entry));
      OWF_RETURN_IF_ERROR(add_array(name, npy.bytes(), entry.size, data_offset, member, parts).status());
      const Layout& layout = parts.layouts.back();
      if ((layout.big_endian || layout.fortran_order) && npy.size() < entry.size) {
        OWF_ASSIGN_OR_RETURN(npy, zip.stored_data(entry));
        parts.tensors.pop_back();
        parts.layouts.pop_back();
        OWF_RETURN_IF_ERROR(add_array(std::move(name), npy.bytes(), entry.size, data_offset, member, parts).status());
      }
      parts.fetched.push_back(std::move(npy));  // the spans add_array took stay valid as the region moves
    } else {
      OWF_ASSIGN_OR_RETURN(std::vector<std::byte> inflated, inflate(zip, entry, member));
      parts.inflated.push_back(std::move(inflated));  // the span below stays valid as the vector moves
      OWF_RETURN_IF_ERROR(add_array(std::move(name), parts.inflated.back(), parts.inflated.back().size(), std::nullopt,
                                    member + " (inflated)", parts)
                              .status());
      parts.layouts.back().deflated = true;
      parts.layouts.back().stored_size = entry.compressed_size;
    }
  }
  parts.zip = std::move(zip);
  return std::unique_ptr<Model>(
      std::make_unique<NumpyModel>("npz", std::move(file), Region(), where, std::move(parts)));
}

bool starts_with(std::span<const std::byte> bytes, std::string_view prefix) {
  return bytes.size() >= prefix.size() && as_chars(bytes.first(prefix.size())) == prefix;
}

// The bytes of a .npy: `header`, then the tensor data pulled from `data`.
TensorSource npy_source(const std::vector<std::byte>& header, TensorSource data) {
  return [&header, data = std::move(data)](std::uint64_t offset, std::span<std::byte> dst) -> Status {
    if (offset < header.size()) {
      const std::uint64_t from_header = std::min<std::uint64_t>(header.size() - offset, dst.size());
      std::copy_n(header.begin() + static_cast<std::ptrdiff_t>(offset), from_header, dst.begin());
      offset += from_header;
      dst = dst.subspan(from_header);
    }
    if (dst.empty()) return {};
    return data(offset - header.size(), dst);
  };
}

// Refuses tensors numpy cannot hold, naming the tensor and its dtype.
Status check_writable(const TensorInfo& info, const std::string& where) {
  if (numpy::numpy_descr(info.dtype)) return {};
  const DTypeInfo& dtype = dtype_info(info.dtype);
  const bool castable = dtype.kind == DTypeKind::kFloat || dtype.kind == DTypeKind::kQuantized;
  return Status::not_supported(where + ": tensor " + quote(info.name) + ": NumPy has no dtype " +
                               std::string(dtype.name) + (castable ? "; convert with --dtype f32" : ""));
}

Result<std::vector<std::byte>> npy_header(const TensorInfo& info, const std::string& where) {
  auto header = numpy::make_npy_header(info.dtype, info.shape);
  if (!header.ok()) return header.status().with_context(where + ": tensor " + quote(info.name));
  return header;
}

Status write_npy(const Model& model, const fs::path& target, const WriteOptions& options, const std::string& where,
                 WriteProgress& progress) {
  if (model.tensors().size() != 1) {
    return Status::invalid_argument(where + ": a .npy file holds one array, but the model has " +
                                    std::to_string(model.tensors().size()) + " tensors; write a .npz instead");
  }
  const TensorInfo& info = model.tensors().front();
  OWF_ASSIGN_OR_RETURN(const std::vector<std::byte> header, npy_header(info, where));
  OWF_ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::create(target, options.overwrite));
  OWF_RETURN_IF_ERROR(out.write(header));
  OWF_RETURN_IF_ERROR(copy_tensor(model, 0, out, progress));
  return out.commit();
}

Status write_npz(const Model& model, const fs::path& target, const WriteOptions& options, const std::string& where,
                 WriteProgress& progress) {
  OWF_ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::create(target, options.overwrite));
  ZipWriter zip(out);
  for (std::size_t i = 0; i < model.tensors().size(); ++i) {
    const TensorInfo& info = model.tensors()[i];
    OWF_ASSIGN_OR_RETURN(const std::vector<std::byte> header, npy_header(info, where));
    const std::string member = info.name + std::string(kMemberSuffix);
    const TensorSource source = npy_source(header, progress_source(model, i, progress));
    const auto size = checked_add(header.size(), info.byte_size);
    if (!size) {
      return Status::invalid_argument(where + ": tensor " + quote(info.name) + " is too large for a zip member");
    }
    if (!options.compression) {
      OWF_RETURN_IF_ERROR(zip.add_stored(member, *size, source, kMemberAlignment));
      continue;
    }
    // ZipWriter deflates a member from memory: one tensor at a time is held.
    std::vector<std::byte> bytes;
    try {
      bytes.resize(*size);
    } catch (const std::exception&) {
      return Status::invalid_argument(where + ": tensor " + quote(info.name) + ": " + std::to_string(*size) +
                                      " bytes do not fit in memory to be deflated");
    }
    OWF_RETURN_IF_ERROR(source(0, bytes));
    OWF_RETURN_IF_ERROR(zip.add_deflated(member, bytes));
  }
  OWF_RETURN_IF_ERROR(zip.finish());
  return out.commit();
}

class NumpyFormat final : public Format {
 public:
  std::string_view name() const override { return "numpy"; }
  std::vector<std::string_view> extensions() const override { return {".npy", ".npz"}; }

  Confidence detect(const fs::path& path, std::span<const std::byte> head) const override {
    if (starts_with(head, kNpyMagic)) return Confidence::kCertain;
    if (!starts_with(head, kZipMagic)) return Confidence::kNone;
    if (path.extension() == ".npz") return Confidence::kLikely;
    // Other zip archives (PyTorch checkpoints) are not ours: np.savez members end in ".npy".
    constexpr std::size_t kNameAt = 30;  // the first local header: name length at 26, name at 30
    if (!starts_with(head, kLocalHeaderMagic) || head.size() < kNameAt) return Confidence::kNone;
    const std::size_t name_length = load_le<std::uint16_t>(head.data() + 26);
    if (head.size() - kNameAt < name_length) return Confidence::kNone;
    const bool npy_member = as_chars(head.subspan(kNameAt, name_length)).ends_with(kMemberSuffix);
    return npy_member ? Confidence::kLikely : Confidence::kNone;
  }

  Result<std::unique_ptr<Model>> open(const fs::path& path, const OpenOptions& options) const override {
    try {
      OWF_ASSIGN_OR_RETURN(std::shared_ptr<const ByteSource> file, source_of(path, options));
      if (file->size() == 0) return Status::corruption(display_filename(path) + ": empty file");
      OWF_ASSIGN_OR_RETURN(const Region head, file->region(0, std::min<std::uint64_t>(file->size(), 8)));
      if (starts_with(head.bytes(), kNpyMagic)) return open_npy(std::move(file), path);
      if (starts_with(head.bytes(), kZipMagic)) return open_npz(std::move(file), path);
      return Status::corruption(display_filename(path) +
                                ": neither a .npy array (magic \\x93NUMPY) nor a .npz zip archive (magic PK)");
    } catch (const std::exception& error) {  // bad_alloc and the like
      return Status::corruption(display_filename(path) + ": " + error.what());
    }
  }

  bool stores_metadata() const override { return false; }  // neither .npy nor .npz has a place for it

  Status write(const Model& model, const OutputMetadata&, const fs::path& path,
               const WriteOptions& options) const override {
    const std::string where = display_filename(path);
    try {
      for (const TensorInfo& info : model.tensors()) OWF_RETURN_IF_ERROR(check_writable(info, where));
      WriteProgress progress(options, model.total_bytes());
      return path.extension() == ".npy" ? write_npy(model, path, options, where, progress)
                                        : write_npz(model, path, options, where, progress);
    } catch (const std::exception& error) {
      return Status::io_error(where + ": " + error.what());
    }
  }
};

}  // namespace

std::unique_ptr<Format> make_numpy_format() { return std::make_unique<NumpyFormat>(); }

}  // namespace owf::formats
