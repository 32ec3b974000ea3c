// Reading .owf files: Reader::open checks every structural rule of spec §9
// before it exposes a tensor; verify() checks the rest. Also replace_metadata.
#include <algorithm>
#include <mutex>
#include <string>
#include <unordered_set>

#include "boundary.h"
#include "chunked.h"
#include "in_place_file.h"
#include "layout.h"
#include "owf/container.h"
#include "owf/internal/bytes.h"
#include "owf/internal/checked.h"
#include "owf/internal/strings.h"
#include "owf/metadata.h"
#include "owf/text.h"
#include "owf/threads.h"
#include "owf/write_options.h"
#include "pieces.h"
#include "value_check.h"

namespace owf {

struct Reader::ChunkIndex : detail::ChunkTable {};

// What one thread needs to decode chunks. Creating a zstd context costs about
// as much as decoding a 1 MiB chunk, so a read borrows them from the reader.
struct Reader::ScratchPool {
  struct Scratch {
    detail::ChunkDecoder decoder;
    std::vector<std::byte> partial;  // a chunk of which the read wants only part
  };

  std::vector<Scratch> take(unsigned count) {
    std::vector<Scratch> taken;
    taken.reserve(count);
    {
      const std::lock_guard lock(mutex);
      while (taken.size() < count && !idle.empty()) {
        taken.push_back(std::move(idle.back()));
        idle.pop_back();
      }
    }
    taken.resize(count);  // new ones for the rest
    return taken;
  }
  void give_back(std::vector<Scratch>& scratches) {
    const std::lock_guard lock(mutex);
    for (Scratch& scratch : scratches) idle.push_back(std::move(scratch));
  }

