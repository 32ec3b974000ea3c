// owf._native: the C++ library seen from Python, through pybind11. It hands out
// bytes only (NumPy uint8 arrays); owf/__init__.py gives them dtypes and
// shapes, so this file has no knowledge of formats or of NumPy's dtypes.
// Every call that reads, decodes or writes releases the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "owf/numeric.h"
#include "owf/owf.h"

namespace py = pybind11;

namespace {

struct OwfError : std::exception {
  explicit OwfError(std::string message) : message(std::move(message)) {}
  const char* what() const noexcept override { return message.c_str(); }
  std::string message;
};

void check(const owf::Status& status) {
  if (!status.ok()) throw OwfError(status.message());
}

template <typename T>
T check(owf::Result<T> result) {
  check(result.status());
  return std::move(result).value();
}

// An open model. Arrays over its memory map keep the Python object alive (as
// their NumPy base), so the map outlives every view of it.
class PyModel {
 public:
  PyModel(std::string path, std::unique_ptr<owf::Model> model) : path_(std::move(path)), model_(std::move(model)) {}

  const owf::Model& model() const { return *model_; }

  // The tensor's index, or None when there is none of that name.
  std::optional<std::size_t> index(const std::string& name) const { return model_->find(name); }

  const owf::TensorInfo& info(std::size_t i) const {
    check(owf::check_read_range(model_->tensors(), i, 0, 0, path_));
    return model_->tensors()[i];
  }

