#include "pytorch/reader.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "owf/internal/bytes.h"
#include "owf/internal/checked.h"
#include "owf/internal/zip.h"
#include "owf/io.h"
#include "owf/text.h"
#include "pytorch/checkpoint.h"
#include "pytorch/metadata_json.h"
#include "pytorch/pickle.h"

namespace owf::formats::pytorch {
namespace {

constexpr std::array<std::uint8_t, 4> kZipLocalMagic{'P', 'K', 3, 4};
// 0x1950a86a20f9469cfc6c as pickled by LONG1: length 10, little-endian bytes.
constexpr std::array<std::uint8_t, 12> kLegacyMagic{0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                                    0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr std::int64_t kLegacyProtocolVersion = 1001;
constexpr std::uint32_t kMaxElementSize = 16;  // complex128
constexpr std::uint8_t kPickleProto = 0x80;
constexpr std::uint8_t kPickleFrame = 0x95;
constexpr std::uint8_t kPickleStop = '.';

bool starts_with(std::span<const std::byte> bytes, std::span<const std::uint8_t> prefix) {
  if (bytes.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::to_integer<std::uint8_t>(bytes[i]) != prefix[i]) return false;
  }
  return true;
}

// Where the legacy magic number's LONG1 starts: after PROTO and, from
// protocol 4 on, a FRAME header. nullopt when the bytes do not start that way.
std::optional<std::size_t> legacy_magic_at(std::span<const std::byte> head) {
  std::size_t at = 0;
  if (head.size() >= 2 && std::to_integer<std::uint8_t>(head[0]) == kPickleProto) at = 2;
  if (head.size() > at && std::to_integer<std::uint8_t>(head[at]) == kPickleFrame) at += 9;
  if (head.size() < at || !starts_with(head.subspan(at), kLegacyMagic)) return std::nullopt;
  return at;
}

// Record names torch puts below the archive's root folder.
bool is_torch_record(std::string_view name) {
  const auto slash = name.find('/');
  if (slash == 0 || slash == std::string_view::npos) return false;
  const std::string_view rest = name.substr(slash + 1);
  return rest == "data.pkl" || rest == "version" || rest == "byteorder" || rest == ".format_version" ||
         rest == "constants.pkl" || rest.starts_with("data/") || rest.starts_with(".data/") ||
         rest.starts_with("code/");
}

// The bytes of one storage inside the file.
struct StorageRecord {
  std::string name;          // for messages: "archive/data/0", "storage 9489756"
  std::uint64_t offset = 0;  // absolute file offset; from the start of `entry`'s data when there is one
  std::uint64_t size = 0;    // bytes
  const ZipEntry* entry = nullptr;  // the zip record, whose data offset is read when first needed
};

// How tensor bytes are found: the storage's file offset plus element strides.
struct TensorLayout {
  std::uint64_t base = 0;  // file offset of the tensor's first element; from the start of `entry`'s data
  const ZipEntry* entry = nullptr;
  std::optional<std::size_t> fetched;  // of a URL, the index of the fetched bytes a gather() reads
  std::vector<std::uint64_t> shape;
  std::vector<std::uint64_t> strides;  // in elements
  std::uint32_t element_size = 1;
  bool contiguous = true;
  bool swap_bytes = false;  // storage written big-endian
};

bool is_contiguous(const std::vector<std::uint64_t>& shape, const std::vector<std::uint64_t>& strides) {
  std::uint64_t expected = 1;
  for (std::size_t d = shape.size(); d-- > 0;) {
    if (shape[d] != 1 && strides[d] != expected) return false;
    expected *= shape[d];  // cannot overflow: the element count was checked
  }
  return true;
}

class CheckpointModel final : public Model {
 public:
  CheckpointModel(std::shared_ptr<const ByteSource> file, std::string display_name, std::string format,
                  std::string metadata)
      : file_(std::move(file)),
        display_name_(std::move(display_name)),
        format_(std::move(format)),
        metadata_(std::move(metadata)) {}