  std::mutex mutex;
  std::vector<Scratch> idle;
};

namespace {

using detail::ChunkTable;

using detail::hex64;

// Reads bytes [begin, end) of `file` piece by piece into `buffer`.
template <typename Visit>
Status for_each_piece(const ByteSource& file, std::uint64_t begin, std::uint64_t end, std::vector<std::byte>& buffer,
                      Visit&& visit) {
  return detail::for_each_span(begin, end, kReadPieceBytes, [&](std::uint64_t at, std::uint64_t size) {
    buffer.resize(size);
    OWF_RETURN_IF_ERROR(file.read_at(at, buffer));
    return visit(at, std::span<const std::byte>(buffer));
  });
}

// Decodes chunk `chunk` of a compressed tensor into dst (its whole decoded
// length), from the map of a local file (no copy) or fetched: open() checked that the chunks lie in the file.
Status decode_chunk(const ByteSource& file, const StoredTensor& stored, const ChunkTable& table, DType dtype,
                    std::uint64_t chunk, detail::ChunkDecoder& decoder, std::span<std::byte> dst) {
  const std::uint64_t begin = table.frame_begin(chunk);
  OWF_ASSIGN_OR_RETURN(const Region frame, file.region(stored.offset + begin, table.frame_ends[chunk] - begin));
  const Status status =
      decoder.decode(frame.bytes(), table.filter, detail::group_width_of(table.filter, dtype), dst);
  return status.with_context("chunk " + std::to_string(chunk) + " at offset " + std::to_string(stored.offset + begin));
}

// Checks one tensor's checksum and, unless `decode` is false (an encoding this
// reader does not know), its decoded bytes: every chunk decodes, and bool and
// packed values follow §5. Feeds the decoded bytes to `digester` when one is given.
Status check_tensor_bytes(const ByteSource& file, const TensorInfo& info, const StoredTensor& stored,
                          const ChunkTable* table, bool decode, TensorDigester* digester) {
  std::vector<std::byte> buffer;
  detail::Xxh3Stream checksum;
  detail::DecodedValueCheck values(info);
  const bool raw = decode && table == nullptr;
  OWF_RETURN_IF_ERROR(for_each_piece(file, stored.offset, stored.offset + stored.stored_size, buffer,
                                     [&](std::uint64_t, std::span<const std::byte> piece) {
                                       checksum.update(piece);
                                       if (raw && digester != nullptr) digester->update(piece);
                                       if (raw) values.update(piece);
                                       return Status();
                                     }));
  const std::uint64_t computed = checksum.digest();
  if (computed != stored.checksum) {
    return Status::corruption("checksum mismatch over stored bytes " + std::to_string(stored.offset) + ".." +
                              std::to_string(stored.offset + stored.stored_size) + " (recorded " +
                              hex64(stored.checksum) + ", computed " + hex64(computed) + ")");
  }
  if (decode && table != nullptr) {
    detail::ChunkDecoder decoder;
    for (std::uint64_t chunk = 0; chunk < table->chunk_count(); ++chunk) {
      buffer.resize(table->chunk_length(chunk));
      OWF_RETURN_IF_ERROR(decode_chunk(file, stored, *table, info.dtype, chunk, decoder, buffer));
      if (digester != nullptr) digester->update(buffer);
      values.update(buffer);
    }
  }
  if (values.problem()) return Status::corruption(*values.problem());
  return {};
}

// Offset of the first nonzero byte in [begin, end) of the file, if any.
Result<std::optional<std::uint64_t>> find_nonzero(const ByteSource& file, std::uint64_t begin, std::uint64_t end) {
  std::vector<std::byte> buffer;
  std::optional<std::uint64_t> found;
  OWF_RETURN_IF_ERROR(for_each_piece(file, begin, end, buffer, [&](std::uint64_t at, std::span<const std::byte> piece) {
    const auto it = std::find_if(piece.begin(), piece.end(), [](std::byte b) { return b != std::byte{0}; });
    if (it != piece.end() && !found) found = at + static_cast<std::uint64_t>(it - piece.begin());
    return Status();
  }));
  return found;
}

// Where the header must start for these tensors: align_up(data_end, 8) (§2).
std::uint64_t expected_header_offset(std::uint32_t alignment, const std::vector<StoredTensor>& stored) {
  const std::uint64_t data_start = *checked_align_up(detail::Preamble::kSize, alignment);
  const std::uint64_t data_end = stored.empty() ? data_start : stored.back().offset + stored.back().stored_size;
  return *checked_align_up(data_end, detail::kHeaderAlignment);  // open() checked it does not overflow
}

// Where open reads the chunk tables of compressed tensors from (each at the
// start of its tensor's stored bytes, §6.2): a map, without a copy. Of a remote
// file they are fetched before the records are checked, with as few requests as
// possible: each table's likely extent (its header and the lengths of chunks of
// the writer's default size) is joined with the next when less than one first
// request's worth of bytes lies between them, up to kMaxRun bytes a run, and
// each run is one request. A table longer than its guess costs one more.
class ChunkTables {
 public:
  explicit ChunkTables(const ByteSource& file) : file_(file) {}

  // Fetches the runs of the zstd-chunked tensors among `records` (of a remote file). Records
  // whose extent is not sane are left to accept() to refuse.
  Status prefetch(std::span<const detail::TensorRecord> records) {
    if (file_.mapped()) return {};
    struct Extent {
      std::uint64_t begin, end;
    };
    std::vector<Extent> extents;
    for (const detail::TensorRecord& record : records) {
      const DTypeInfo* dtype = find_dtype(record.dtype_id);
      if (record.encoding != Encoding::kZstdChunked || dtype == nullptr) continue;
      const auto decoded = storage_size(dtype->id, record.shape);
      if (!decoded.ok()) continue;
      const std::uint64_t chunks = *decoded / kLikelyChunkSize + (*decoded % kLikelyChunkSize != 0 ? 1 : 0);
      const std::uint64_t size = std::min(record.stored_length, ChunkTable::encoded_size(chunks));  // < 2^48
      const auto end = checked_add(record.offset, size);
      // The first request's bytes are kept by the source: a table among them costs nothing.
      if (!end || *end > file_.size() || *end <= kUrlPrefixBytes) continue;
      extents.push_back({record.offset, *end});
    }
    std::sort(extents.begin(), extents.end(), [](const Extent& a, const Extent& b) { return a.begin < b.begin; });
    for (std::size_t i = 0; i < extents.size();) {
      Extent run = extents[i];
      for (++i; i < extents.size() && extents[i].begin >= run.end && extents[i].begin - run.end < kUrlPrefixBytes &&
                extents[i].end - run.begin <= kMaxRun;
           ++i) {
        run.end = extents[i].end;
      }
      OWF_ASSIGN_OR_RETURN(Region bytes, file_.region(run.begin, run.end - run.begin));
      runs_.push_back({run.begin, std::move(bytes)});
    }
    return {};
  }

