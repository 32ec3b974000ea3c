#include <algorithm>
#include <unordered_set>
#include <utility>

#include "gguf/gguf_file.h"
#include "gguf/gguf_metadata.h"
#include "gguf/gguf_model.h"
#include "owf/internal/checked.h"
#include "owf/io.h"
#include "owf/source.h"
#include "owf/text.h"

namespace owf::formats::gguf {
namespace {

// ggml's pre-GGUF files start with a u32 magic written little-endian, so 'ggml' reads "lmgg".
struct LegacyMagic {
  std::string_view bytes;
  std::string_view description;
  bool is_model;  // session files hold inference state, not weights
};

constexpr LegacyMagic kLegacyMagics[] = {
    {"lmgg", "legacy ggml file", true},        {"fmgg", "legacy GGMF file", true},
    {"tjgg", "legacy GGJT file", true},        {"algg", "legacy ggml LoRA adapter", true},
    {"nsgg", "llama.cpp session file", false}, {"qsgg", "llama.cpp sequence state file", false},
};

// The smallest key-value (empty key, type, one-byte value) and tensor info (empty name, no
// dimensions, type, offset), used to bound the counts before anything is reserved.
constexpr std::uint64_t kMinKeyValueBytes = 8 + 4 + 1;
constexpr std::uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;

struct ByteRange {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

// Everything open() learns from the bytes: the layout, the tensors and where their data is.
struct ParsedFile {
  FileLayout layout;
  std::vector<TensorInfo> tensors;
  std::vector<std::uint64_t> data_offsets;  // absolute, one per tensor
  std::vector<ByteRange> padding;           // bytes that must be zero for an exact round trip
};

Status check_version(std::uint32_t version) {
  if (version == 2 || version == 3) return {};
  if (version == 1) {
    return Status::not_supported("GGUF v1 is not supported (its counts are 32-bit); convert it with llama.cpp first");
  }
  const std::uint32_t swapped = __builtin_bswap32(version);
  if ((version & 0xFFFF) == 0 && swapped >= 1 && swapped <= 3) {
    return Status::not_supported("big-endian GGUF (version field at offset 4 is " + std::to_string(swapped) +
                                 " byte-swapped): only little-endian GGUF files are supported");
  }
  return Status::not_supported("GGUF version " + std::to_string(version) +
                               " at offset 4 is not supported (versions 2 and 3 are)");
}

Status check_count(std::uint64_t count, std::uint64_t min_bytes, const ByteCursor& cursor, std::string_view what,
                   std::uint64_t at) {
  if (count <= cursor.remaining() / min_bytes) return {};
  return Status::corruption(std::string(what) + " " + std::to_string(count) + " at offset " + std::to_string(at) +
                            " cannot fit in the " + std::to_string(cursor.remaining()) +
                            " bytes that follow (each takes at least " + std::to_string(min_bytes) + ")");
}

Result<std::vector<KeyValue>> read_key_values(ByteCursor& cursor, std::uint64_t count) {
  std::vector<KeyValue> kvs;
  kvs.reserve(count);
  std::unordered_set<std::string> keys;
  std::uint64_t elements_left = kMaxValueElements;
  for (std::uint64_t i = 0; i < count; ++i) {
    OWF_ASSIGN_OR_RETURN(KeyValue kv, read_key_value(cursor, elements_left));
    elements_left -= std::min<std::uint64_t>(elements_left, kv.size());
    if (!keys.insert(kv.key).second) {
      return Status::corruption("duplicate key " + quote(kv.key) + " at offset " + std::to_string(kv.file_offset));
    }
    kvs.push_back(std::move(kv));
  }
  return kvs;
}

// The owf tensor for a record: dtype from the ggml type, shape reversed (GGUF lists ne[]
// innermost first); owf checks the name, the block structure (ne[0] a multiple of the block) and
// the size.
Result<TensorInfo> tensor_info_from_record(const TensorRecord& record) {
  const std::string where = "tensor info at offset " + std::to_string(record.file_offset);
  const auto dtype = dtype_from_ggml(record.ggml_type);
  if (!dtype) {
    return Status::corruption(where + ": tensor " + quote(record.name) + ": unknown ggml type " +
                              std::to_string(record.ggml_type));
  }
  std::vector<std::uint64_t> shape(record.dims.rbegin(), record.dims.rend());
  auto tensor = make_tensor_info(record.name, *dtype, std::move(shape));
  if (!tensor.ok()) return Status::corruption(where + ": " + tensor.status().message());
  return tensor;
}

// Checks that each tensor's data offset is the running padded sum of the sizes before it and
// that its data lies within the file; fills data_offsets and the padding between tensors.
Status place_tensors(const std::vector<TensorRecord>& records, std::uint64_t data_start, std::uint64_t file_size,
                     ParsedFile& parsed) {
  const std::uint32_t alignment = parsed.layout.alignment;
  std::uint64_t expected = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const TensorRecord& record = records[i];
    const std::string where =
        "tensor " + quote(record.name) + " (info at offset " + std::to_string(record.file_offset) + ")";
    if (record.offset % alignment != 0) {
      return Status::corruption(where + ": data offset " + std::to_string(record.offset) +
                                " is not a multiple of the alignment " + std::to_string(alignment));
    }
    if (record.offset != expected) {
      return Status::corruption(where + ": data offset " + std::to_string(record.offset) + " should be " +
                                std::to_string(expected) + ", the end of the previous tensor padded to the alignment " +
                                std::to_string(alignment));
    }
    const auto begin = checked_add(data_start, record.offset);
    const auto end = begin ? checked_add(*begin, parsed.tensors[i].byte_size) : std::nullopt;
    if (!end || *end > file_size) {
      return Status::corruption(where + ": data of " + std::to_string(parsed.tensors[i].byte_size) +
                                " bytes at data offset " + std::to_string(record.offset) + " (file offset " +
                                std::to_string(begin.value_or(0)) + ") runs past the end of the file (" +
                                std::to_string(file_size) + " bytes)");
    }
    parsed.data_offsets.push_back(*begin);
    const auto padded = checked_align_up(*end - data_start, alignment);
    if (!padded) return Status::corruption(where + ": data end overflows");
    if (i + 1 < records.size()) parsed.padding.push_back({*end, data_start + *padded});
    expected = *padded;
  }
  return {};
}

// The file must end where the content ends (the last tensor's data, or the tensor infos when
// there are no tensors), or after zero padding of that to the alignment.
Status check_file_end(std::uint64_t content_end, std::uint64_t file_size, ParsedFile& parsed) {
  const auto padded_end = checked_align_up(content_end, parsed.layout.alignment);
  if (padded_end && file_size == *padded_end) {
    parsed.layout.tail_padding = true;
    parsed.padding.push_back({content_end, *padded_end});
    return {};
  }
  if (file_size == content_end) {
    parsed.layout.tail_padding = false;
    return {};
  }
  return Status::corruption("the content ends at offset " + std::to_string(content_end) + " but the file has " +
                            std::to_string(file_size) + " bytes (expected " + std::to_string(content_end) +
                            " or, padded to the alignment, " + std::to_string(padded_end.value_or(content_end)) + ")");
}

// Parses the key-values and tensor infos from `bytes`, the first bytes of a file of `file_size`.
Result<ParsedFile> parse_gguf(std::span<const std::byte> bytes, std::uint64_t file_size) {
  ByteCursor cursor(bytes);
  OWF_ASSIGN_OR_RETURN(const auto magic, cursor.bytes(kMagic.size(), "magic"));
  if (!has_gguf_magic(magic)) {
    return Status::corruption("not a GGUF file: magic at offset 0 is " + to_hex(as_chars(magic), " ") +
                              ", expected 47 47 55 46 ('GGUF')");
  }
  ParsedFile parsed;
  OWF_ASSIGN_OR_RETURN(parsed.layout.version, cursor.u32("version"));
  OWF_RETURN_IF_ERROR(check_version(parsed.layout.version));
  const std::uint64_t tensor_count_at = cursor.offset();
  OWF_ASSIGN_OR_RETURN(const std::uint64_t tensor_count, cursor.u64("tensor count"));
  const std::uint64_t kv_count_at = cursor.offset();
  OWF_ASSIGN_OR_RETURN(const std::uint64_t kv_count, cursor.u64("key-value count"));
  OWF_RETURN_IF_ERROR(check_count(kv_count, kMinKeyValueBytes, cursor, "key-value count", kv_count_at));
  OWF_ASSIGN_OR_RETURN(parsed.layout.kvs, read_key_values(cursor, kv_count));
  OWF_ASSIGN_OR_RETURN(parsed.layout.alignment, alignment_of(parsed.layout.kvs));

  OWF_RETURN_IF_ERROR(check_count(tensor_count, kMinTensorInfoBytes, cursor, "tensor count", tensor_count_at));
  OWF_RETURN_IF_ERROR(check_tensor_count(tensor_count, "tensor count at offset " + std::to_string(tensor_count_at)));
  std::vector<TensorRecord> records;
  records.reserve(tensor_count);
  parsed.tensors.reserve(tensor_count);
  std::unordered_set<std::string> names;
  for (std::uint64_t i = 0; i < tensor_count; ++i) {
    OWF_ASSIGN_OR_RETURN(TensorRecord record, read_tensor_record(cursor));
    if (!names.insert(record.name).second) {
      return Status::corruption("duplicate tensor name " + quote(record.name) + " at offset " +
                                std::to_string(record.file_offset));
    }
    OWF_ASSIGN_OR_RETURN(TensorInfo tensor, tensor_info_from_record(record));
    parsed.tensors.push_back(std::move(tensor));
    records.push_back(std::move(record));
  }

  const std::uint64_t infos_end = cursor.offset();
  const auto data_start = checked_align_up(infos_end, parsed.layout.alignment);
  if (!data_start) return Status::corruption("data section start overflows");
  if (!records.empty()) parsed.padding.push_back({infos_end, *data_start});
  OWF_RETURN_IF_ERROR(place_tensors(records, *data_start, file_size, parsed));
  const std::uint64_t content_end =
      records.empty() ? infos_end : parsed.data_offsets.back() + parsed.tensors.back().byte_size;
  OWF_RETURN_IF_ERROR(check_file_end(content_end, file_size, parsed));
  return parsed;
}

// Copies that treat a binary file as text replace every byte sequence that is not UTF-8 with
// U+FFFD (EF BF BD), shifting all that follows; when such a file fails to parse, say so.
Status with_damage_hint(const Status& status, std::span<const std::byte> bytes) {
  if (status.code() != ErrorCode::kCorruption) return status;
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  const std::size_t at = as_chars(bytes).find(kReplacement);
  if (at == std::string_view::npos) return status;
  return Status::corruption(status.message() + " (the bytes EF BF BD, U+FFFD, at offset " + std::to_string(at) +
                            " suggest a text-mode copy replaced bytes that are not UTF-8)");
}

class GgufModel final : public Model {
 public:
  GgufModel(std::shared_ptr<const ByteSource> file, std::string display_name, ParsedFile parsed, std::string metadata)
      : file_(std::move(file)),
        display_name_(std::move(display_name)),
        format_("GGUF v" + std::to_string(parsed.layout.version)),
        metadata_(std::move(metadata)),
        tensors_(std::move(parsed.tensors)),
        data_offsets_(std::move(parsed.data_offsets)),
        padding_(std::move(parsed.padding)) {}