  std::string format() const override { return format_; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  const std::string& metadata() const override { return metadata_; }

  Status read(std::size_t index, std::uint64_t offset, std::span<std::byte> dst) const override {
    OWF_RETURN_IF_ERROR(check_read_range(tensors_, index, offset, dst.size(), display_name()));
    if (dst.empty()) return {};  // gather() divides by the dimensions, which may be 0
    const TensorLayout& layout = layouts_[index];
    OWF_ASSIGN_OR_RETURN(const std::uint64_t base, base_of(layout));
    if (layout.contiguous && !layout.swap_bytes) return file_->read_at(base + offset, dst);
    gather(layout, storage_of(layout, base), offset, dst);
    return {};
  }

  void verify(std::vector<Problem>& problems) const override {
    Model::verify(problems);
    if (!zip_) return;
    for (const ZipEntry& entry : checked_records_) {
      if (Status crc = zip_->check_crc(entry); !crc.ok()) problems.push_back({crc.message()});
    }
  }

  // Validates the view against its storage and adds the tensor.
  Status add(const std::string& name, const TensorRef& tensor, const StorageRecord& record, bool big_endian) {
    const std::string where = display_name() + ": tensor " + quote(name);
    OWF_ASSIGN_OR_RETURN(TensorInfo info, make_tensor_info(name, tensor.dtype, tensor.shape));
    const std::uint32_t element_size = dtype_info(tensor.dtype).element_bytes();
    const std::uint32_t storage_element_size = dtype_info(tensor.storage->storage->dtype).element_bytes();
    if (element_size == 0 || element_size > kMaxElementSize || storage_element_size == 0) {
      return Status::not_supported(where + ": dtype " + std::string(dtype_info(tensor.dtype).name) +
                                   " is not supported");
    }
    const auto storage_bytes = checked_mul(tensor.storage->storage->numel, storage_element_size);
    if (!storage_bytes || *storage_bytes > record.size) {
      return Status::corruption(where + ": storage " + quote(record.name) + " should hold " +
                                std::to_string(tensor.storage->storage->numel) + " elements of " +
                                std::string(dtype_info(tensor.storage->storage->dtype).name) + " but has " +
                                std::to_string(record.size) + " bytes");
    }
    if (info.byte_size > 0) {
      // The last element the view touches must lie inside the storage.
      std::optional<std::uint64_t> last = tensor.storage_offset;
      for (std::size_t d = 0; d < tensor.shape.size() && last; ++d) {
        const auto step = checked_mul(tensor.shape[d] - 1, tensor.strides[d]);
        last = step ? checked_add(*last, *step) : std::nullopt;
      }
      const auto end = last ? checked_add(*last, 1) : std::nullopt;
      const auto end_bytes = end ? checked_mul(*end, element_size) : std::nullopt;
      if (!end_bytes || *end_bytes > *storage_bytes) {
        return Status::corruption(where + ": view (offset " + std::to_string(tensor.storage_offset) +
                                  ", strides up to element " + (end ? std::to_string(*end) : "overflow") +
                                  ") exceeds the " + std::to_string(*storage_bytes) + " bytes of storage " +
                                  quote(record.name));
      }
    }
    TensorLayout layout;
    // Inside the record (checked above); an empty tensor reads nothing.
    layout.base = record.offset + (info.byte_size > 0 ? tensor.storage_offset * element_size : 0);
    layout.entry = record.entry;
    layout.shape = tensor.shape;
    layout.strides = tensor.strides;
    layout.element_size = element_size;
    layout.contiguous = is_contiguous(tensor.shape, tensor.strides);
    layout.swap_bytes = big_endian && element_size > 1;
    if (!(layout.contiguous && !layout.swap_bytes) && !file_->mapped() && info.byte_size > 0) {
      // gather() reads from memory: fetch the bytes the view spans.
      const std::uint64_t span = *storage_bytes - tensor.storage_offset * element_size;
      OWF_ASSIGN_OR_RETURN(const std::uint64_t base, base_of(layout));
      OWF_ASSIGN_OR_RETURN(Region bytes, file_->region(base, span));
      layout.fetched = fetched_.size();
      fetched_.push_back(std::move(bytes));
    }
    tensors_.push_back(std::move(info));
    layouts_.push_back(std::move(layout));
    return {};
  }

  // The archive tensors are read from; add() needs it for their records.
  void keep_zip(ZipReader zip) { zip_ = std::move(zip); }
  // The records verify() checks the CRC-32 of.
  void check_records(std::vector<ZipEntry> records) { checked_records_ = std::move(records); }

  const std::string& display_name() const { return display_name_; }

 private:
  // The file offset of the tensor's first element.
  Result<std::uint64_t> base_of(const TensorLayout& layout) const {
    if (layout.entry == nullptr) return layout.base;
    OWF_ASSIGN_OR_RETURN(const std::uint64_t data_offset, zip_->data_offset(*layout.entry));
    return data_offset + layout.base;
  }

  // Where gather() finds the bytes of a view that starts at file offset `base`.
  const std::byte* storage_of(const TensorLayout& layout, std::uint64_t base) const {
    if (layout.fetched) return fetched_[*layout.fetched].bytes().data();
    return file_->mapped()->data() + base;
  }

  // Copies a strided (or byte-swapped) view in C order: whole runs along the
  // innermost dimension when its stride is 1 (row slices), else element by
  // element; only the overlap with [offset, offset + dst.size()) is written.
  void gather(const TensorLayout& layout, const std::byte* storage, std::uint64_t offset,
              std::span<std::byte> dst) const {
    const std::uint64_t size = layout.element_size;
    const std::uint64_t first = offset / size;
    const std::uint64_t end = (offset + dst.size() + size - 1) / size;
    const std::size_t rank = layout.shape.size();
    const bool row_runs = rank > 0 && layout.strides[rank - 1] == 1 && !layout.swap_bytes;
    std::vector<std::uint64_t> index(rank);
    std::uint64_t position = 0;  // in elements from layout.base
    std::uint64_t rest = first;
    for (std::size_t d = rank; d-- > 0;) {
      index[d] = rest % layout.shape[d];
      rest /= layout.shape[d];
      position += index[d] * layout.strides[d];
    }
    std::array<std::byte, kMaxElementSize> element{};
    for (std::uint64_t e = first; e < end;) {
      const std::uint64_t run = row_runs ? std::min(layout.shape[rank - 1] - index[rank - 1], end - e) : 1;
      const std::byte* source = storage + position * size;
      if (layout.swap_bytes) {
        std::reverse_copy(source, source + size, element.begin());
        source = element.data();
      }
      const std::uint64_t lo = std::max(e * size, offset);
      const std::uint64_t hi = std::min((e + run) * size, offset + dst.size());
      std::memcpy(dst.data() + (lo - offset), source + (lo - e * size), hi - lo);
      e += run;
      // Step the index past the run: along the row, then carry outwards.
      if (rank == 0) continue;
      index[rank - 1] += run - 1;
      position += (run - 1) * layout.strides[rank - 1];
      for (std::size_t d = rank; d-- > 0;) {
        if (++index[d] < layout.shape[d]) {
          position += layout.strides[d];
          break;
        }
        position -= (layout.shape[d] - 1) * layout.strides[d];
        index[d] = 0;
      }
    }
  }

  std::shared_ptr<const ByteSource> file_;
  std::string display_name_;  // the file name, for messages
  std::string format_;
  std::string metadata_;
  std::vector<TensorInfo> tensors_;
  std::vector<TensorLayout> layouts_;
  std::optional<ZipReader> zip_;
  std::vector<ZipEntry> checked_records_;
  std::vector<Region> fetched_;  // of a URL, the bytes of views gather() reads
};

using LocateStorage = std::function<Result<StorageRecord>(const StorageRef&)>;

Status add_tensors(CheckpointModel& model, const Flattened& checkpoint, const LocateStorage& locate, bool big_endian) {
  for (const NamedTensor& named : checkpoint.tensors) {
    OWF_ASSIGN_OR_RETURN(const StorageRecord record, locate(*named.tensor->storage->storage));
    OWF_RETURN_IF_ERROR(model.add(named.name, *named.tensor, record, big_endian));
  }
  return {};
}

// Of a URL, open reads the zip's tail and directory, data.pkl and byteorder with
// their local headers, and a storage's local header when a tensor of it is read.
Result<std::unique_ptr<Model>> open_zip(std::shared_ptr<const ByteSource> file, const std::string& display,
                                        const OpenOptions& options) {
  OWF_ASSIGN_OR_RETURN(ZipReader zip, ZipReader::open(file, display));
  const ZipEntry* pickle = nullptr;
  for (const ZipEntry& entry : zip.entries()) {
    const auto slash = entry.name.find('/');
    if (slash != std::string::npos && slash > 0 && entry.name.substr(slash) == "/data.pkl") pickle = &entry;
  }
  if (!pickle) {
    return Status::corruption(display + ": zip archive has no <root>/data.pkl record; not a torch.save checkpoint");
  }
  const std::string root = pickle->name.substr(0, pickle->name.find('/') + 1);
  if (zip.find(root + "constants.pkl") ||
      std::any_of(zip.entries().begin(), zip.entries().end(),
                  [&](const ZipEntry& e) { return e.name.starts_with(root + "code/"); })) {
    return Status::not_supported(
        display +
        ": TorchScript archive, not a plain checkpoint (load it with torch.jit.load and torch.save its state_dict())");
  }
  const auto check_stored = [&](const ZipEntry& entry) -> Status {
    if (entry.method == 0) return {};
    return Status::not_supported(display + ": record " + quote(entry.name) + " is compressed (method " +
                                 std::to_string(entry.method) + "); torch.save stores records uncompressed");
  };
  const auto stored = [&](const ZipEntry& entry) -> Result<Region> {
    OWF_RETURN_IF_ERROR(check_stored(entry));
    return zip.stored_data(entry);
  };

  bool big_endian = false;
  if (const ZipEntry* byteorder = zip.find(root + "byteorder")) {
    OWF_ASSIGN_OR_RETURN(const Region text, stored(*byteorder));
    if (as_chars(text.bytes()) == "big") {
      big_endian = true;
    } else if (as_chars(text.bytes()) != "little") {
      return Status::corruption(display + ": record " + quote(byteorder->name) + " is neither 'little' nor 'big'");
    }
  }

  ValueArena arena;
  OWF_ASSIGN_OR_RETURN(const Region pickle_bytes, stored(*pickle));
  OWF_ASSIGN_OR_RETURN(const std::uint64_t pickle_offset, zip.data_offset(*pickle));
  OWF_ASSIGN_OR_RETURN(const Unpickled object,
                       unpickle(pickle_bytes.bytes(), pickle_offset, display + ": " + pickle->name, arena));
  OWF_ASSIGN_OR_RETURN(const Flattened checkpoint, flatten_checkpoint(*object.root, options.key, display));

  // Storage records by name (ZipReader::find scans), and those used, each once for verify().
  // The entries stay where they are when the reader moves into the model.
  std::unordered_map<std::string_view, const ZipEntry*> by_name;
  for (const ZipEntry& entry : zip.entries()) by_name.emplace(entry.name, &entry);
  std::vector<ZipEntry> records{*pickle};
  std::unordered_set<std::string> recorded;
  const LocateStorage locate = [&](const StorageRef& storage) -> Result<StorageRecord> {
    const std::string name = root + "data/" + storage.key;
    const auto entry = by_name.find(name);
    if (entry == by_name.end()) {
      return Status::corruption(display + ": storage " + quote(storage.key) + " has no record " + quote(name));
    }
    OWF_RETURN_IF_ERROR(check_stored(*entry->second));
    if (recorded.insert(name).second) records.push_back(*entry->second);
    return StorageRecord{name, 0, entry->second->size, entry->second};
  };
  auto model = std::make_unique<CheckpointModel>(std::move(file), display, "pytorch (torch.save zip)",
                                                 checkpoint_metadata(checkpoint));
  model->keep_zip(std::move(zip));
  OWF_RETURN_IF_ERROR(add_tensors(*model, checkpoint, locate, big_endian));
  model->check_records(std::move(records));
  return std::unique_ptr<Model>(std::move(model));
}

// Refuses sys_info of a big-endian writer: its counts and data are not little-endian.
Status check_sys_info(const Value& sys_info, const std::string& display) {
  if (sys_info.kind != ValueKind::kDict) return Status::corruption(display + ": legacy sys_info is not a dict");
  for (const auto& [key, item] : sys_info.entries) {
    if (key->kind == ValueKind::kString && key->text == "little_endian" && item->kind == ValueKind::kBool &&
        item->integer == 0) {
      return Status::not_supported(display + ": legacy checkpoint written on a big-endian machine");
    }
  }
  return {};
}

// `file` must be mapped (or in memory): the pickles and storages follow one another.
Result<std::unique_ptr<Model>> open_legacy(std::shared_ptr<const ByteSource> file, const std::string& display,
                                           const OpenOptions& options) {
  const auto bytes = *file->mapped();
  const auto magic_at = legacy_magic_at(bytes);
  const std::size_t magic_end = magic_at ? *magic_at + kLegacyMagic.size() : 0;
  if (!magic_at || magic_end >= bytes.size() || std::to_integer<std::uint8_t>(bytes[magic_end]) != kPickleStop) {
    return Status::corruption(display + ": does not start with the torch.save magic number");
  }
  ValueArena arena;
  std::uint64_t offset = magic_end + 1;
  // One pickle after another; each ends at its STOP.
  const auto next = [&](std::string_view what) -> Result<const Value*> {
    OWF_ASSIGN_OR_RETURN(const Unpickled unpickled,
                         unpickle(bytes.subspan(offset), offset, display + ": " + std::string(what), arena));
    offset += unpickled.end;
    return unpickled.root;
  };
  OWF_ASSIGN_OR_RETURN(const Value* protocol, next("legacy protocol version"));
  if (protocol->kind != ValueKind::kInt || protocol->integer != kLegacyProtocolVersion) {
    return Status::corruption(display + ": legacy protocol version is not 1001");
  }
  OWF_ASSIGN_OR_RETURN(const Value* sys_info, next("legacy sys_info"));
  OWF_RETURN_IF_ERROR(check_sys_info(*sys_info, display));
  OWF_ASSIGN_OR_RETURN(const Value* object, next("object pickle"));
  OWF_ASSIGN_OR_RETURN(const Value* keys, next("storage key list"));
  if (keys->kind != ValueKind::kList) return Status::corruption(display + ": legacy storage key list is not a list");

  // Storage records are sized in elements of the storage's type, which only
  // the persistent ids tell.
  std::unordered_map<std::string, DType> key_dtypes;
  for (const StorageRef* storage : arena.storages()) {
    const auto [known, inserted] = key_dtypes.emplace(storage->key, storage->dtype);
    if (!inserted && dtype_info(known->second).element_bytes() != dtype_info(storage->dtype).element_bytes()) {
      return Status::corruption(display + ": storage " + quote(storage->key) +
                                " is referenced with different element sizes");
    }
  }
  std::unordered_map<std::string, StorageRecord> records;
  ByteCursor cursor(bytes.subspan(offset), offset);
  for (const Value* key : keys->items) {
    if (key->kind != ValueKind::kString) return Status::corruption(display + ": legacy storage key is not a string");
    const auto dtype = key_dtypes.find(key->text);
    if (dtype == key_dtypes.end()) {
      return Status::corruption(display + ": storage " + quote(key->text) + " is listed but no tensor references it");
    }
    const std::string name = "storage " + quote(key->text);
    OWF_ASSIGN_OR_RETURN(const std::uint64_t numel, cursor.u64(name + " element count"));
    const auto size = checked_mul(numel, dtype_info(dtype->second).element_bytes());
    if (!size) return Status::corruption(display + ": " + name + " element count overflows");
    const std::uint64_t data_offset = cursor.offset();
    if (Status skipped = cursor.skip(*size, name + " data"); !skipped.ok()) return skipped.with_context(display);
    if (!records.emplace(key->text, StorageRecord{name, data_offset, *size, nullptr}).second) {
      return Status::corruption(display + ": " + name + " is listed twice");
    }
  }

  OWF_ASSIGN_OR_RETURN(const Flattened checkpoint, flatten_checkpoint(*object, options.key, display));
  const LocateStorage locate = [&](const StorageRef& storage) -> Result<StorageRecord> {
    const auto found = records.find(storage.key);
    if (found == records.end()) {
      return Status::corruption(display + ": storage " + quote(storage.key) + " is not in the storage key list");
    }
    return found->second;
  };
  auto model = std::make_unique<CheckpointModel>(std::move(file), display, "pytorch (legacy torch.save)",
                                                 checkpoint_metadata(checkpoint));
  OWF_RETURN_IF_ERROR(add_tensors(*model, checkpoint, locate, false));
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace

Confidence checkpoint_confidence(std::span<const std::byte> head) {
  if (legacy_magic_at(head)) return Confidence::kCertain;
  if (!starts_with(head, kZipLocalMagic)) return Confidence::kNone;
  // Local file header: the name length is at offset 26, the name at 30.
  ByteCursor cursor(head);
  if (!cursor.skip(26, "zip local header").ok()) return Confidence::kNone;
  const auto name_length = cursor.u16("name length");
  if (!name_length.ok() || !cursor.skip(2, "extra length").ok()) return Confidence::kNone;
  const auto name = cursor.bytes(*name_length, "name");
  return name.ok() && is_torch_record(as_chars(*name)) ? Confidence::kLikely : Confidence::kNone;
}

Result<std::unique_ptr<Model>> open_checkpoint(const std::filesystem::path& path, const OpenOptions& options) {
  OWF_ASSIGN_OR_RETURN(std::shared_ptr<const ByteSource> file, source_of(path, options));
  const std::string display = display_filename(path);
  OWF_ASSIGN_OR_RETURN(const Region head,
                       file->region(0, std::min<std::uint64_t>(file->size(), kZipLocalMagic.size())));
  if (starts_with(head.bytes(), kZipLocalMagic)) return open_zip(std::move(file), display, options);
  // A legacy checkpoint of a URL is fetched whole.
  OWF_ASSIGN_OR_RETURN(file, whole_in_memory(std::move(file)));
  return open_legacy(std::move(file), display, options);
}

}  // namespace owf::formats::pytorch
