// Writing .owf files: data first, then the header, then the preamble patched
// at offset 0 (spec/owf-v1.md §2), through an AtomicFile.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_set>

#include "chunked.h"
#include "layout.h"
#include "owf/container.h"
#include "owf/internal/bytes.h"
#include "owf/internal/checked.h"
#include "owf/metadata.h"
#include "owf/text.h"
#include "owf/threads.h"
#include "pieces.h"
#include "value_check.h"

namespace owf {

namespace {

using detail::ChunkFilter;
using detail::Xxh3Stream;

// Raw tensors are copied through buffers of this size: large writes, flat memory.
constexpr std::size_t kRawPiece = 8u << 20;
constexpr std::size_t kBlock = AtomicFile::kDirectIOAlignment;

// Storage that starts on a block boundary, so that a piece placed at the same
// offset within a block as its place in the file can be written with direct I/O.
class AlignedBuffer {
 public:
  // Bytes [shift, shift + size) of the storage, which grows as needed (losing its contents).
  std::span<std::byte> at(std::size_t shift, std::size_t size) {
    if (shift + size > capacity_) {
      storage_.reset(static_cast<std::byte*>(::operator new (shift + size, std::align_val_t{kBlock})));
      capacity_ = shift + size;
    }
    return {storage_.get() + shift, size};
  }

 private:
  struct Free {
    void operator()(std::byte* p) const { ::operator delete (p, std::align_val_t{kBlock}); }
  };
  std::unique_ptr<std::byte, Free> storage_;
  std::size_t capacity_ = 0;
};

// Runs one job at a time on its own thread, so that hashing and writing one
// buffer overlap reading (or compressing) the next.
class BackgroundWorker {
 public:
  BackgroundWorker() : thread_([this] { run(); }) {}
  BackgroundWorker(const BackgroundWorker&) = delete;
  BackgroundWorker& operator=(const BackgroundWorker&) = delete;
  ~BackgroundWorker() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  // Waits for the previous job to finish, then starts `job`.
  void submit(std::function<void()> job) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return !job_; });
    job_ = std::move(job);
    changed_.notify_all();
  }

  // Waits until no job runs.
  void wait() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return !job_; });
  }

  // Waits for the last job when it goes out of scope, on every return path:
  // declared after what the jobs reference, it runs before they are destroyed.
  struct WaitOnExit {
    BackgroundWorker& worker;
    ~WaitOnExit() { worker.wait(); }
  };

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (true) {
      changed_.wait(lock, [this] { return stopping_ || job_; });
      if (!job_) return;  // stopping, nothing left to do
      lock.unlock();
      job_();  // job_ stays set while it runs: that is what submit() and wait() wait on
      lock.lock();
      job_ = nullptr;
      changed_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::function<void()> job_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members it uses exist
};

}  // namespace

Status validate_write_options(const WriteOptions& options) {
  const std::uint32_t a = options.alignment;
  if (a < detail::kMinAlignment || a > detail::kMaxAlignment || (a & (a - 1)) != 0) {
    return Status::invalid_argument("alignment " + std::to_string(a) + " is not a power of two in 8..4096");
  }
  if (options.header_slack > detail::kMaxHeaderCapacity) {
    return Status::invalid_argument("header slack " + std::to_string(options.header_slack) + " exceeds the " +
                                    std::to_string(detail::kMaxHeaderCapacity) + "-byte header capacity");
  }
  if (options.compression) {
    const std::uint32_t chunk = options.compression->chunk_size;
    if (chunk == 0 || chunk > detail::kMaxChunkSize) {
      return Status::invalid_argument("chunk size " + std::to_string(chunk) + " is outside 1.." +
                                      std::to_string(detail::kMaxChunkSize));
    }
  }
  return {};
}

struct Writer::Impl {
  AtomicFile file;
  WriteOptions options;
  // When compressing: one chunk each of the batch that is encoded in parallel.
  struct Slot {
    detail::ChunkEncoder encoder;
    std::vector<std::byte> chunk;
    std::span<const std::byte> frame;  // in the encoder, until its next use
  };
  std::vector<Slot> slots;
  std::uint64_t data_end = 0;  // end of the last tensor's stored bytes (data_start at first)
  std::uint64_t tensor_count = 0;
  std::uint16_t minor_version = 0;  // the lowest that defines every id written (spec §3)
  std::vector<std::byte> records;
  std::unordered_set<std::string> names;
  std::vector<std::pair<std::string, Digest>> digests;
  std::array<AlignedBuffer, 2> buffers;  // one fills while the workers hash and write the other
  std::uint64_t bytes_done = 0;
  bool broken = false;      // a failure left the output inconsistent: refuse further use
  BackgroundWorker hasher;  // SHA-256 and XXH3 of the piece last read
  BackgroundWorker writer;  // writes of raw pieces

