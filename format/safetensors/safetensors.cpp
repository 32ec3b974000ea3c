#include "safetensors/safetensors.h"

#include <algorithm>
#include <array>
#include <exception>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "owf/format.h"
#include "owf/internal/bytes.h"
#include "owf/internal/checked.h"
#include "owf/internal/writing.h"
#include "owf/io.h"
#include "owf/source.h"
#include "owf/text.h"
#include "safetensors/safetensors_json.h"

namespace owf::formats {
namespace {

namespace fs = std::filesystem;
using safetensors::HeaderEntry;
using safetensors::StringMap;

// The reference implementation refuses larger headers; so does owf, before reading one.
constexpr std::uint64_t kMaxHeaderSize = 100'000'000;
constexpr std::uint64_t kLengthBytes = 8;  // the u64 header length
constexpr std::string_view kIndexSuffix = ".safetensors.index.json";

struct DTypeName {
  std::string_view name;
  DType dtype;
};

// Every dtype safetensors knows, by its spelling in the header. F4 and F6 pack
// their elements into a little-endian bit stream, as owf does.
constexpr std::array kDTypeNames = {
    DTypeName{"BOOL", DType::kBool},
    DTypeName{"U8", DType::kU8},
    DTypeName{"I8", DType::kI8},
    DTypeName{"U16", DType::kU16},
    DTypeName{"I16", DType::kI16},
    DTypeName{"U32", DType::kU32},
    DTypeName{"I32", DType::kI32},
    DTypeName{"U64", DType::kU64},
    DTypeName{"I64", DType::kI64},
    DTypeName{"F16", DType::kF16},
    DTypeName{"BF16", DType::kBF16},
    DTypeName{"F32", DType::kF32},
    DTypeName{"F64", DType::kF64},
    DTypeName{"C64", DType::kC64},
    DTypeName{"F8_E4M3", DType::kF8E4M3FN},
    DTypeName{"F8_E5M2", DType::kF8E5M2},
    DTypeName{"F8_E4M3FNUZ", DType::kF8E4M3FNUZ},
    DTypeName{"F8_E5M2FNUZ", DType::kF8E5M2FNUZ},
    DTypeName{"F8_E8M0", DType::kF8E8M0},
    DTypeName{"F4", DType::kF4E2M1},
    DTypeName{"F6_E2M3", DType::kF6E2M3},
    DTypeName{"F6_E3M2", DType::kF6E3M2},
};

std::optional<DType> dtype_from_safetensors(std::string_view name) {
  for (const DTypeName& entry : kDTypeNames) {
    if (entry.name == name) return entry.dtype;
  }
  return std::nullopt;
}

std::optional<std::string_view> safetensors_dtype_name(DType dtype) {
  for (const DTypeName& entry : kDTypeNames) {
    if (entry.dtype == dtype) return entry.name;
  }
  return std::nullopt;
}

// safetensors stores no padding, so a packed tensor must fill whole bytes (the
// reference refuses the rest). For owf's packed dtypes that is exactly when
// the element count is a multiple of the block.
bool fills_whole_bytes(const TensorInfo& info) {
  const std::uint64_t count = element_count(info.shape).value();  // make_tensor_info checked it
  return count % dtype_info(info.dtype).block_elements == 0;
}

std::string range_text(std::uint64_t begin, std::uint64_t end) {
  return std::to_string(begin) + ".." + std::to_string(end);
}

bool is_index_name(const fs::path& path) {
  const std::string name = display_filename(path);
  return name.size() > kIndexSuffix.size() && name.ends_with(kIndexSuffix);
}

// One tensor of a file: what it is and where its bytes start in the file.
struct FileTensor {
  TensorInfo info;
  std::uint64_t offset = 0;
};

// What one file holds once its header has passed every check.
struct ParsedFile {
  StringMap metadata;
  std::vector<FileTensor> tensors;  // in data order
};

// Checks one entry on its own: dtype, shape, and offsets that hold exactly its
// bytes within the data section. (Messages are built only on failure.)
Result<FileTensor> check_entry(const HeaderEntry& entry, std::uint64_t data_start, std::uint64_t data_size,
                               const std::string& where) {
  const auto fail = [&](const std::string& problem) {
    return Status::corruption(where + ": tensor " + quote(entry.name) + ": " + problem);
  };
  const auto offsets = [&] { return "data offsets " + range_text(entry.begin, entry.end); };
  const std::optional<DType> dtype = dtype_from_safetensors(entry.dtype);
  if (!dtype) return fail("unknown dtype " + quote(entry.dtype));
  auto info = make_tensor_info(entry.name, *dtype, entry.shape);
  if (!info.ok()) return Status::corruption(where + ": " + info.status().message());
  if (!fills_whole_bytes(*info)) {
    return fail(std::to_string(element_count(info->shape).value()) + " " + entry.dtype +
                " elements do not fill whole bytes");
  }
  if (entry.end < entry.begin) return fail(offsets() + " end before they begin");
  if (entry.end > data_size) {
    return fail(offsets() + " exceed the " + std::to_string(data_size) + " bytes of data at offset " +
                std::to_string(data_start));
  }
  if (entry.end - entry.begin != info->byte_size) {
    return fail(offsets() + " hold " + std::to_string(entry.end - entry.begin) + " bytes, but " + entry.dtype +
                " of this shape needs " + std::to_string(info->byte_size));
  }
  return FileTensor{std::move(info).value(), data_start + entry.begin};
}

// Validates one safetensors file as the reference implementation does: header
// length and cap, JSON, dtypes, shapes, and data offsets that cover the data
// section exactly (in offset order, which need not be the header's order).
// Reads the length and then the header (of a URL: at most one request each, and
// none when they lie in the first bytes the source fetched when it opened).
Result<ParsedFile> parse_file(const ByteSource& source, const std::string& where) {
  const std::uint64_t file_size = source.size();
  if (file_size == 0) return Status::corruption(where + ": empty file");
  if (file_size < kLengthBytes) {
    return Status::corruption(where + ": file of " + std::to_string(file_size) +
                              " bytes is too short for the 8-byte header length");
  }
  OWF_ASSIGN_OR_RETURN(const Region length, source.region(0, kLengthBytes));
  const std::uint64_t header_size = load_le<std::uint64_t>(length.bytes().data());
  const std::uint64_t available = file_size - kLengthBytes;
  if (header_size > kMaxHeaderSize) {
    return Status::corruption(where + ": header length " + std::to_string(header_size) +
                              " at offset 0 exceeds the cap of " + std::to_string(kMaxHeaderSize) + " bytes");
  }
  if (header_size > available) {
    return Status::corruption(where + ": header length " + std::to_string(header_size) +
                              " at offset 0 runs past the end of the file (" + std::to_string(file_size) + " bytes)");
  }
  OWF_ASSIGN_OR_RETURN(const Region header_bytes, source.region(kLengthBytes, header_size));
  const std::string_view text = as_chars(header_bytes.bytes());
  if (text.empty() || text.front() != '{') {
    return Status::corruption(where + ": header at offset 8 does not start with '{'");
  }
  OWF_ASSIGN_OR_RETURN(safetensors::Header header, safetensors::parse_header(text, kLengthBytes, where));

  const std::uint64_t data_start = kLengthBytes + header_size;
  const std::uint64_t data_size = file_size - data_start;
  ParsedFile file{std::move(header.metadata), {}};
  std::vector<const HeaderEntry*> by_offset;
  for (const HeaderEntry& entry : header.tensors) by_offset.push_back(&entry);
  std::stable_sort(by_offset.begin(), by_offset.end(), [](const HeaderEntry* a, const HeaderEntry* b) {
    return std::pair(a->begin, a->end) < std::pair(b->begin, b->end);
  });
  std::uint64_t covered = 0;  // the data section is covered up to here
  const HeaderEntry* previous = nullptr;
  for (const HeaderEntry* entry : by_offset) {
    OWF_ASSIGN_OR_RETURN(FileTensor tensor, check_entry(*entry, data_start, data_size, where));
    if (entry->begin != covered) {
      const std::string context =
          where + ": tensor " + quote(entry->name) + ": data offsets " + range_text(entry->begin, entry->end);
      if (entry->begin < covered) {
        return Status::corruption(context + " overlap tensor " + quote(previous->name) + " (" +
                                  range_text(previous->begin, previous->end) + ")");
      }
      return Status::corruption(context + " leave bytes " + range_text(covered, entry->begin) +
                                " of the data section unused");
    }
    covered = entry->end;
    previous = entry;
    file.tensors.push_back(std::move(tensor));
  }
  if (covered != data_size) {
    return Status::corruption(where + ": bytes " + range_text(covered, data_size) +
                              " of the data section (file offset " + std::to_string(data_start + covered) +
                              ") belong to no tensor");
  }
  return file;
}

// A single file or a shard set: tensors read with pread from their file.
class SafetensorsModel final : public Model {
 public:
  struct Location {
    std::size_t file = 0;
    std::uint64_t offset = 0;
  };

