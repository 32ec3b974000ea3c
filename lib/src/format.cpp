// The format registry and the built-in owf format.
#include "owf/format.h"

#include <algorithm>
#include <cctype>
#include <future>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "boundary.h"
#include "layout.h"
#include "owf/internal/strings.h"
#include "owf/internal/writing.h"
#include "owf/threads.h"

namespace owf {
namespace {

constexpr std::size_t kDetectBytes = 4096;

class OwfFormat final : public Format {
 public:
  std::string_view name() const override { return "owf"; }
  std::vector<std::string_view> extensions() const override { return {".owf"}; }
  Confidence detect(const std::filesystem::path&, std::span<const std::byte> head) const override {
    const bool magic =
        head.size() >= detail::kMagic.size() && std::equal(detail::kMagic.begin(), detail::kMagic.end(), head.begin());
    return magic ? Confidence::kCertain : Confidence::kNone;
  }
  Result<std::unique_ptr<Model>> open(const std::filesystem::path& path, const OpenOptions& options) const override {
    OWF_ASSIGN_OR_RETURN(std::shared_ptr<const ByteSource> source, source_of(path, options));
    OWF_ASSIGN_OR_RETURN(std::unique_ptr<Reader> reader, Reader::open(std::move(source), options.threads));
    return std::unique_ptr<Model>(std::move(reader));
  }
  Status write(const Model& model, const OutputMetadata& metadata, const std::filesystem::path& path,
               const WriteOptions& options) const override {
    return write_owf(model, metadata, path, options);
  }
  bool digests_content() const override { return true; }
};

// A file's source (none for a directory) and its first bytes, for detection.
struct Head {
  std::shared_ptr<const ByteSource> source;
  Region bytes;
};

Result<Head> read_head(const std::filesystem::path& path, const OpenOptions& options) {
  if (is_url(path.native()) && path.native().ends_with('/')) return Head{};  // a folder URL
  if (!is_url(path.native())) {
    std::error_code error;
    const auto status = std::filesystem::status(path, error);
    if (!std::filesystem::exists(status)) {
      if (error && error != std::errc::no_such_file_or_directory) {
        return Status::io_error(path.string() + ": " + error.message());
      }
      return Status::not_found(path.string() + ": no such file or directory");
    }
    if (std::filesystem::is_directory(status)) return Head{};
  }
  Head head;
  OWF_ASSIGN_OR_RETURN(head.source, source_of(path, options));
  if (head.source->size() == 0) return Status::invalid_argument(head.source->name() + ": empty file");
  OWF_ASSIGN_OR_RETURN(head.bytes, head.source->region(0, std::min<std::uint64_t>(head.source->size(), kDetectBytes)));
  return head;
}

std::string hex_preview(std::span<const std::byte> head) {
  std::string text;
  for (std::size_t i = 0; i < std::min<std::size_t>(head.size(), 16); ++i) {
    if (i > 0) text += ' ';
    detail::append_hex(text, std::to_integer<std::uint8_t>(head[i]));
  }
  return text + (head.size() > 16 ? " ..." : "");
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

}  // namespace

void WriteProgress::advance(std::uint64_t bytes) {
  done_ += bytes;
  if (options_.progress) options_.progress(done_, total_);
}

TensorSource progress_source(const Model& model, std::size_t index, WriteProgress& progress) {
  return [&model, index, &progress](std::uint64_t offset, std::span<std::byte> dst) -> Status {
    OWF_RETURN_IF_ERROR(model.read(index, offset, dst));
    progress.advance(dst.size());
    return {};
  };
}

Status copy_tensors(const Model& model, std::span<const std::size_t> indices, AtomicFile& out, WriteProgress& progress,
                    const std::function<Status(std::size_t)>& after) {
  struct Piece {
    std::size_t position = 0;  // in indices
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
  };
  // The piece after byte `end` of tensor indices[position]: the rest of it, else the next tensor's start.
  const auto following = [&](std::size_t position, std::uint64_t end) -> std::optional<Piece> {
    for (; position < indices.size(); ++position, end = 0) {
      const std::uint64_t size = model.tensors()[indices[position]].byte_size;
      if (end < size) return Piece{position, end, std::min(kReadPieceBytes, size - end)};
    }
    return std::nullopt;
  };
  const auto read = [&model, indices](const Piece& piece, std::vector<std::byte>& buffer) {
    buffer.resize(piece.size);
    return model.read(indices[piece.position], piece.offset, buffer);
  };
  const bool overlap = resolve_threads(progress.options().threads) > 1;
  std::vector<std::byte> current;
  std::vector<std::byte> next;
  std::optional<Piece> piece = following(0, 0);
  if (piece) OWF_RETURN_IF_ERROR(read(*piece, current));
  std::size_t done = 0;  // tensors whose after() ran
  const auto finish_before = [&](std::size_t position) -> Status {
    for (; done < position; ++done) {
      if (after) OWF_RETURN_IF_ERROR(after(done));
    }
    return {};
  };
  while (piece) {
    const std::optional<Piece> upcoming = following(piece->position, piece->offset + piece->size);
    std::future<Status> ahead;
    if (upcoming && overlap) {
      try {
        ahead = std::async(std::launch::async, read, *upcoming, std::ref(next));
      } catch (const std::system_error&) {
        // No thread to be had: read on this one below.
      }
    }
    Status status = finish_before(piece->position);
    if (status.ok()) status = out.write(current);
    if (ahead.valid()) {
      const Status read_status = ahead.get();
      if (status.ok()) status = read_status;
    } else if (status.ok() && upcoming) {
      status = read(*upcoming, next);
    }
    OWF_RETURN_IF_ERROR(status);
    progress.advance(piece->size);
    piece = upcoming;
    std::swap(current, next);
  }
  return finish_before(indices.size());
}

Status copy_tensor(const Model& model, std::size_t index, AtomicFile& out, WriteProgress& progress) {
  return copy_tensors(model, std::span<const std::size_t>(&index, 1), out, progress);
}

Status rewrite_header(AtomicFile& out, std::uint64_t offset, std::span<const std::byte> draft,
                      std::span<const std::byte> completed, std::string_view where) {
  if (completed.size() != draft.size()) {
    return Status::invalid_argument(std::string(where) + ": the completed metadata makes a header of " +
                                    std::to_string(completed.size()) + " bytes where the file was laid out for " +
                                    std::to_string(draft.size()));
  }
  if (std::equal(draft.begin(), draft.end(), completed.begin())) return {};
  return out.write_at(offset, completed);
}

Result<std::string> Format::edit_native_keys(std::string_view, std::span<const KeyEdit>) const {
  return Status::not_supported(std::string(name()) + " files have no typed keys of their own");
}

Result<std::optional<std::string>> Format::native_key(std::string_view, std::string_view) const {
  return Status::not_supported(std::string(name()) + " files have no typed keys of their own");
}

Result<std::optional<Export>> Format::export_to(const Format&, const Model&) const { return std::optional<Export>(); }

Status Format::write(const Model&, const OutputMetadata&, const std::filesystem::path& path,
                     const WriteOptions&) const {
  return Status::not_supported(path.string() + ": writing " + std::string(name()) + " files is not supported");
}

FormatRegistry::FormatRegistry() { add(std::make_unique<OwfFormat>()); }

void FormatRegistry::add(std::unique_ptr<Format> format) { formats_.push_back(std::move(format)); }

Result<const Format*> FormatRegistry::detect(const std::filesystem::path& path, const HttpOptions& http) const {
  OpenOptions options;
  options.http = http;
  OWF_ASSIGN_OR_RETURN(const Head head, read_head(path, options));
  return pick(path, head.bytes.bytes());
}

Result<const Format*> FormatRegistry::pick(const std::filesystem::path& path, std::span<const std::byte> head) const {
  const Format* best = nullptr;
  const Format* tied = nullptr;
  Confidence best_confidence = Confidence::kNone;
  for (const auto& format : formats_) {
    const Confidence confidence = format->detect(path, head);
    if (confidence == Confidence::kNone || confidence < best_confidence) continue;
    if (confidence == best_confidence) {
      tied = format.get();
    } else {
      best = format.get();
      best_confidence = confidence;
      tied = nullptr;
    }
  }
  if (tied != nullptr) {
    return Status::not_supported(display_name(path) + ": ambiguous format (it looks like both " +
                                 std::string(best->name()) + " and " + std::string(tied->name()) + ")");
  }
  if (best != nullptr) return best;
  if (head.empty()) return Status::not_supported(path.string() + ": unrecognized format (a directory)");
  return Status::not_supported(display_name(path) + ": unrecognized format (first bytes: " + hex_preview(head) + ")");
}

Result<const Format*> FormatRegistry::for_output(const std::filesystem::path& path, std::string_view format) const {
  if (!format.empty()) {
    if (const Format* named = by_name(format)) return named;
    std::string known;
    for (const auto& each : formats_) known += (known.empty() ? "" : ", ") + std::string(each->name());
    return Status::invalid_argument("--format '" + std::string(format) + "': unknown format (known: " + known + ")");
  }
  if (path.native().ends_with('/')) {
    for (const auto& each : formats_) {
      if (each->writes_directory()) return each.get();
    }
    return Status::invalid_argument(path.string() + ": no format writes directories");
  }
  const std::string name = lower(display_filename(path));
  for (const auto& format : formats_) {
    for (const std::string_view extension : format->extensions()) {
      if (name.size() > extension.size() && name.ends_with(extension)) return format.get();
    }
  }
  return Status::invalid_argument(path.string() + ": no format writes files with this name's extension");
}

const Format* FormatRegistry::by_name(std::string_view name) const {
  for (const auto& format : formats_) {
    if (format->name() == name) return format.get();
  }
  return nullptr;
}

Result<OpenedModel> FormatRegistry::open_detected(const std::filesystem::path& path, const OpenOptions& options) const {
  return detail::guarded(display_name(path), [&]() -> Result<OpenedModel> {
    OWF_ASSIGN_OR_RETURN(const Head head, read_head(path, options));
    OWF_ASSIGN_OR_RETURN(const Format* format, pick(path, head.bytes.bytes()));
    OpenOptions with_source = options;
    with_source.source = head.source;
    with_source.source_path = path;
    OWF_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, format->open(path, with_source));
    return OpenedModel{format, std::move(model)};
  });
}

Result<std::unique_ptr<Model>> FormatRegistry::open(const std::filesystem::path& path,
                                                    const OpenOptions& options) const {
  OWF_ASSIGN_OR_RETURN(OpenedModel opened, open_detected(path, options));
  return std::move(opened.model);
}

Result<std::shared_ptr<const ByteSource>> source_of(const std::filesystem::path& path, const OpenOptions& options) {
  // Not compared by name: URLs that differ only in their query (signed URLs) show the same name.
  if (options.source != nullptr && options.source_path == path) return options.source;
  return open_source(path, options.http);
}

}  // namespace owf
