#include "hf/hf_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>

#include "hf/hf_folder.h"
#include "owf/dtype.h"
#include "owf/internal/bytes.h"
#include "owf/io.h"
#include "owf/owf.h"
#include "owf/text.h"

namespace owf::formats::hf {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

Status os_error(const fs::path& path, std::string_view what) {
  const int error = errno;
  return Status::io_error(path.string() + ": " + std::string(what) + ": " + std::strerror(error));
}

// fsync of a directory, so the renames into it are durable.
Status sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return os_error(dir, "cannot open directory");
  const bool synced = ::fsync(fd) == 0;
  Status status = synced ? Status() : os_error(dir, "fsync of directory failed");
  ::close(fd);
  return status;
}

// A new empty directory beside `target`, named after it; removed with its contents unless kept.
class TempDirectory {
 public:
  static Result<TempDirectory> create(const fs::path& target, std::string_view purpose) {
    std::string pattern =
        (target.parent_path() / ("." + target.filename().string() + "." + std::string(purpose) + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) return os_error(pattern, "cannot create a temporary directory");
    return TempDirectory(pattern);
  }
  TempDirectory(TempDirectory&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDirectory& operator=(TempDirectory&&) = delete;
  ~TempDirectory() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }
  // After the directory was renamed away: nothing is left to remove.
  void release() { path_.clear(); }

 private:
  explicit TempDirectory(fs::path path) : path_(std::move(path)) {}
  fs::path path_;
};

// Only a model folder (or an empty directory) is ever replaced: --force on the wrong directory
// must not delete someone's files.
Status check_replaceable(const fs::path& target, bool overwrite) {
  std::error_code error;
  const fs::file_status status = fs::symlink_status(target, error);
  if (!fs::exists(status)) return {};
  if (!overwrite) return Status::invalid_argument(target.string() + ": already exists");
  if (!fs::is_directory(status)) return Status::invalid_argument(target.string() + ": exists and is not a directory");
  if (fs::exists(target / "config.json", error) || fs::is_empty(target, error)) return {};
  return Status::invalid_argument(target.string() +
                                  ": exists and is not a model folder (no config.json); refusing to replace it");
}

Status write_small_file(const fs::path& path, std::string_view content) {
  OWF_ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::create(path, false));
  OWF_RETURN_IF_ERROR(file.write(as_bytes(content)));
  return file.commit();
}

// The bytes of a carried file from its metadata value (hf.md §2, in reverse).
Result<std::string> carried_content(const CarriedFile& carried, const Json& value) {
  switch (carried.how) {
    case Carried::kJson: return value.dump(2) + "\n";
    case Carried::kText:
      if (!value.is_string()) break;
      return value.get<std::string>();
    case Carried::kBase64:
      if (!value.is_string()) break;
      if (auto bytes = base64_decode(value.get_ref<const std::string&>())) return std::move(*bytes);
      break;
  }
  return Status::invalid_argument("metadata hf." + std::string(carried.key) + ": not the " +
                                  (carried.how == Carried::kBase64 ? "base64 text" : "text") + " of " +
                                  std::string(carried.file_name));
}

// Moves `built` onto `target`, putting a folder already there aside first and removing it after.
Status move_into_place(const fs::path& built, const fs::path& target) {
  std::error_code error;
  if (!fs::exists(fs::symlink_status(target, error))) {
    fs::rename(built, target, error);
    if (error)
      return Status::io_error(target.string() + ": cannot rename the new folder into place: " + error.message());
    return sync_directory(target.parent_path());
  }
  OWF_ASSIGN_OR_RETURN(const TempDirectory aside, TempDirectory::create(target, "old"));
  fs::rename(target, aside.path(), error);  // replaces the empty directory
  if (error) return Status::io_error(target.string() + ": cannot move the old folder aside: " + error.message());
  fs::rename(built, target, error);
  if (error) {
    std::error_code ignored;
    fs::rename(aside.path(), target, ignored);
    return Status::io_error(target.string() + ": cannot rename the new folder into place: " + error.message());
  }
  return sync_directory(target.parent_path());
}