 private:
  std::string path_;
  std::unique_ptr<owf::Model> model_;
};

py::array_t<std::uint8_t> new_bytes(std::uint64_t size) {
  return py::array_t<std::uint8_t>(static_cast<py::ssize_t>(size));
}

// A read-only uint8 array over `bytes`, which `owner` keeps alive.
py::array read_only_view(std::span<const std::byte> bytes, py::handle owner) {
  py::array array(py::dtype::of<std::uint8_t>(), {static_cast<py::ssize_t>(bytes.size())}, {1}, bytes.data(), owner);
  py::detail::array_proxy(array.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return array;
}

// A Model over Python buffers (for save_file): each tensor's bytes are one
// C-contiguous buffer, held by the caller for the duration of the write.
class BufferModel final : public owf::Model {
 public:
  BufferModel(std::vector<owf::TensorInfo> tensors, std::vector<std::span<const std::byte>> data, std::string metadata)
      : tensors_(std::move(tensors)), data_(std::move(data)), metadata_(std::move(metadata)) {}

  std::string format() const override { return "python"; }
  const std::vector<owf::TensorInfo>& tensors() const override { return tensors_; }
  const std::string& metadata() const override { return metadata_; }
  owf::Status read(std::size_t index, std::uint64_t offset, std::span<std::byte> dst) const override {
    OWF_RETURN_IF_ERROR(owf::check_read_range(tensors_, index, offset, dst.size(), ""));
    if (!dst.empty()) std::memcpy(dst.data(), data_[index].data() + offset, dst.size());
    return {};
  }
  std::optional<std::span<const std::byte>> view(std::size_t index) const override { return data_[index]; }

 private:
  std::vector<owf::TensorInfo> tensors_;
  std::vector<std::span<const std::byte>> data_;
  std::string metadata_;
};

// One tensor handed to write(): (name, owf dtype name, shape, buffer of its bytes).
using TensorTuple = std::tuple<std::string, std::string, std::vector<std::uint64_t>, py::buffer>;

void write_file(const std::string& path, const std::vector<TensorTuple>& tensors, const std::string& metadata_json,
                bool compress, bool overwrite) {
  std::vector<owf::TensorInfo> infos;
  std::vector<std::span<const std::byte>> data;
  std::vector<py::buffer_info> held;  // keeps each buffer exported while the GIL is released
  for (const auto& [name, dtype_name, shape, buffer] : tensors) {
    const std::optional<owf::DType> dtype = owf::dtype_from_name(dtype_name);
    if (!dtype) throw OwfError("tensor '" + name + "': unknown dtype '" + dtype_name + "'");
    owf::TensorInfo info = check(owf::make_tensor_info(name, *dtype, shape));
    py::buffer_info bytes = buffer.request();
    const auto size = static_cast<std::uint64_t>(bytes.size * bytes.itemsize);
    if (!PyBuffer_IsContiguous(bytes.view(), 'C')) throw OwfError("tensor '" + name + "': buffer is not contiguous");
    if (size != info.byte_size) {
      throw OwfError("tensor '" + name + "': " + std::to_string(size) + " bytes given, its dtype " + dtype_name +
                     " and shape need " + std::to_string(info.byte_size));
    }
    data.emplace_back(static_cast<const std::byte*>(bytes.ptr), size);
    infos.push_back(std::move(info));
    held.push_back(std::move(bytes));
  }
  const BufferModel model(std::move(infos), std::move(data), metadata_json);
  owf::WriteOptions options;
  options.overwrite = overwrite;
  if (compress) options.compression = owf::CompressionOptions{};
  py::gil_scoped_release unlocked;
  check(owf::write(model, metadata_json, path, options));
}

}  // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "owf's C++ library; use the `owf` package, not this module";
  static py::exception<OwfError> owf_error(m, "OwfError", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const OwfError& e) {
      owf_error(e.what());
    }
  });

  m.def(
      "open",
      [](const std::string& path, const std::string& key) {
        owf::OpenOptions options;
        options.key = key;
        std::unique_ptr<owf::Model> model;
        {
          py::gil_scoped_release unlocked;
          model = check(owf::open(path, options));
        }
        return std::make_unique<PyModel>(path, std::move(model));
      },
      py::arg("path"), py::arg("key") = "");

  py::class_<PyModel>(m, "Model")
      .def("format", [](const PyModel& self) { return self.model().format(); })
      .def("metadata", [](const PyModel& self) { return self.model().metadata(); })
      .def("count", [](const PyModel& self) { return self.model().tensors().size(); })
      .def("names",
           [](const PyModel& self) {
             py::list names;
             for (const owf::TensorInfo& info : self.model().tensors()) names.append(info.name);
             return names;
           })
      .def("index", &PyModel::index)
      // (name, dtype name, shape, decoded bytes, encoding)
      .def("info",
           [](const PyModel& self, std::size_t i) {
             const owf::TensorInfo& info = self.info(i);
             return py::make_tuple(info.name, std::string(owf::dtype_info(info.dtype).name),
                                   py::tuple(py::cast(info.shape)), info.byte_size, self.model().encoding(i));
           })
      // The tensor's bytes without a copy (read-only), or None when it is not stored raw.
      .def("view",
           [](py::object self_object, std::size_t i) -> py::object {
             const PyModel& self = self_object.cast<const PyModel&>();
             self.info(i);
             const auto bytes = self.model().view(i);
             if (!bytes) return py::none();
             return read_only_view(*bytes, self_object);
           })
      .def("read",
           [](const PyModel& self, std::size_t i, std::uint64_t offset, std::uint64_t size) {
             auto out = new_bytes(size);
             std::span<std::byte> dst(reinterpret_cast<std::byte*>(out.mutable_data()), size);
             py::gil_scoped_release unlocked;
             check(self.model().read(i, offset, dst));
             return out;
           })
      .def("read_rows",
           [](const PyModel& self, std::size_t i, std::uint64_t begin, std::uint64_t end) {
             const owf::TensorInfo& info = self.info(i);
             const std::uint64_t row = check(owf::row_size(info));
             // A bad range gets read_rows' own message; only a valid one needs memory.
             auto out = new_bytes(begin <= end && end <= info.shape[0] ? row * (end - begin) : 0);
             std::span<std::byte> dst(reinterpret_cast<std::byte*>(out.mutable_data()), out.size());
             py::gil_scoped_release unlocked;
             check(owf::read_rows(self.model(), i, begin, end, dst));
             return out;
           })
      .def("read_f32",
           [](const PyModel& self, std::size_t i) {
             const owf::TensorInfo& info = self.info(i);
             const std::uint64_t count = check(owf::element_count(info.shape));
             py::array_t<float> out(static_cast<py::ssize_t>(count));
             std::span<float> dst(out.mutable_data(), count);
             py::gil_scoped_release unlocked;
             check(owf::read_tensor_f32(self.model(), i, dst));
             return out;
           })
      .def("chunks_decoded", [](const PyModel& self) { return self.model().statistics().chunks_decoded; })
      .def("content_digest", [](const PyModel& self) {
        py::gil_scoped_release unlocked;
        return "sha256:" + owf::to_hex(check(owf::content_digest(self.model())));
      });

  m.def("write", &write_file, py::arg("path"), py::arg("tensors"), py::arg("metadata_json"), py::arg("compress"),
        py::arg("overwrite"));
  m.def("version", [] { return std::string(OWF_VERSION_STRING); });
}