  SafetensorsModel(std::string format, std::vector<std::shared_ptr<const ByteSource>> files,
                   std::vector<TensorInfo> tensors, std::vector<Location> locations, std::string metadata)
      : format_(std::move(format)),
        files_(std::move(files)),
        tensors_(std::move(tensors)),
        locations_(std::move(locations)),
        metadata_(std::move(metadata)) {}

  std::string format() const override { return format_; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  const std::string& metadata() const override { return metadata_; }

  Status read(std::size_t index, std::uint64_t offset, std::span<std::byte> dst) const override {
    OWF_RETURN_IF_ERROR(check_read_range(tensors_, index, offset, dst.size(), ""));
    const Location& location = locations_[index];
    return files_[location.file]->read_at(location.offset + offset, dst);
  }

  std::optional<std::span<const std::byte>> view(std::size_t index) const override {
    const Location& location = locations_[index];
    const auto mapped = files_[location.file]->mapped();
    if (!mapped) return std::nullopt;
    return mapped->subspan(location.offset, tensors_[index].byte_size);
  }

 private:
  std::string format_;
  std::vector<std::shared_ptr<const ByteSource>> files_;
  std::vector<TensorInfo> tensors_;
  std::vector<Location> locations_;
  std::string metadata_;
};

// Collects tensors file by file into the pieces a SafetensorsModel is made of.
struct ModelParts {
  std::vector<std::shared_ptr<const ByteSource>> files;
  std::vector<TensorInfo> tensors;
  std::vector<SafetensorsModel::Location> locations;