  // The first bytes of a zstd-chunked tensor's stored bytes that hold its chunk header and table:
  // all of them from a map, else the header and the table it announces, so that a remote file is
  // not read beyond its tables.
  Result<Region> bytes(std::uint64_t offset, std::uint64_t stored_length) const {
    if (file_.mapped()) return file_.region(offset, stored_length);
    OWF_ASSIGN_OR_RETURN(Region header, read(offset, std::min(stored_length, ChunkTable::kHeaderSize)));
    if (header.size() < ChunkTable::kHeaderSize) return header;  // decode() says what is missing
    const auto entries = checked_mul(load_le<std::uint64_t>(header.bytes().data() + 8), 8);
    const auto table_end = entries ? checked_add(ChunkTable::kHeaderSize, *entries) : std::nullopt;
    if (!table_end || *table_end > stored_length) return header;  // decode() refuses the count
    return read(offset, *table_end);
  }

 private:
  // Joined runs stay below this, so that a model of many small tensors is not fetched whole at open.
  static constexpr std::uint64_t kMaxRun = 16u << 20;
  static constexpr std::uint64_t kLikelyChunkSize = CompressionOptions{}.chunk_size;  // the writer's default

  // Bytes [offset, offset + size): a view of a run that holds them, else fetched.
  Result<Region> read(std::uint64_t offset, std::uint64_t size) const {
    const auto after = std::upper_bound(runs_.begin(), runs_.end(), offset,
                                        [](std::uint64_t at, const Run& run) { return at < run.offset; });
    if (after != runs_.begin()) {
      const Run& run = *std::prev(after);
      const std::uint64_t skip = offset - run.offset;
      if (skip <= run.bytes.size() && size <= run.bytes.size() - skip) {
        return Region::borrowed(run.bytes.bytes().subspan(skip, size));
      }
    }
    return file_.region(offset, size);
  }

  struct Run {
    std::uint64_t offset;
    Region bytes;
  };
  const ByteSource& file_;
  std::vector<Run> runs_;  // by offset
};

// What a tensor record means in this file (§4-§6), checked record by record in file order.
struct RecordChecks {
  struct Tensor {
    TensorInfo info;
    std::optional<ChunkTable> chunks;  // for zstd-chunked
  };

  const detail::Preamble& preamble;
  const ChunkTables& tables;
  std::uint64_t data_end;                      // data_start, then where the previous tensor ends
  std::unordered_set<std::string_view> names;  // views into the mapped header

