// The .owf container (spec/owf-v1.md). Layout:
//
//   [preamble: 64 bytes] [zero padding to alignment]
//   [tensor data, each tensor aligned, zero padding between]
//   [zero padding to 8] [header: digest, metadata JSON, tensor records] [slack: zeros]
//
// The preamble says where the header is, so a reader finds every tensor with
// two reads. The header is written last, which lets the Writer stream tensors
// one at a time without knowing them in advance.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "owf/digest.h"
#include "owf/export.h"
#include "owf/io.h"
#include "owf/model.h"
#include "owf/output_metadata.h"
#include "owf/source.h"
#include "owf/status.h"
#include "owf/write_options.h"

namespace OWF_EXPORT owf {

inline constexpr std::uint16_t kFormatMajor = 1;
inline constexpr std::uint16_t kFormatMinor = 1;

// Stored encodings (spec §6). A file of a newer minor version may hold ids
// this library does not know (§3): its Reader lists such tensors but refuses to decode them.
enum class Encoding : std::uint8_t { kRaw = 0, kZstdChunked = 1 };
inline constexpr bool is_known(Encoding encoding) { return encoding <= Encoding::kZstdChunked; }

// Pulls decoded bytes [offset, offset + dst.size()) of one tensor.
using TensorSource = std::function<Status(std::uint64_t offset, std::span<std::byte> dst)>;

// Streaming writer: tensors are added one at a time, each pulled from its
// source in pieces of at most one chunk, so memory use does not grow with the
// model. The output appears at `target` only when finish() succeeds; if the
// Writer is destroyed first, or any step fails, the target is left untouched.
class Writer {
 public:
  static Result<Writer> create(const std::filesystem::path& target, const WriteOptions& options);

  Writer(Writer&&) noexcept;
  Writer& operator=(Writer&&) noexcept;
  ~Writer();

  Status add(const TensorInfo& info, const TensorSource& source);
  Status add(const TensorInfo& info, std::span<const std::byte> data);

  // Writes the header with this metadata (a JSON object), syncs and renames.
  Status finish(std::string_view metadata_json);

  // The content digest of the tensors added so far.
  Digest content_digest() const;

 private:
  struct Impl;
  explicit Writer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Checks the options an .owf Writer takes (alignment, header slack, chunk
// size), so that callers can refuse bad ones before any work; Writer::create
// checks them too.
Status validate_write_options(const WriteOptions& options);

// Writes every tensor of `model`, in order, with `metadata` (completed with the content digest).
Status write_owf(const Model& model, const OutputMetadata& metadata, const std::filesystem::path& target,
                 const WriteOptions& options);

// Where and how one tensor is stored.
struct StoredTensor {
  Encoding encoding = Encoding::kRaw;
  std::uint64_t offset = 0;  // absolute file offset of the stored bytes
  std::uint64_t stored_size = 0;
  std::uint64_t checksum = 0;  // XXH3-64 of the stored bytes
};

// Reads a .owf file through a ByteSource (an mmap, or range requests to a URL).
// open() validates every structural rule of the spec before returning, so every
// tensor is addressable afterwards; checksums of tensor bytes are checked by
// verify() or verify_tensor().
class Reader final : public Model {
 public:
  // Reads of many chunks decode on up to `threads` threads (0: online CPUs).
  static Result<std::unique_ptr<Reader>> open(const std::filesystem::path& path, unsigned threads = 0);
  static Result<std::unique_ptr<Reader>> open(std::shared_ptr<const ByteSource> source, unsigned threads = 0);
  ~Reader() override;

  std::string format() const override;
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  const std::string& metadata() const override { return metadata_; }
  Status read(std::size_t index, std::uint64_t offset, std::span<std::byte> dst) const override;
  std::optional<std::span<const std::byte>> view(std::size_t index) const override;
  std::string encoding(std::size_t index) const override;
  std::uint64_t stored_size(std::size_t index) const override;
  void verify(std::vector<Problem>& problems) const override;
  ReadStatistics statistics() const override { return {chunks_decoded_.load(std::memory_order_relaxed)}; }

  Status verify_tensor(std::size_t index) const;
  // kNotSupported when tensor `index` uses an encoding or filter id of a newer
  // minor version that this reader cannot decode (spec §3), else OK.
  Status check_decodable(std::size_t index) const;
  const StoredTensor& stored(std::size_t index) const { return stored_[index]; }
  const Digest& recorded_digest() const { return recorded_digest_; }
  std::uint16_t major_version() const { return major_; }
  std::uint16_t minor_version() const { return minor_; }
  std::uint32_t alignment() const { return alignment_; }
  std::uint64_t header_offset() const { return header_offset_; }
  std::uint64_t header_length() const { return header_length_; }
  std::uint64_t header_capacity() const { return header_capacity_; }
  // Where the header region (§2) starts: align_up(data_end, 8).
  std::uint64_t header_region_start() const;

 private:
  Reader(std::shared_ptr<const ByteSource> source, unsigned threads);
  Status parse();

  std::shared_ptr<const ByteSource> source_;
  unsigned threads_ = 0;
  std::string display_name_;
  std::uint16_t major_ = 0;
  std::uint16_t minor_ = 0;
  std::uint32_t alignment_ = 0;
  std::uint64_t header_offset_ = 0;
  std::uint64_t header_length_ = 0;
  std::uint64_t header_capacity_ = 0;
  Digest recorded_digest_{};
  std::string metadata_;
  std::vector<TensorInfo> tensors_;
  std::vector<StoredTensor> stored_;
  // The checked chunk table of each zstd-chunked tensor (null for raw ones).
  struct ChunkIndex;
  std::vector<std::shared_ptr<const ChunkIndex>> chunk_indexes_;
  mutable std::atomic<std::uint64_t> chunks_decoded_{0};
  // Decoders and buffers kept from one read to the next (reads may run concurrently).
  struct ScratchPool;
  std::unique_ptr<ScratchPool> scratch_;
};

// Replaces the metadata of an .owf file: in place when the new header fits in
// the header region's free space beside the live one (then *in_place is set to
// true), switching to it with one preamble write, so that a crash leaves the
// old file or the new (spec §8); otherwise through a complete rewrite to a new
// file that replaces the original atomically. Refuses (kNotSupported) a file
// with tensors this reader cannot decode.
Status replace_metadata(const std::filesystem::path& path, std::string_view metadata_json, bool* in_place);

}  // namespace owf