  std::string format() const override { return format_; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  const std::string& metadata() const override { return metadata_; }

  Status read(std::size_t index, std::uint64_t offset, std::span<std::byte> dst) const override {
    OWF_RETURN_IF_ERROR(check_read_range(tensors_, index, offset, dst.size(), display_name_));
    return file_->read_at(data_offsets_[index] + offset, dst);
  }

  std::optional<std::span<const std::byte>> view(std::size_t index) const override {
    const auto mapped = file_->mapped();
    if (!mapped || index >= tensors_.size()) return std::nullopt;
    return mapped->subspan(data_offsets_[index], tensors_[index].byte_size);
  }

  // Open() checked the structure and GGUF has no checksums; what remains is the padding, whose
  // bytes must be zero for GGUF -> owf -> GGUF to reproduce the file.
  void verify(std::vector<Problem>& problems) const override {
    for (const ByteRange& range : padding_) {
      auto bytes = file_->region(range.begin, range.end - range.begin);
      if (!bytes.ok()) {
        problems.push_back({bytes.status().message()});
        continue;
      }
      const auto nonzero = std::find_if(bytes->bytes().begin(), bytes->bytes().end(),
                                        [](std::byte b) { return b != std::byte{0}; });
      if (nonzero != bytes->bytes().end()) {
        const std::uint64_t at = range.begin + static_cast<std::uint64_t>(nonzero - bytes->bytes().begin());
        problems.push_back({display_name_ + ": padding byte at offset " + std::to_string(at) + " is not zero"});
      }
    }
  }

 private:
  std::shared_ptr<const ByteSource> file_;
  std::string display_name_;
  std::string format_;
  std::string metadata_;
  std::vector<TensorInfo> tensors_;
  std::vector<std::uint64_t> data_offsets_;
  std::vector<ByteRange> padding_;
};

}  // namespace

bool has_gguf_magic(std::span<const std::byte> head) {
  return head.size() >= kMagic.size() && std::equal(kMagic.begin(), kMagic.end(), as_chars(head).begin());
}

std::optional<std::string> legacy_ggml_refusal(std::span<const std::byte> head) {
  if (head.size() < 4) return std::nullopt;
  const std::string_view magic = as_chars(head.first(4));
  for (const LegacyMagic& legacy : kLegacyMagics) {
    if (legacy.bytes != magic) continue;
    std::string message = std::string(legacy.description) + " ('" + std::string(magic) + "' magic";
    if (legacy.is_model) return message + ", pre-GGUF): not supported; convert it to GGUF with llama.cpp first";
    return message + "): not a model file; not supported";
  }
  return std::nullopt;
}

Result<FileLayout> check_gguf(std::span<const std::byte> bytes) {
  OWF_ASSIGN_OR_RETURN(ParsedFile parsed, parse_gguf(bytes, bytes.size()));
  return std::move(parsed.layout);
}

// The key-values and tensor infos of `file`. A mapped file is parsed whole; of a
// remote one, the prefix fetched when it opened is doubled until it holds them
// (metadata of M bytes costs ceil(log2(M / 1 MiB)) more requests), up to kMaxRemoteMetadata.
Result<ParsedFile> parse_source(const ByteSource& file) {
  constexpr std::uint64_t kFirstPrefix = kUrlPrefixBytes;
  constexpr std::uint64_t kMaxRemoteMetadata = 512u << 20;
  const std::uint64_t size = file.size();
  if (const auto mapped = file.mapped()) {
    auto parsed = parse_gguf(*mapped, size);
    if (!parsed.ok()) return with_damage_hint(parsed.status(), *mapped);
    return parsed;
  }
  std::vector<std::byte> prefix;
  for (std::uint64_t want = std::min(size, kFirstPrefix);; want = std::min({size, 2 * want, kMaxRemoteMetadata})) {
    const std::uint64_t have = prefix.size();
    prefix.resize(want);
    OWF_RETURN_IF_ERROR(file.read_at(have, std::span(prefix).subspan(have)));
    auto parsed = parse_gguf(prefix, size);
    // A failure inside a prefix shorter than the file may only mean the prefix ended too soon.
    if (parsed.ok() || want == size || want == kMaxRemoteMetadata) {
      if (!parsed.ok()) return with_damage_hint(parsed.status(), prefix);
      return parsed;
    }
  }
}

Result<std::unique_ptr<Model>> open_gguf(const std::filesystem::path& path, const OpenOptions& options) {
  OWF_ASSIGN_OR_RETURN(std::shared_ptr<const ByteSource> file, source_of(path, options));
  std::string display_name = display_filename(path);
  OWF_ASSIGN_OR_RETURN(const Region head, file->region(0, std::min<std::uint64_t>(file->size(), 4)));
  if (auto refusal = legacy_ggml_refusal(head.bytes())) return Status::not_supported(display_name + ": " + *refusal);
  auto parsed = parse_source(*file);
  if (!parsed.ok()) return parsed.status().with_context(display_name);
  auto metadata = owf_metadata_from_gguf(parsed->layout);
  if (!metadata.ok()) return metadata.status().with_context(display_name);
  return std::unique_ptr<Model>(
      new GgufModel(std::move(file), std::move(display_name), std::move(*parsed), std::move(*metadata)));
}

}  // namespace owf::formats::gguf