  void add(std::shared_ptr<const ByteSource> file, ParsedFile parsed) {
    for (FileTensor& tensor : parsed.tensors) {
      tensors.push_back(std::move(tensor.info));
      locations.push_back({files.size(), tensor.offset});
    }
    files.push_back(std::move(file));
  }
};

Result<std::unique_ptr<Model>> open_file(const fs::path& path, const OpenOptions& options) {
  OWF_ASSIGN_OR_RETURN(std::shared_ptr<const ByteSource> file, source_of(path, options));
  const std::string where = display_filename(path);
  OWF_ASSIGN_OR_RETURN(ParsedFile parsed, parse_file(*file, where));
  OWF_ASSIGN_OR_RETURN(std::string metadata, safetensors::owf_metadata(parsed.metadata, "{}", where));
  ModelParts parts;
  parts.add(std::move(file), std::move(parsed));
  return std::unique_ptr<Model>(std::make_unique<SafetensorsModel>("safetensors", std::move(parts.files),
                                                                   std::move(parts.tensors), std::move(parts.locations),
                                                                   std::move(metadata)));
}

// A shard named by an index must stay inside the index's folder.
Status check_shard_name(const std::string& shard, const std::string& where) {
  const std::string context = where + ": shard " + quote(shard);
  if (shard.empty()) return Status::corruption(where + ": weight_map names an empty shard file");
  if (shard.find('\0') != std::string::npos) return Status::corruption(context + " contains a NUL byte");
  const fs::path relative(shard);
  bool escapes = relative.has_root_path();
  for (const fs::path& part : relative) escapes = escapes || part == "..";
  if (escapes) return Status::corruption(context + " leaves the index's folder");
  return {};
}

// Opens every shard an index names, checks that each holds exactly the tensors
// the weight_map puts in it, and joins them in shard-name order.
Result<std::unique_ptr<Model>> open_index(const fs::path& path, const OpenOptions& options) {
  OWF_ASSIGN_OR_RETURN(const std::shared_ptr<const ByteSource> index_file, source_of(path, options));
  const std::string where = display_filename(path);
  if (index_file->size() > kMaxHeaderSize) {
    return Status::corruption(where + ": index of " + std::to_string(index_file->size()) +
                              " bytes exceeds the cap of " + std::to_string(kMaxHeaderSize) + " bytes");
  }
  OWF_ASSIGN_OR_RETURN(const Region index_bytes, index_file->region(0, index_file->size()));
  OWF_ASSIGN_OR_RETURN(const safetensors::Index index, safetensors::parse_index(as_chars(index_bytes.bytes()), where));
  const auto& weight_map = index.weight_map;  // sorted by tensor name
  std::vector<std::string> shards;
  for (const auto& [tensor, shard] : weight_map) shards.push_back(shard);
  std::sort(shards.begin(), shards.end());
  shards.erase(std::unique(shards.begin(), shards.end()), shards.end());

  ModelParts parts;
  StringMap metadata;
  for (const std::string& shard : shards) {
    OWF_RETURN_IF_ERROR(check_shard_name(shard, where));
    auto file = open_source(path.parent_path() / shard, options.http);
    if (!file.ok()) return file.status().with_context(where + ": shard " + quote(shard));
    OWF_ASSIGN_OR_RETURN(ParsedFile parsed, parse_file(**file, shard));
    for (const FileTensor& tensor : parsed.tensors) {
      const auto entry = std::lower_bound(weight_map.begin(), weight_map.end(), tensor.info.name,
                                          [](const auto& pair, const std::string& name) { return pair.first < name; });
      if (entry == weight_map.end() || entry->first != tensor.info.name) {
        return Status::corruption(where + ": shard " + quote(shard) + " holds tensor " + quote(tensor.info.name) +
                                  ", which the weight_map does not list");
      }
      if (entry->second != shard) {
        return Status::corruption(where + ": weight_map puts tensor " + quote(tensor.info.name) + " in " +
                                  quote(entry->second) + ", but shard " + quote(shard) + " holds it");
      }
    }
    if (parts.files.empty()) metadata = parsed.metadata;
    parts.add(std::move(file).value(), std::move(parsed));
  }
  if (parts.tensors.size() != weight_map.size()) {
    // Every tensor found is in the map at its shard, and names are unique per shard, so one is missing.
    std::vector<std::string> found;
    for (const TensorInfo& info : parts.tensors) found.push_back(info.name);
    std::sort(found.begin(), found.end());
    for (const auto& [tensor, shard] : weight_map) {
      if (!std::binary_search(found.begin(), found.end(), tensor)) {
        return Status::corruption(where + ": weight_map puts tensor " + quote(tensor) + " in " + quote(shard) +
                                  ", which does not hold it");
      }
    }
  }
  OWF_ASSIGN_OR_RETURN(std::string owf_metadata, safetensors::owf_metadata(metadata, index.metadata_json, where));
  return std::unique_ptr<Model>(std::make_unique<SafetensorsModel>(
      "safetensors (" + std::to_string(shards.size()) + " shards)", std::move(parts.files), std::move(parts.tensors),
      std::move(parts.locations), std::move(owf_metadata)));
}

// The length and header of a safetensors file holding the tensors `indices` of `model`, in that
// order, with `metadata`.
Result<std::vector<std::byte>> file_prefix(const Model& model, std::span<const std::size_t> indices,
                                           const StringMap& metadata, const std::string& where) {
  std::vector<HeaderEntry> entries;
  std::uint64_t data_size = 0;
  for (const std::size_t index : indices) {
    const TensorInfo& info = model.tensors()[index];
    const auto end = checked_add(data_size, info.byte_size);
    if (!end) return Status::invalid_argument(where + ": tensor data exceeds 2^64 bytes");
    entries.push_back({info.name, std::string(*safetensors_dtype_name(info.dtype)), info.shape, data_size, *end});
    data_size = *end;
  }
  auto text = safetensors::header_text(metadata, entries);
  if (!text.ok()) return text.status().with_context(where);
  std::string header = std::move(text).value();
  // Space padding to a multiple of 8, as the reference writes, keeps the data 8-byte aligned.
  header.resize((header.size() + 7) / 8 * 8, ' ');
  if (header.size() > kMaxHeaderSize) {
    return Status::invalid_argument(where + ": header of " + std::to_string(header.size()) +
                                    " bytes exceeds the cap of " + std::to_string(kMaxHeaderSize) + " bytes");
  }
  std::vector<std::byte> prefix;
  append_le<std::uint64_t>(prefix, header.size());
  append_bytes(prefix, as_bytes(header));
  return prefix;
}

// One output file of a write: the tensors it holds and the prefix it was laid out with.
struct OutputFile {
  AtomicFile file;
  std::vector<std::size_t> indices;
  std::vector<std::byte> prefix;
};

Status write_file(const Model& model, const StringMap& metadata, OutputFile& out, WriteProgress& progress) {
  OWF_ASSIGN_OR_RETURN(out.prefix, file_prefix(model, out.indices, metadata, out.file.target().filename().string()));
  OWF_RETURN_IF_ERROR(out.file.write(out.prefix));
  return copy_tensors(model, out.indices, out.file, progress);
}

// Puts the completed metadata into every file's header, once all tensors were written.
Status complete_headers(const Model& model, const OutputMetadata& metadata, std::vector<OutputFile>& outputs) {
  if (!metadata.pending()) return {};
  OWF_ASSIGN_OR_RETURN(const std::string completed, metadata.complete());
  auto mapped = safetensors::safetensors_metadata(completed);
  if (!mapped.ok()) return mapped.status();
  for (OutputFile& out : outputs) {
    const std::string where = out.file.target().filename().string();
    OWF_ASSIGN_OR_RETURN(const std::vector<std::byte> prefix, file_prefix(model, out.indices, *mapped, where));
    OWF_RETURN_IF_ERROR(rewrite_header(out.file, 0, out.prefix, prefix, where));
  }
  return {};
}

// Refuses tensors safetensors cannot hold, naming the tensor and its dtype.
Status check_writable(const TensorInfo& info, const std::string& where) {
  const DTypeInfo& dtype = dtype_info(info.dtype);
  if (!safetensors_dtype_name(info.dtype)) {
    const bool castable = dtype.kind == DTypeKind::kFloat || dtype.kind == DTypeKind::kQuantized;
    return Status::not_supported(where + ": tensor " + quote(info.name) + ": safetensors has no dtype " +
                                 std::string(dtype.name) + (castable ? "; convert with --dtype f16" : ""));
  }
  if (!fills_whole_bytes(info)) {
    return Status::not_supported(where + ": tensor " + quote(info.name) + ": " +
                                 std::to_string(element_count(info.shape).value()) + " " + std::string(dtype.name) +
                                 " elements do not fill whole bytes, which safetensors cannot store");
  }
  return {};
}

// Splits the tensors, in order, into shards of at most `max_size` data bytes; a
// larger tensor gets a shard of its own, as Hugging Face does.
std::vector<std::vector<std::size_t>> plan_shards(const Model& model, std::uint64_t max_size) {
  std::vector<std::vector<std::size_t>> shards(1);
  std::uint64_t size = 0;
  for (std::size_t i = 0; i < model.tensors().size(); ++i) {
    const std::uint64_t bytes = model.tensors()[i].byte_size;
    if (max_size > 0 && !shards.back().empty() && (size + bytes < size || size + bytes > max_size)) {
      shards.emplace_back();
      size = 0;
    }
    shards.back().push_back(i);
    size += bytes;
  }
  return shards;
}

std::string shard_name(const fs::path& target, std::size_t number, std::size_t count) {
  const std::string stem = target.extension() == ".safetensors" ? target.stem().string() : target.filename().string();
  // Numbers zero-padded to five digits as Hugging Face names shards; larger ones keep all their digits.
  const auto padded = [](std::size_t value) {
    const std::string digits = std::to_string(value);
    return std::string(digits.size() < 5 ? 5 - digits.size() : 0, '0') + digits;
  };
  return stem + "-" + padded(number) + "-of-" + padded(count) + ".safetensors";
}

// Commits every output, or none: when one commit fails, the targets already
// committed are removed again.
Status commit_all(std::vector<AtomicFile*> outputs) {
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    if (Status status = outputs[i]->commit(); !status.ok()) {
      for (std::size_t k = 0; k < i; ++k) {
        std::error_code ignored;
        fs::remove(outputs[k]->target(), ignored);
      }
      return status;
    }
  }
  return {};
}

Status write_model(const Model& model, const OutputMetadata& metadata, const fs::path& target,
                   const WriteOptions& options) {
  const std::string where = target.filename().string();
  for (const TensorInfo& info : model.tensors()) OWF_RETURN_IF_ERROR(check_writable(info, where));
  auto mapped = safetensors::safetensors_metadata(metadata.draft());
  if (!mapped.ok()) return mapped.status().with_context(where);
  const StringMap draft = std::move(mapped).value();
  auto shards = plan_shards(model, options.max_shard_size);
  WriteProgress progress(options, model.total_bytes());
  std::vector<OutputFile> outputs;
  if (shards.size() == 1) {  // everything fits: one plain file, as Hugging Face writes it
    OWF_ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::create(target, options.overwrite));
    outputs.push_back({std::move(out), std::move(shards.front()), {}});
    OWF_RETURN_IF_ERROR(write_file(model, draft, outputs.front(), progress));
    OWF_RETURN_IF_ERROR(complete_headers(model, metadata, outputs).with_context(where));
    return commit_all({&outputs.front().file});
  }
  // Create every output first, so an existing file is refused before any data is written.
  const fs::path folder = target.parent_path();
  fs::path index_path = target;
  index_path += ".index.json";
  for (std::size_t k = 0; k < shards.size(); ++k) {
    OWF_ASSIGN_OR_RETURN(AtomicFile out,
                         AtomicFile::create(folder / shard_name(target, k + 1, shards.size()), options.overwrite));
    outputs.push_back({std::move(out), std::move(shards[k]), {}});
  }
  OWF_ASSIGN_OR_RETURN(AtomicFile index_out, AtomicFile::create(index_path, options.overwrite));
  std::vector<std::pair<std::string, std::string>> weight_map;
  for (OutputFile& out : outputs) {
    OWF_RETURN_IF_ERROR(write_file(model, draft, out, progress));
    const std::string name = out.file.target().filename().string();
    for (const std::size_t index : out.indices) weight_map.emplace_back(model.tensors()[index].name, name);
  }
  OWF_RETURN_IF_ERROR(complete_headers(model, metadata, outputs).with_context(where));
  auto index_text = safetensors::index_text(progress.total(), weight_map);
  if (!index_text.ok()) return index_text.status().with_context(index_path.filename().string());
  OWF_RETURN_IF_ERROR(index_out.write(as_bytes(*index_text)));
  std::vector<AtomicFile*> files;
  for (OutputFile& out : outputs) files.push_back(&out.file);
  files.push_back(&index_out);
  return commit_all(std::move(files));
}

class SafetensorsFormat final : public Format {
 public:
  std::string_view name() const override { return "safetensors"; }
  std::vector<std::string_view> extensions() const override { return {".safetensors"}; }