  Impl(AtomicFile f, const WriteOptions& o) : file(std::move(f)), options(o) {}

  std::string where() const { return file.target().string(); }
  Status check_tensor(const TensorInfo& info) const;
  Result<StoredTensor> write_raw(const TensorInfo& info, const TensorSource& source, TensorDigester& digester,
                                 std::uint64_t offset);
  Result<StoredTensor> write_compressed(const TensorInfo& info, const TensorSource& source, TensorDigester& digester,
                                        std::uint64_t offset);
  Result<std::uint64_t> checksum_written(std::uint64_t offset, std::uint64_t size);
  // Refuses bytes that §5 forbids (bool values, packed padding bits): the output would be invalid.
  Status check_values(const TensorInfo& info, const detail::DecodedValueCheck& values) const {
    if (!values.problem()) return {};
    return Status::invalid_argument(where() + ": tensor " + quote(info.name) + ": " + *values.problem());
  }
  void report_progress(std::uint64_t bytes) {
    bytes_done += bytes;
    if (options.progress) options.progress(bytes_done, 0);
  }
};

Status Writer::Impl::check_tensor(const TensorInfo& info) const {
  auto checked = make_tensor_info(info.name, info.dtype, info.shape);
  if (!checked.ok()) return Status::invalid_argument(where() + ": " + checked.status().message());
  const std::string tensor = where() + ": tensor " + quote(info.name);
  if (checked->byte_size != info.byte_size) {
    return Status::invalid_argument(tensor + ": byte_size " + std::to_string(info.byte_size) + " should be " +
                                    std::to_string(checked->byte_size) + " for its dtype and shape");
  }
  if (info.name.size() > detail::kMaxHeaderCapacity) return Status::invalid_argument(tensor + ": name too long");
  if (names.count(info.name) != 0) return Status::invalid_argument(tensor + ": duplicate tensor name");
  return check_tensor_count(names.size() + 1, where());
}

Result<StoredTensor> Writer::Impl::write_raw(const TensorInfo& info, const TensorSource& source,
                                             TensorDigester& digester, std::uint64_t offset) {
  // Three stages in parallel: this thread reads piece i+1 from the source while
  // one worker hashes piece i and another writes it. Each buffer is refilled
  // only after both workers are done with it (submit() waits for that).
  Xxh3Stream checksum;
  detail::DecodedValueCheck values(info);
  Status write_status;                     // touched only by the writing thread until it is waited for
  std::atomic<bool> write_failed = false;  // lets this thread stop early
  {
    const BackgroundWorker::WaitOnExit finish_writing{writer}, finish_hashing{hasher};
    std::size_t which = 0;
    for (std::uint64_t done = 0; done < info.byte_size && !write_failed; which ^= 1) {
      // Pieces end on block boundaries of the file and sit in their buffer as in the file.
      const std::size_t shift = (offset + done) % kBlock;
      const auto piece = buffers[which].at(shift, std::min<std::uint64_t>(kRawPiece - shift, info.byte_size - done));
      OWF_RETURN_IF_ERROR(source(done, piece));
      hasher.submit([&digester, &checksum, &values, piece] {
        digester.update(piece);
        checksum.update(piece);
        values.update(piece);
      });
      writer.submit([this, &write_status, &write_failed, at = offset + done, piece] {
        write_status = file.write_at(at, piece);
        if (!write_status.ok()) write_failed = true;
      });
      done += piece.size();
      report_progress(piece.size());
    }
  }
  OWF_RETURN_IF_ERROR(write_status);
  OWF_RETURN_IF_ERROR(check_values(info, values));
  return StoredTensor{Encoding::kRaw, offset, info.byte_size, checksum.digest()};
}

