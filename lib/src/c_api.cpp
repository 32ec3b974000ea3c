// The C API (owf.h): thin wrappers over owf::open and owf::Model. Every entry
// point catches exceptions (allocation failures) so none crosses into C.
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "owf.h"
#include "owf/numeric.h"
#include "owf/owf.h"

struct owf_error {
  owf_error_code code;
  std::string message;
};

struct owf_model {
  std::unique_ptr<owf::Model> model;
  std::string format;
  std::vector<std::string> dtypes;     // dtype name of each tensor, NUL-terminated
  std::vector<std::string> encodings;  // encoding of each tensor
  mutable std::once_flag digest_once;
  mutable owf::Status digest_status;
  mutable std::string digest;
};

namespace {

owf_error_code to_c(owf::ErrorCode code) {
  switch (code) {
    case owf::ErrorCode::kOk: return OWF_OK;
    case owf::ErrorCode::kInvalidArgument: return OWF_INVALID_ARGUMENT;
    case owf::ErrorCode::kCorruption: return OWF_CORRUPTION;
    case owf::ErrorCode::kNotSupported: return OWF_NOT_SUPPORTED;
    case owf::ErrorCode::kIOError: return OWF_IO_ERROR;
    case owf::ErrorCode::kNotFound: return OWF_NOT_FOUND;
  }
  return OWF_INVALID_ARGUMENT;
}

// Stores `status` into *err when err is given; returns 0 for success, else -1.
int report(const owf::Status& status, owf_error** err) {
  if (err != nullptr) {
    *err = nullptr;
    if (!status.ok()) *err = new (std::nothrow) owf_error{to_c(status.code()), status.message()};
  }
  return status.ok() ? 0 : -1;
}

// Runs `body` (returning a Status), turning an escaped exception into an error.
template <typename Body>
int guarded(owf_error** err, Body body) {
  try {
    return report(body(), err);
  } catch (const std::bad_alloc&) {
    return report(owf::Status::invalid_argument("out of memory"), err);
  } catch (const std::exception& e) {
    return report(owf::Status::invalid_argument(e.what()), err);
  }
}

bool valid_index(const owf_model* m, size_t i) { return m != nullptr && i < m->model->tensors().size(); }

owf::Status null_argument(const char* what) { return owf::Status::invalid_argument(std::string(what) + " is NULL"); }

}  // namespace

extern "C" {

owf_model* owf_open_key(const char* path, const char* key, owf_error** err) {
  owf_model* result = nullptr;
  guarded(err, [&]() -> owf::Status {
    if (path == nullptr) return null_argument("path");
    owf::OpenOptions options;
    if (key != nullptr) options.key = key;
    OWF_ASSIGN_OR_RETURN(auto model, owf::open(path, options));
    auto m = std::make_unique<owf_model>();
    m->format = model->format();
    const std::size_t count = model->tensors().size();
    m->dtypes.reserve(count);
    m->encodings.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      m->dtypes.emplace_back(owf::dtype_info(model->tensors()[i].dtype).name);
      m->encodings.push_back(model->encoding(i));
    }
    m->model = std::move(model);
    result = m.release();
    return {};
  });
  return result;
}

owf_model* owf_open(const char* path, owf_error** err) { return owf_open_key(path, nullptr, err); }

void owf_close(owf_model* m) { delete m; }

const char* owf_format(const owf_model* m) { return m == nullptr ? nullptr : m->format.c_str(); }

size_t owf_tensor_count(const owf_model* m) { return m == nullptr ? 0 : m->model->tensors().size(); }

int owf_tensor_info_at(const owf_model* m, size_t i, owf_tensor_info* out) {
  if (!valid_index(m, i) || out == nullptr) return -1;
  const owf::TensorInfo& info = m->model->tensors()[i];
  out->name = info.name.c_str();
  out->dtype = m->dtypes[i].c_str();
  out->rank = static_cast<uint32_t>(info.shape.size());
  out->shape = info.shape.data();
  out->nbytes = info.byte_size;
  out->encoding = m->encodings[i].c_str();
  return 0;
}

int64_t owf_tensor_index(const owf_model* m, const char* name) {
  if (m == nullptr || name == nullptr) return -1;
  const std::optional<std::size_t> index = m->model->find(name);
  return index ? static_cast<int64_t>(*index) : -1;
}

const void* owf_tensor_data(const owf_model* m, size_t i) {
  if (!valid_index(m, i)) return nullptr;
  const auto view = m->model->view(i);
  return view ? static_cast<const void*>(view->data()) : nullptr;
}

int owf_read(const owf_model* m, size_t i, uint64_t offset, void* dst, uint64_t len, owf_error** err) {
  return guarded(err, [&]() -> owf::Status {
    if (m == nullptr) return null_argument("model");
    if (dst == nullptr && len > 0) return null_argument("dst");
    return m->model->read(i, offset, {static_cast<std::byte*>(dst), static_cast<std::size_t>(len)});
  });
}

int owf_read_rows(const owf_model* m, size_t i, uint64_t begin, uint64_t end, void* dst, owf_error** err) {
  return guarded(err, [&]() -> owf::Status {
    if (m == nullptr) return null_argument("model");
    OWF_RETURN_IF_ERROR(owf::check_read_range(m->model->tensors(), i, 0, 0, ""));
    const owf::TensorInfo& info = m->model->tensors()[i];
    OWF_ASSIGN_OR_RETURN(const std::uint64_t row, owf::row_size(info));
    // A bad range gets read_rows' own message; only a valid one needs room in dst.
    const std::uint64_t size = begin <= end && end <= info.shape[0] ? row * (end - begin) : 0;
    if (dst == nullptr && size > 0) return null_argument("dst");
    return owf::read_rows(*m->model, i, begin, end, {static_cast<std::byte*>(dst), static_cast<std::size_t>(size)});
  });
}

int owf_read_f32(const owf_model* m, size_t i, float* dst, uint64_t count, owf_error** err) {
  return guarded(err, [&]() -> owf::Status {
    if (m == nullptr) return null_argument("model");
    if (dst == nullptr && count > 0) return null_argument("dst");
    return owf::read_tensor_f32(*m->model, i, {dst, static_cast<std::size_t>(count)});
  });
}

const char* owf_metadata_json(const owf_model* m) { return m == nullptr ? nullptr : m->model->metadata().c_str(); }

const char* owf_content_digest_error(const owf_model* m, owf_error** err) {
  const char* result = nullptr;
  guarded(err, [&]() -> owf::Status {
    if (m == nullptr) return null_argument("model");
    std::call_once(m->digest_once, [m] {
      owf::Result<owf::Digest> digest = owf::content_digest(*m->model);
      if (digest.ok()) {
        m->digest = "sha256:" + owf::to_hex(*digest);
      } else {
        m->digest_status = digest.status();
      }
    });
    if (!m->digest_status.ok()) return m->digest_status;
    result = m->digest.c_str();
    return {};
  });
  return result;
}

const char* owf_content_digest(const owf_model* m) { return owf_content_digest_error(m, nullptr); }

const char* owf_error_message(const owf_error* e) { return e == nullptr ? "" : e->message.c_str(); }

owf_error_code owf_error_get_code(const owf_error* e) { return e == nullptr ? OWF_OK : e->code; }

void owf_error_free(owf_error* e) { delete e; }

const char* owf_version(void) { return OWF_VERSION_STRING; }

}  // extern "C"
