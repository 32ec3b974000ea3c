// Fuzz target for the C API's open path: the input, in whatever format it
// looks like, goes through owf_open (detection by content over every
// registered format), then every call a C caller makes on a model. The calls
// must agree with each other (a name finds a tensor of that name; a read that
// succeeds reports no error) and nothing may crash or leak, models and errors
// included.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fuzz_format.h"
#include "owf.h"

namespace {

void use(const owf_model* m) {
  (void)owf_format(m);
  (void)owf_metadata_json(m);
  std::vector<std::byte> buffer;
  std::vector<float> floats;
  std::uint64_t total = 0;
  for (size_t i = 0; i < owf_tensor_count(m); ++i) {
    owf_tensor_info info;
    if (owf_tensor_info_at(m, i, &info) != 0) std::abort();  // i is in range
    // A name finds a tensor of that name (an embedded NUL, which C cannot pass, may find none).
    if (const int64_t found = owf_tensor_index(m, info.name); found >= 0) {
      owf_tensor_info other;
      if (owf_tensor_info_at(m, static_cast<size_t>(found), &other) != 0) std::abort();
      if (std::strcmp(other.name, info.name) != 0) std::abort();
    }
    total += info.nbytes;
    (void)owf_tensor_data(m, i);
    buffer.resize(std::min<std::uint64_t>(info.nbytes, owf::fuzz::kMaxReadBytes));
    owf_error* err = nullptr;
    if (owf_read(m, i, 0, buffer.data(), buffer.size(), &err) != 0) {
      if (err == nullptr) std::abort();  // a failure always says why
      (void)owf_error_message(err);
      owf_error_free(err);
      continue;
    }
    if (err != nullptr) std::abort();
    if (info.rank > 0 && info.shape[0] > 0 && info.nbytes / info.shape[0] <= buffer.size()) {
      (void)owf_read_rows(m, i, 0, 1, buffer.data(), &err);
      owf_error_free(err);
      err = nullptr;
    }
    std::uint64_t count = 1;
    for (size_t d = 0; d < info.rank; ++d) count *= info.shape[d];  // nbytes bounds it when small
    if (info.nbytes <= owf::fuzz::kMaxReadBytes && count <= owf::fuzz::kMaxReadBytes) {
      floats.resize(count);
      (void)owf_read_f32(m, i, floats.data(), count, &err);
      owf_error_free(err);
      err = nullptr;
    }
  }
  if (total <= owf::fuzz::kMaxVerifyBytes) {
    owf_error* err = nullptr;
    const char* digest = owf_content_digest_error(m, &err);
    if ((digest == nullptr) != (err != nullptr)) std::abort();
    owf_error_free(err);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  owf::fuzz::with_memory_file(data, size, [](const std::string& path) {
    owf_error* err = nullptr;
    owf_model* m = owf_open(path.c_str(), &err);
    if ((m == nullptr) != (err != nullptr)) std::abort();
    if (m != nullptr) use(m);
    owf_error_free(err);
    owf_close(m);
  });
  return 0;
}