Result<StoredTensor> Writer::Impl::write_compressed(const TensorInfo& info, const TensorSource& source,
                                                    TensorDigester& digester, std::uint64_t offset) {
  const std::uint32_t chunk_size = options.compression->chunk_size;
  std::uint32_t group_width = options.compression->byte_group ? detail::byte_group_width(info.dtype) : 0;
  if (group_width != 0 && chunk_size % group_width != 0) group_width = 0;  // §6.2 forbids it; store unfiltered
  const ChunkFilter filter = group_width == 0             ? ChunkFilter::kNone
                             : options.compression->lanes ? ChunkFilter::kLanes
                                                          : ChunkFilter::kByteGroup;
  minor_version = std::max(minor_version, detail::minor_version_defining(filter));
  const std::uint64_t chunk_count = info.byte_size / chunk_size + (info.byte_size % chunk_size != 0);

  // The table precedes the frames but is known only after them: leave room, patch it at the end.
  std::vector<std::uint64_t> frame_lengths;
  const auto table_size = checked_mul(chunk_count, 8);
  const auto frames_start =
      table_size ? checked_add(offset, detail::ChunkTable::kHeaderSize + *table_size) : std::nullopt;
  if (!frames_start) return Status::invalid_argument(where() + ": file offsets overflow");
  std::uint64_t frame_at = *frames_start;
  detail::DecodedValueCheck values(info);
  // Batches of chunks are read in order, then encoded on every thread while one
  // of the jobs feeds the batch to the digest; frames are written in order, so
  // the output is the same whatever the thread count.
  for (std::uint64_t done = 0; done < info.byte_size;) {
    const std::size_t batch = std::min<std::uint64_t>(slots.size(), chunk_count - frame_lengths.size());
    for (std::size_t i = 0; i < batch; ++i) {
      const std::uint64_t at = done + i * std::uint64_t{chunk_size};
      slots[i].chunk.resize(std::min<std::uint64_t>(chunk_size, info.byte_size - at));
      OWF_RETURN_IF_ERROR(source(at, slots[i].chunk));
    }
    OWF_RETURN_IF_ERROR(parallel_for(1 + batch, options.threads, [&](std::size_t job, unsigned) -> Status {
      if (job == 0) {  // the longest job starts first
        for (std::size_t k = 0; k < batch; ++k) {
          digester.update(slots[k].chunk);
          values.update(slots[k].chunk);
        }
        return {};
      }
      Slot& slot = slots[job - 1];
      OWF_ASSIGN_OR_RETURN(slot.frame, slot.encoder.encode(slot.chunk, filter, group_width));
      return {};
    }));
    for (std::size_t i = 0; i < batch; ++i) {
      OWF_RETURN_IF_ERROR(file.write_at(frame_at, slots[i].frame));
      frame_lengths.push_back(slots[i].frame.size());
      frame_at += slots[i].frame.size();
      done += slots[i].chunk.size();
      report_progress(slots[i].chunk.size());
    }
  }
  OWF_RETURN_IF_ERROR(check_values(info, values));
  OWF_RETURN_IF_ERROR(file.write_at(offset, detail::ChunkTable::encode(chunk_size, filter, frame_lengths)));
  const std::uint64_t stored_size = frame_at - offset;
  OWF_ASSIGN_OR_RETURN(const std::uint64_t checksum, checksum_written(offset, stored_size));
  return StoredTensor{Encoding::kZstdChunked, offset, stored_size, checksum};
}

// XXH3 of bytes already in the output, read back (they are in the page cache).
Result<std::uint64_t> Writer::Impl::checksum_written(std::uint64_t offset, std::uint64_t size) {
  Xxh3Stream checksum;
  OWF_RETURN_IF_ERROR(
      detail::for_each_span(offset, offset + size, kRawPiece, [&](std::uint64_t at, std::uint64_t piece_size) {
        const auto piece = buffers[0].at(0, piece_size);
        OWF_RETURN_IF_ERROR(file.read_at(at, piece));
        checksum.update(piece);
        return Status();
      }));
  return checksum.digest();
}

Writer::Writer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Writer::Writer(Writer&&) noexcept = default;
Writer& Writer::operator=(Writer&&) noexcept = default;
Writer::~Writer() = default;

Result<Writer> Writer::create(const std::filesystem::path& target, const WriteOptions& options) {
  if (Status status = validate_write_options(options); !status.ok()) return status.with_context(target.string());
  std::vector<Impl::Slot> slots;
  if (options.compression) {
    // Twice as many chunks as threads per batch: one slow chunk leaves the other threads work.
    for (unsigned i = 0; i < 2 * resolve_threads(options.threads); ++i) {
      auto created = detail::ChunkEncoder::create(options.compression->level);
      if (!created.ok()) return created.status().with_context(target.string());
      slots.push_back({std::move(created).value(), {}, {}});
    }
  }
  OWF_ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::create(target, options.overwrite));
  std::unique_ptr<Impl> impl;
  try {
    impl = std::make_unique<Impl>(std::move(file), options);
  } catch (const std::system_error& error) {  // the hashing thread could not start
    return Status::io_error(target.string() + ": cannot start a thread: " + error.what());
  }
  impl->slots = std::move(slots);
  impl->data_end = *checked_align_up(detail::Preamble::kSize, options.alignment);  // data_start
  return Writer(std::move(impl));
}

