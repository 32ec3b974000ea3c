// Fuzz target for ZipReader: any bytes must give an error or entries whose
// data can be extracted and CRC-checked without a crash.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "owf/internal/zip.h"

namespace {
// Larger entries are only CRC-checked (streaming), not extracted into memory.
constexpr std::uint64_t kMaxExtractSize = 4u << 20;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto archive = std::as_bytes(std::span<const std::uint8_t>(data, size));
  auto reader = owf::ZipReader::open(archive, "fuzz.zip");
  if (!reader.ok()) return 0;
  for (const owf::ZipEntry& entry : reader->entries()) {
    (void)reader->check_crc(entry);
    (void)reader->stored_data(entry);
    if (entry.size <= kMaxExtractSize) {
      std::vector<std::byte> out(entry.size);
      (void)reader->extract(entry, out);
    }
  }
  return 0;
}