  Result<Tensor> accept(const detail::TensorRecord& record, std::uint64_t index) {
    const std::string tensor = "tensor " + quote(record.name);
    const auto fail = [&tensor](const std::string& what) { return Status::corruption(tensor + ": " + what); };
    const std::uint64_t record_offset = record.record_offset;
    if (!names.insert(record.name).second) {
      return Status::corruption(tensor + ": duplicate name (tensor record " + std::to_string(index) + " at offset " +
                                std::to_string(record_offset) + ")");
    }
    // An encoding or filter id of a later minor version leaves the tensor listed but undecodable (§3).
    const bool newer_minor = preamble.minor > kFormatMinor;
    const DTypeInfo* dtype = find_dtype(record.dtype_id);
    if (dtype == nullptr) {
      const std::string newer = newer_minor ? " (the file is version " + preamble.version() +
                                                  ", newer than this reader's " + detail::library_format_version() + ")"
                                            : "";
      return fail("unknown dtype id " + std::to_string(record.dtype_id) + " at offset " +
                  std::to_string(record_offset + 4) + newer);
    }
    if (!is_known(record.encoding) && !newer_minor) {
      return fail("unknown encoding " + std::to_string(static_cast<unsigned>(record.encoding)) + " at offset " +
                  std::to_string(record_offset + 6));
    }
    const auto decoded_size = storage_size(dtype->id, record.shape);
    if (!decoded_size.ok()) return fail(decoded_size.status().message());
    // Extension bytes belong to a later minor version: neither 1.0 nor 1.1 defines any.
    if (!newer_minor && record.extension_length != 0) {
      return Status::corruption("tensor record " + std::to_string(index) + " at offset " +
                                std::to_string(record_offset) + ": " + std::to_string(record.extension_length) +
                                " bytes beyond its fields, which a version " + preamble.version() +
                                " record does not have");
    }

    // Placement (§4): each tensor exactly where the previous one ends, aligned.
    const auto expected = checked_align_up(data_end, preamble.alignment);
    if (!expected || record.offset != *expected) {
      const std::string alignment = std::to_string(preamble.alignment);
      const std::string where =
          index == 0 ? "the data start for alignment " + alignment
                     : "previous tensor ends at " + std::to_string(data_end) + ", alignment " + alignment;
      return fail("offset " + std::to_string(record.offset) + " should be " +
                  (expected ? std::to_string(*expected) : std::string("beyond 2^64")) + " (" + where + ")");
    }
    const auto end = checked_add(record.offset, record.stored_length);
    if (!end || *end > preamble.header_offset) {
      return fail("stored bytes at offset " + std::to_string(record.offset) + " of length " +
                  std::to_string(record.stored_length) + " run past the header at offset " +
                  std::to_string(preamble.header_offset));
    }
    Tensor result{TensorInfo{std::string(record.name), dtype->id, record.shape, *decoded_size}, std::nullopt};
    if (record.encoding == Encoding::kRaw) {
      if (record.stored_length != *decoded_size) {
        return fail("stored length " + std::to_string(record.stored_length) + " does not match its decoded size " +
                    std::to_string(*decoded_size) + " (" + std::string(dtype->name) + " " +
                    detail::shape_text(record.shape) + ")");
      }
    } else if (record.encoding == Encoding::kZstdChunked) {
      auto table_bytes = tables.bytes(record.offset, record.stored_length);
      if (!table_bytes.ok()) return table_bytes.status();
      auto table = ChunkTable::decode(table_bytes->bytes(), record.stored_length, record.offset, dtype->id,
                                      *decoded_size, preamble.minor);
      if (!table.ok()) return fail(table.status().message());
      result.chunks = std::move(table).value();
    }
    data_end = *end;
    return result;
  }
};

}  // namespace

Reader::Reader(std::shared_ptr<const ByteSource> source, unsigned threads)
    : source_(std::move(source)),
      threads_(threads),
      display_name_(source_->name()),
      scratch_(std::make_unique<ScratchPool>()) {}

Reader::~Reader() = default;

Result<std::unique_ptr<Reader>> Reader::open(const std::filesystem::path& path, unsigned threads) {
  return detail::guarded(path.string(), [&]() -> Result<std::unique_ptr<Reader>> {
    OWF_ASSIGN_OR_RETURN(std::shared_ptr<const ByteSource> source, open_source(path));
    return open(std::move(source), threads);
  });
}

Result<std::unique_ptr<Reader>> Reader::open(std::shared_ptr<const ByteSource> source, unsigned threads) {
  return detail::guarded(source->name(), [&]() -> Result<std::unique_ptr<Reader>> {
    std::unique_ptr<Reader> reader(new Reader(std::move(source), threads));
    OWF_RETURN_IF_ERROR(reader->parse());
    return reader;
  });
}

Status Reader::parse() {
  const ByteSource& file = *source_;
  const auto fail = [this](const Status& status) {
    return Status::corruption(display_name_ + ": " + status.message());
  };

  // §9 steps 1-4: the preamble, then the header's checksum.
  OWF_ASSIGN_OR_RETURN(const Region start_bytes,
                       file.region(0, std::min<std::uint64_t>(file.size(), detail::Preamble::kSize)));
  auto preamble = detail::Preamble::decode(start_bytes.bytes(), file.size());
  if (!preamble.ok()) return fail(preamble.status());
  major_ = preamble->major;
  minor_ = preamble->minor;
  alignment_ = preamble->alignment;
  header_offset_ = preamble->header_offset;
  header_length_ = preamble->header_length;
  header_capacity_ = preamble->header_capacity;
  OWF_ASSIGN_OR_RETURN(const Region header_bytes, file.region(header_offset_, header_length_));
  const std::span<const std::byte> header = header_bytes.bytes();
  if (const std::uint64_t computed = detail::xxh3(header); computed != preamble->header_checksum) {
    return fail(Status::corruption("header checksum mismatch at offset " + std::to_string(header_offset_) +
                                   " (recorded " + detail::hex64(preamble->header_checksum) + ", computed " +
                                   detail::hex64(computed) + ")"));
  }

  // §9 step 5: the header's fields, each count checked against what remains, then every record.
  ByteCursor cursor(header, header_offset_);
  auto start = detail::HeaderStart::decode_from(cursor);
  if (!start.ok()) return fail(start.status());
  std::copy(start->content_digest.begin(), start->content_digest.end(), recorded_digest_.begin());
  metadata_ = std::string(start->metadata);
  OWF_RETURN_IF_ERROR(validate_metadata(metadata_, display_name_));
  if (Status limit =
          check_tensor_count(start->tensor_count, "tensor count at offset " + std::to_string(header_offset_ + 32));
      !limit.ok()) {
    return fail(Status::corruption("header: " + limit.message()));
  }
  tensors_.reserve(start->tensor_count);
  stored_.reserve(start->tensor_count);
  chunk_indexes_.reserve(start->tensor_count);
  // Every record is decoded first, so that the chunk tables of all can be fetched together; a
  // record that does not decode is reported after the checks of those before it.
  std::vector<detail::TensorRecord> records;
  records.reserve(start->tensor_count);
  Status undecoded;
  for (std::uint64_t i = 0; i < start->tensor_count && undecoded.ok(); ++i) {
    auto record = detail::TensorRecord::decode_from(cursor, i);
    if (record.ok()) {
      records.push_back(std::move(record).value());
    } else {
      undecoded = record.status();
    }
  }
  ChunkTables tables(file);
  OWF_RETURN_IF_ERROR(tables.prefetch(records));
  RecordChecks checks{*preamble, tables, *checked_align_up(detail::Preamble::kSize, alignment_), {}};
  for (std::uint64_t i = 0; i < records.size(); ++i) {
    const detail::TensorRecord& record = records[i];
    auto tensor = checks.accept(record, i);
    if (!tensor.ok()) return fail(tensor.status());
    tensors_.push_back(std::move(tensor->info));
    stored_.push_back(record.stored());
    chunk_indexes_.push_back(tensor->chunks ? std::make_shared<ChunkIndex>(ChunkIndex{std::move(*tensor->chunks)})
                                            : nullptr);
  }
  if (!undecoded.ok()) return fail(undecoded);
  if (minor_ <= kFormatMinor && !cursor.at_end()) {  // bytes of a later minor version
    return fail(Status::corruption(std::to_string(cursor.remaining()) + " bytes after the tensor records at offset " +
                                   std::to_string(cursor.offset()) + ", which a version " + preamble->version() +
                                   " header does not have"));
  }

  // §9 step 6: the header lies in the header region, at most one header cap after its start.
  if (const std::uint64_t region = *checked_align_up(checks.data_end, detail::kHeaderAlignment);
      header_offset_ < region) {
    return fail(Status::corruption("header at offset " + std::to_string(header_offset_) +
                                   " starts before the header region at " + std::to_string(region)));
  } else if (header_offset_ - region > detail::kMaxHeaderCapacity) {
    return fail(Status::corruption("header at offset " + std::to_string(header_offset_) + " is more than " +
                                   std::to_string(detail::kMaxHeaderCapacity) +
                                   " bytes past the start of the header region at " + std::to_string(region)));
  }
  return {};
}

std::uint64_t Reader::header_region_start() const { return expected_header_offset(alignment_, stored_); }

std::string Reader::format() const { return "owf " + std::to_string(major_) + "." + std::to_string(minor_); }

Status Reader::read(std::size_t index, std::uint64_t offset, std::span<std::byte> dst) const {
  OWF_RETURN_IF_ERROR(check_read_range(tensors_, index, offset, dst.size(), display_name_));
  OWF_RETURN_IF_ERROR(check_decodable(index));
  const TensorInfo& info = tensors_[index];
  const StoredTensor& stored = stored_[index];
  const std::uint64_t end = offset + dst.size();  // check_read_range ruled out overflow
  if (dst.empty()) return {};
  if (stored.encoding == Encoding::kRaw) return source_->read_at(stored.offset + offset, dst);

  // Decode only the chunks the range touches, on several threads when there
  // are several; whole chunks go straight into dst.
  const ChunkTable& table = *chunk_indexes_[index];
  const std::uint64_t first = offset / table.chunk_size;
  const std::uint64_t count = (end - 1) / table.chunk_size + 1 - first;
  const unsigned threads = static_cast<unsigned>(std::min<std::uint64_t>(resolve_threads(threads_), count));
  std::vector<ScratchPool::Scratch> scratches = scratch_->take(threads);
  const Status status = parallel_for(count, threads, [&](std::size_t i, unsigned worker) {
    ScratchPool::Scratch& scratch = scratches[worker];
    const std::uint64_t chunk = first + i;
    const std::uint64_t chunk_start = chunk * table.chunk_size;
    const std::uint64_t chunk_length = table.chunk_length(chunk);
    const std::uint64_t from = std::max(offset, chunk_start), to = std::min(end, chunk_start + chunk_length);
    const auto target = dst.subspan(from - offset, to - from);
    chunks_decoded_.fetch_add(1, std::memory_order_relaxed);
    if (from == chunk_start && to == chunk_start + chunk_length) {
      return decode_chunk(*source_, stored, table, info.dtype, chunk, scratch.decoder, target);
    }
    scratch.partial.resize(chunk_length);
    OWF_RETURN_IF_ERROR(decode_chunk(*source_, stored, table, info.dtype, chunk, scratch.decoder, scratch.partial));
    std::copy_n(scratch.partial.begin() + static_cast<std::ptrdiff_t>(from - chunk_start), target.size(),
                target.begin());
    return Status();
  });
  scratch_->give_back(scratches);
  return status.with_context(display_name_ + ": tensor " + quote(info.name));
}

std::optional<std::span<const std::byte>> Reader::view(std::size_t index) const {
  const auto mapped = source_->mapped();
  if (!mapped || index >= stored_.size() || stored_[index].encoding != Encoding::kRaw) return std::nullopt;
  return mapped->subspan(stored_[index].offset, stored_[index].stored_size);
}

std::string Reader::encoding(std::size_t index) const {
  const Encoding encoding = stored_[index].encoding;
  if (encoding == Encoding::kRaw) return "raw";
  if (!is_known(encoding)) return "encoding " + std::to_string(static_cast<unsigned>(encoding));
  const detail::ChunkFilter filter = chunk_indexes_[index]->filter;
  switch (filter) {
    case detail::ChunkFilter::kNone: return "zstd";
    case detail::ChunkFilter::kByteGroup: return "zstd+bytegroup";
    case detail::ChunkFilter::kLanes: return "zstd+lanes";
  }
  return "zstd+filter " + std::to_string(static_cast<unsigned>(filter));
}

Status Reader::check_decodable(std::size_t index) const {
  const Encoding encoding = stored_[index].encoding;
  std::string unknown;
  if (!is_known(encoding)) {
    unknown = "encoding " + std::to_string(static_cast<unsigned>(encoding));
  } else if (encoding == Encoding::kZstdChunked && !detail::is_known(chunk_indexes_[index]->filter)) {
    unknown = "chunk filter " + std::to_string(static_cast<unsigned>(chunk_indexes_[index]->filter));
  } else {
    return {};
  }
  return Status::not_supported(display_name_ + ": tensor " + quote(tensors_[index].name) + ": " + unknown +
                               " of format version " + std::to_string(major_) + "." + std::to_string(minor_) +
                               " is not supported by this reader (" + detail::library_format_version() + ")");
}

std::uint64_t Reader::stored_size(std::size_t index) const { return stored_[index].stored_size; }

Status Reader::verify_tensor(std::size_t index) const {
  if (index >= tensors_.size()) {
    return Status::invalid_argument(display_name_ + ": no tensor with index " + std::to_string(index));
  }
  const Status decodable = check_decodable(index);
  const Status status =
      check_tensor_bytes(*source_, tensors_[index], stored_[index], chunk_indexes_[index].get(), decodable.ok(), nullptr);
  if (!status.ok()) return status.with_context(display_name_ + ": tensor " + quote(tensors_[index].name));
  return decodable;
}

void Reader::verify(std::vector<Problem>& problems) const {
  // Tensors are checked on several threads, each into its own slot; problems
  // are then reported in tensor order, whatever the thread count.
  std::vector<Status> statuses(tensors_.size());
  std::vector<Status> decodable(tensors_.size());
  std::vector<Digest> tensor_digests(tensors_.size());
  (void)parallel_for(tensors_.size(), threads_, [&](std::size_t i, unsigned) {
    TensorDigester digester(tensors_[i]);
    // An undecodable tensor still has its stored bytes' checksum checked.
    decodable[i] = check_decodable(i);
    statuses[i] =
        check_tensor_bytes(*source_, tensors_[i], stored_[i], chunk_indexes_[i].get(), decodable[i].ok(), &digester);
    if (statuses[i].ok()) tensor_digests[i] = digester.finish();
    return Status();
  });
  std::vector<std::pair<std::string, Digest>> digests;
  bool all_read = true;
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    if (!statuses[i].ok()) {
      problems.push_back({display_name_ + ": tensor " + quote(tensors_[i].name) + ": " + statuses[i].message()});
      all_read = false;
    } else if (!decodable[i].ok()) {
      problems.push_back({decodable[i].message()});
      all_read = false;
    } else {
      digests.emplace_back(tensors_[i].name, tensor_digests[i]);
    }
  }