Status Writer::add(const TensorInfo& info, const TensorSource& source) {
  Impl& s = *impl_;
  if (s.broken) return Status::invalid_argument(s.where() + ": an earlier failure stopped this writer");
  OWF_RETURN_IF_ERROR(s.check_tensor(info));
  const auto offset = checked_align_up(s.data_end, s.options.alignment);
  if (!offset) return Status::invalid_argument(s.where() + ": file offsets overflow");

  TensorDigester digester(info);
  // Empty tensors stay raw: a chunk header would only add bytes.
  auto stored = s.options.compression && info.byte_size > 0 ? s.write_compressed(info, source, digester, *offset)
                                                            : s.write_raw(info, source, digester, *offset);
  if (!stored.ok()) {
    s.broken = true;
    return stored.status();
  }
  s.data_end = stored->offset + stored->stored_size;
  detail::TensorRecord(info, *stored).encode_to(s.records);
  ++s.tensor_count;
  s.names.insert(info.name);
  s.digests.emplace_back(info.name, digester.finish());
  return {};
}

Status Writer::add(const TensorInfo& info, std::span<const std::byte> data) {
  if (data.size() != info.byte_size) {
    return Status::invalid_argument(impl_->where() + ": tensor " + quote(info.name) + ": " +
                                    std::to_string(data.size()) + " bytes given for a tensor of " +
                                    std::to_string(info.byte_size));
  }
  return add(info, [data](std::uint64_t offset, std::span<std::byte> dst) {
    std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(offset), dst.size(), dst.begin());
    return Status();
  });
}

Status Writer::finish(std::string_view metadata_json) {
  Impl& s = *impl_;
  if (s.broken) return Status::invalid_argument(s.where() + ": an earlier failure stopped this writer");
  if (Status status = validate_metadata(metadata_json, s.where()); !status.ok()) {
    return Status::invalid_argument(status.message());
  }
  std::vector<std::byte> header;
  detail::HeaderStart{content_digest(), s.tensor_count, metadata_json}.encode_to(header);
  append_bytes(header, s.records);
  const std::uint64_t capacity = detail::header_capacity_for(header.size(), s.options);
  if (capacity > detail::kMaxHeaderCapacity) {
    return Status::invalid_argument(s.where() + ": header of " + std::to_string(header.size()) + " bytes plus " +
                                    std::to_string(s.options.header_slack) + " bytes of slack exceeds " +
                                    std::to_string(detail::kMaxHeaderCapacity) + " bytes");
  }
  const auto header_offset = checked_align_up(s.data_end, detail::kHeaderAlignment);
  if (!header_offset) return Status::invalid_argument(s.where() + ": file offsets overflow");
  s.broken = true;  // from here on, whatever happens, this writer is spent
  const auto write_at = [&s](std::uint64_t offset, std::span<const std::byte> bytes) {
    return s.file.write_at(offset, bytes);
  };
  OWF_RETURN_IF_ERROR(s.file.write_at(*header_offset, header));
  OWF_RETURN_IF_ERROR(detail::write_zeros(write_at, *header_offset + header.size(), capacity - header.size()));
  const detail::Preamble preamble{kFormatMajor,  s.minor_version, s.options.alignment, *header_offset,
                                  header.size(), capacity,        detail::xxh3(header)};
  OWF_RETURN_IF_ERROR(s.file.write_at(0, preamble.encode()));
  return s.file.commit();
}

Digest Writer::content_digest() const { return combine_digests(impl_->digests); }

Status write_owf(const Model& model, const OutputMetadata& metadata, const std::filesystem::path& target,
                 const WriteOptions& options) {
  WriteOptions with_total = options;
  if (options.progress) {
    with_total.progress = [&options, total = model.total_bytes()](std::uint64_t done, std::uint64_t) {
      options.progress(done, total);
    };
  }
  OWF_ASSIGN_OR_RETURN(Writer writer, Writer::create(target, with_total));
  const std::vector<TensorInfo>& tensors = model.tensors();
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    OWF_RETURN_IF_ERROR(writer.add(tensors[i], [&model, i](std::uint64_t offset, std::span<std::byte> dst) {
      return model.read(i, offset, dst);
    }));
  }
  OWF_ASSIGN_OR_RETURN(const std::string text, metadata.complete({writer.content_digest()}));
  return writer.finish(text);
}

}  // namespace owf
