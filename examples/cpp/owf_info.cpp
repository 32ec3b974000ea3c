// owf_info: summarises a weights file in any format owf reads, through the C++ API, and reads the
// first rows of its largest tensor the way an inference server loads a shard of it.
//
//   find_package(owf) ... target_link_libraries(owf_info PRIVATE owf::owf)
//   ./owf_info model.gguf
//
// Prints the format, the tensor count, the largest tensor with the bytes of its first row, and
// the content digest. Exits 2 with owf's message (naming the file and tensor) when it cannot read.
#include <owf/owf.h>

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

namespace {

int fail(const owf::Status& status) {
  std::fprintf(stderr, "owf_info: %s\n", status.message().c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: owf_info FILE\n");
    return 2;
  }
  auto opened = owf::open(argv[1]);
  if (!opened.ok()) return fail(opened.status());
  const owf::Model& model = *opened.value();
  const auto& tensors = model.tensors();
  std::printf("owf %s (headers %s), format %s, %zu tensors\n", std::string(owf::library_version()).c_str(),
              OWF_VERSION_STRING, model.format().c_str(), tensors.size());

  std::size_t largest = tensors.size();
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].shape.empty() && (largest == tensors.size() || tensors[i].byte_size > tensors[largest].byte_size)) {
      largest = i;
    }
  }
  if (largest < tensors.size()) {
    const owf::TensorInfo& info = tensors[largest];
    auto row = owf::row_size(info);
    if (row.ok()) {
      std::vector<std::byte> first(row.value());
      if (auto status = owf::read_rows(model, largest, 0, 1, first); !status.ok()) return fail(status);
      std::printf("largest %s: %s, %llu bytes, row 0 is %zu bytes\n", info.name.c_str(),
                  std::string(owf::dtype_info(info.dtype).name).c_str(),
                  static_cast<unsigned long long>(info.byte_size), first.size());
    } else {
      std::printf("largest %s: rows not byte-aligned (%s)\n", info.name.c_str(), row.status().message().c_str());
    }
  }

  auto digest = owf::content_digest(model);
  if (!digest.ok()) return fail(digest.status());
  std::printf("content sha256:%s\n", owf::to_hex(digest.value()).c_str());
  return 0;
}
