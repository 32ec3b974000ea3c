// Fuzz target for the PyTorch adapter. Any bytes go through the restricted
// unpickler, flattening and metadata conversion; bytes that look like a
// checkpoint (zip or legacy magic) also go through the whole reader from a
// file, reading both ends of every tensor. Nothing may crash, leak or run away.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "owf/model.h"
#include "pytorch/checkpoint.h"
#include "pytorch/metadata_json.h"
#include "pytorch/pickle.h"
#include "pytorch/reader.h"

namespace {

// Reading the first and last bytes of each tensor exercises the view
// arithmetic at both ends without copying whole (possibly stride-0, huge) tensors.
constexpr std::uint64_t kEndBytes = std::uint64_t{4} << 10;

void unpickle_and_flatten(std::span<const std::byte> bytes) {
  owf::formats::pytorch::ValueArena arena;
  const auto object = owf::formats::pytorch::unpickle(bytes, 0, "fuzz.pkl", arena);
  if (!object.ok()) return;
  const auto flat = owf::formats::pytorch::flatten_checkpoint(*object->root, "", "fuzz.pkl");
  if (flat.ok()) (void)owf::formats::pytorch::checkpoint_metadata(*flat);
}

void open_and_read(std::span<const std::byte> bytes) {
  const auto path = std::filesystem::temp_directory_path() / ("owf_fuzz_pickle_" + std::to_string(::getpid()) + ".pt");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  if (const auto model = owf::formats::pytorch::open_checkpoint(path, {}); model.ok()) {
    for (std::size_t i = 0; i < (*model)->tensors().size(); ++i) {
      const std::uint64_t size = (*model)->tensors()[i].byte_size;
      std::vector<std::byte> end(std::min(size, kEndBytes));
      (void)(*model)->read(i, 0, end);
      (void)(*model)->read(i, size - end.size(), end);
    }
  }
  std::filesystem::remove(path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span<const std::uint8_t>(data, size));
  unpickle_and_flatten(bytes);
  if (owf::formats::pytorch::checkpoint_confidence(bytes) != owf::Confidence::kNone) open_and_read(bytes);
  return 0;
}