// The metadata as a JSON object, and the folder's own files (config.json, the tokenizer's) it carries.
struct FolderMetadata {
  Json json;
  std::vector<std::pair<const CarriedFile*, std::string>> files;
};

Result<FolderMetadata> folder_metadata(std::string_view text, const fs::path& target) {
  FolderMetadata metadata;
  try {
    metadata.json = Json::parse(text);
  } catch (const std::exception& error) {
    return Status::invalid_argument(std::string("metadata: ") + error.what());
  }
  const auto section = metadata.json.find(kSection);
  if (section == metadata.json.end() || !section->is_object() || !section->contains("config") ||
      !(*section)["config"].is_object()) {
    return Status::not_supported(
        target.string() +
        ": a model folder needs config.json, and this model carries none (convert from a folder, an .owf made from "
        "one, or a GGUF of the llama family)");
  }
  for (const CarriedFile& carried : kCarriedFiles) {
    if (!section->contains(carried.key)) continue;
    OWF_ASSIGN_OR_RETURN(std::string content, carried_content(carried, (*section)[std::string(carried.key)]));
    metadata.files.emplace_back(&carried, std::move(content));
  }
  return metadata;
}

// The metadata the weights keep: the folder's own files and a GGUF's key-values are not repeated
// in every shard.
std::string weights_metadata(Json metadata) {
  metadata.erase(std::string(kSection));
  metadata.erase("gguf");
  return metadata.dump();
}

}  // namespace

Status write_folder(const Model& model, const OutputMetadata& metadata, const fs::path& path,
                    const WriteOptions& options) {
  // "out/" names the folder "out".
  fs::path target = path;
  while (target.has_relative_path() && !target.has_filename()) target = target.parent_path();
  if (target.parent_path().empty()) target = fs::path(".") / target;

  OWF_ASSIGN_OR_RETURN(FolderMetadata folder, folder_metadata(metadata.draft(), target));
  for (const TensorInfo& tensor : model.tensors()) {
    if (dtype_info(tensor.dtype).kind == DTypeKind::kQuantized) {
      return Status::not_supported("tensor " + quote(tensor.name) + ": " + std::string(dtype_info(tensor.dtype).name) +
                                   " has no safetensors dtype; add --dtype f16, bf16 or f32 to dequantize it");
    }
  }
  OWF_RETURN_IF_ERROR(check_replaceable(target, options.overwrite));

  const Format* safetensors = registry().by_name("safetensors");
  if (safetensors == nullptr) return Status::not_supported("this build of owf has no safetensors writer");
  WriteOptions weights_options = options;
  weights_options.format.clear();
  weights_options.overwrite = false;
  if (weights_options.max_shard_size == 0) weights_options.max_shard_size = kDefaultShardBytes;
  OutputMetadata::Completion completion;
  if (metadata.pending()) {
    completion = [&](const WrittenContent& written) -> Result<std::string> {
      OWF_ASSIGN_OR_RETURN(const std::string completed, metadata.complete(written));
      OWF_ASSIGN_OR_RETURN(folder, folder_metadata(completed, target));
      return weights_metadata(folder.json);
    };
  }
  const OutputMetadata weights(weights_metadata(folder.json), std::move(completion));

  OWF_ASSIGN_OR_RETURN(TempDirectory built, TempDirectory::create(target, "partial"));
  OWF_RETURN_IF_ERROR(safetensors->write(model, weights, built.path() / "model.safetensors", weights_options));
  for (const auto& [carried, content] : folder.files) {
    OWF_RETURN_IF_ERROR(write_small_file(built.path() / carried->file_name, content));
  }
  OWF_RETURN_IF_ERROR(sync_directory(built.path()));
  std::error_code error;
  fs::permissions(built.path(),
                  fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                      fs::perms::others_exec,
                  error);
  OWF_RETURN_IF_ERROR(move_into_place(built.path(), target));
  built.release();
  return {};
}

}  // namespace owf::formats::hf