  // Every byte that is not preamble, tensor or header must be zero.
  const auto check_zero = [&](std::uint64_t begin, std::uint64_t end, const std::string& what) {
    auto nonzero = find_nonzero(*source_, begin, end);
    if (!nonzero.ok()) {
      problems.push_back({nonzero.status().message()});
    } else if (*nonzero) {
      problems.push_back({display_name_ + ": " + what + " has a nonzero byte at offset " + std::to_string(**nonzero)});
    }
  };
  std::uint64_t gap_start = detail::Preamble::kSize;
  std::string after = "the preamble";
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    check_zero(gap_start, stored_[i].offset, "padding after " + after);
    gap_start = stored_[i].offset + stored_[i].stored_size;
    after = "tensor " + quote(tensors_[i].name);
  }
  // Free space in the header region may hold an earlier header after an interrupted edit (§2).
  check_zero(gap_start, header_region_start(), "padding after " + after);

  if (all_read) {
    const Digest computed = combine_digests(std::move(digests));
    if (computed != recorded_digest_) {
      problems.push_back({display_name_ + ": content digest mismatch (header records " + to_hex(recorded_digest_) +
                          ", tensors give " + to_hex(computed) + ")"});
    }
  }
}

Status replace_metadata(const std::filesystem::path& path, std::string_view metadata_json, bool* in_place) {
  OWF_ASSIGN_OR_RETURN(const std::unique_ptr<Reader> reader, Reader::open(path));
  // The records are rewritten without extension bytes, which a newer minor version may define.
  if (reader->minor_version() > kFormatMinor) {
    return Status::not_supported(path.string() + ": format version " + std::to_string(kFormatMajor) + "." +
                                 std::to_string(reader->minor_version()) + " is newer than this library's " +
                                 std::to_string(kFormatMajor) + "." + std::to_string(kFormatMinor) +
                                 "; the metadata of this file cannot be edited");
  }
  if (Status status = validate_metadata(metadata_json, path.string()); !status.ok()) {
    return Status::invalid_argument(status.message());
  }
  // The records are written anew: the data does not move.
  std::vector<std::byte> header;
  detail::HeaderStart{reader->recorded_digest(), reader->tensors().size(), metadata_json}.encode_to(header);
  for (std::size_t i = 0; i < reader->tensors().size(); ++i) {
    detail::TensorRecord(reader->tensors()[i], reader->stored(i)).encode_to(header);
  }
  const std::uint64_t region = reader->header_region_start();
  const std::uint64_t live = reader->header_offset();
  const std::uint64_t file_end = live + reader->header_capacity();
  const std::uint64_t after_live = *checked_align_up(live + reader->header_length(), detail::kHeaderAlignment);

  // §8: the new header goes into free space, never over the live one.
  std::optional<std::uint64_t> slot;
  if (region + header.size() <= live) {
    slot = region;
  } else if (after_live <= file_end && header.size() <= file_end - after_live) {
    slot = after_live;
  }
  if (in_place != nullptr) *in_place = slot.has_value();
  if (slot) {
    const detail::Preamble preamble{kFormatMajor,  reader->minor_version(), reader->alignment(), *slot,
                                    header.size(), file_end - *slot,        detail::xxh3(header)};
    OWF_ASSIGN_OR_RETURN(detail::InPlaceFile file, detail::InPlaceFile::open(path));
    const auto write_at = [&file](std::uint64_t offset, std::span<const std::byte> bytes) {
      return file.write_at(offset, bytes);
    };
    // Each step durable before the next: the new header, the preamble that switches to it
    // (one 64-byte write), then zeros over the free space, the old header included.
    OWF_RETURN_IF_ERROR(file.write_at(*slot, header));
    OWF_RETURN_IF_ERROR(file.sync());
    OWF_RETURN_IF_ERROR(file.write_at(0, preamble.encode()));
    OWF_RETURN_IF_ERROR(file.sync());
    OWF_RETURN_IF_ERROR(detail::write_zeros(write_at, region, *slot - region));
    OWF_RETURN_IF_ERROR(detail::write_zeros(write_at, *slot + header.size(), file_end - *slot - header.size()));
    return file.sync();
  }

  // No room: copy the data region verbatim to a new file with the new header and fresh slack.
  const std::uint64_t capacity = detail::header_capacity_for(header.size(), WriteOptions{});
  if (capacity > detail::kMaxHeaderCapacity) {
    return Status::invalid_argument(path.string() + ": metadata makes the header exceed " +
                                    std::to_string(detail::kMaxHeaderCapacity) + " bytes");
  }
  const detail::Preamble preamble{kFormatMajor, reader->minor_version(), reader->alignment(), region, header.size(),
                                  capacity,     detail::xxh3(header)};
  OWF_ASSIGN_OR_RETURN(const std::shared_ptr<const ByteSource> source, open_source(path));
  OWF_ASSIGN_OR_RETURN(AtomicFile output, AtomicFile::create(path, /*overwrite=*/true));
  std::vector<std::byte> buffer;
  OWF_RETURN_IF_ERROR(for_each_piece(
      *source, 0, region, buffer,
      [&output](std::uint64_t at, std::span<const std::byte> piece) { return output.write_at(at, piece); }));
  const auto write_at = [&output](std::uint64_t offset, std::span<const std::byte> bytes) {
    return output.write_at(offset, bytes);
  };
  OWF_RETURN_IF_ERROR(output.write_at(region, header));
  OWF_RETURN_IF_ERROR(detail::write_zeros(write_at, region + header.size(), capacity - header.size()));
  OWF_RETURN_IF_ERROR(output.write_at(0, preamble.encode()));
  return output.commit();
}

}  // namespace owf