  Confidence detect(const fs::path& path, std::span<const std::byte> head) const override {
    if (is_index_name(path)) {
      const std::string_view text = as_chars(head);
      const auto first = text.find_first_not_of(" \t\r\n");
      return first != std::string_view::npos && text[first] == '{' ? Confidence::kLikely : Confidence::kNone;
    }
    if (head.size() < kLengthBytes + 2) return Confidence::kNone;  // the length, then at least "{}"
    const std::uint64_t header_size = load_le<std::uint64_t>(head.data());
    const bool plausible = header_size >= 2 && header_size <= kMaxHeaderSize && head[kLengthBytes] == std::byte{'{'};
    return plausible ? Confidence::kLikely : Confidence::kNone;
  }

  Result<std::unique_ptr<Model>> open(const fs::path& path, const OpenOptions& options) const override {
    try {
      return is_index_name(path) ? open_index(path, options) : open_file(path, options);
    } catch (const std::exception& error) {  // bad_alloc and the like: the input is too large for memory
      return Status::corruption(display_filename(path) + ": " + error.what());
    }
  }

  Status write(const Model& model, const OutputMetadata& metadata, const fs::path& path,
               const WriteOptions& options) const override {
    try {
      return write_model(model, metadata, path, options);
    } catch (const std::exception& error) {
      return Status::io_error(path.filename().string() + ": " + error.what());
    }
  }
};

}  // namespace

std::unique_ptr<Format> make_safetensors_format() { return std::make_unique<SafetensorsFormat>(); }

}  // namespace owf::formats
