// The adapter interface every format implements (the owf container in lib/, the
// others in format/<name>/), and the registry that picks one by content
// (reading) or by file name (writing). owf::registry() (owf/owf.h) holds every
// format built into the library.
#pragma once

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

#include "owf/export.h"
#include "owf/model.h"
#include "owf/output_metadata.h"
#include "owf/source.h"
#include "owf/status.h"
#include "owf/write_options.h"

namespace OWF_EXPORT owf {

struct OpenOptions {
  // Formats with nested containers (PyTorch checkpoints): the dotted key of the
  // subtree to read, e.g. "state_dict". Empty reads everything.
  std::string key;
  // Threads a read of many compressed chunks decodes on (owf); 0 = online CPUs.
  unsigned threads = 0;
  // How URLs are fetched: the one opened and those it names (shards, external data).
  HttpOptions http = {};
  // The file being opened, when the caller opened it already (FormatRegistry::open does, to detect
  // the format), and where from: adapters read it instead of opening that path again.
  std::shared_ptr<const ByteSource> source = nullptr;
  std::filesystem::path source_path = {};
};

// The source of the file at `path` (a local path or a URL): options.source when `path` is
// options.source_path, else the file opened with options.http.
Result<std::shared_ptr<const ByteSource>> source_of(const std::filesystem::path& path, const OpenOptions& options);

// How strongly a file's first bytes (and name) point at a format.
enum class Confidence : std::uint8_t {
  kNone = 0,  // not this format
  kWeak,      // plausible but not distinctive (a protobuf message that parses)
  kLikely,    // a structural check passes (a length then '{'; a zip whose first member is ours)
  kCertain,   // a distinctive magic number ("GGUF", "\x93NUMPY", the owf magic)
};

// A model recast into another format's conventions by the format that knows how
// it was laid out (e.g. a Hugging Face checkpoint as the GGUF llama.cpp runs):
// tensors renamed and re-laid out, metadata rebuilt for the target's writer.
struct Export {
  std::unique_ptr<Model> model;  // a view of the source model, which must outlive it
  // Tensors of `model` whose dtype no cast may change (e.g. norms llama.cpp wants in f32).
  std::vector<std::string> fixed_dtype;
  // The metadata to write, given the model as it will be written (after any casts the caller
  // applies to `model`) and the owf metadata the caller would otherwise write.
  std::function<Result<std::string>(const Model& written, std::string_view metadata_json)> metadata;
};

// One edit of a format's own typed keys (GGUF's key-values), by the key's name in that format.
struct KeyEdit {
  std::string key;
  std::optional<std::string> value;  // JSON text (plain text is taken for a string key); nullopt deletes
  std::string type;                  // for a new key or a change of type, e.g. "u32"; empty: kept or inferred
};

class Format {
 public:
  virtual ~Format() = default;

  // Short lower-case name used in messages and --format flags: "safetensors".
  virtual std::string_view name() const = 0;

  // File name endings that select this format for output, lower case with the
  // dot (".safetensors"); also consulted when content alone is not decisive.
  virtual std::vector<std::string_view> extensions() const = 0;

  // How sure this format is that the file is one of its own. `head` holds the
  // first bytes of the file (up to 4096; fewer for small files; empty for
  // directories). The registry opens a file with the most confident format.
  virtual Confidence detect(const std::filesystem::path& path, std::span<const std::byte> head) const = 0;

  virtual Result<std::unique_ptr<Model>> open(const std::filesystem::path& path, const OpenOptions& options) const = 0;

  // Writes `model` with `metadata` (owf's metadata model; the adapter maps what its format can
  // hold) to `path`, atomically, reading each tensor once. Default: kNotSupported.
  virtual Status write(const Model& model, const OutputMetadata& metadata, const std::filesystem::path& path,
                       const WriteOptions& options) const;

  // Whether write() computes the content digest of what it writes (and passes it to the
  // metadata's completion), so a caller that needs it for tensors written unchanged need not.
  virtual bool digests_content() const { return false; }

  // Whether write() keeps owf metadata (some of it, or all): false for formats with no place for
  // any, so that a conversion can refuse metadata the user set instead of dropping it.
  virtual bool stores_metadata() const { return true; }

  // Whether the file write() produces keeps the content digests in the metadata (provenance's
  // parents and conversions, spec §7), which OutputMetadata's completion fills in: false for formats
  // whose mapping drops them, so that a caller need not compute them. Default: stores_metadata().
  virtual bool stores_content_digests() const { return stores_metadata(); }

  // Whether the format has typed keys of its own (GGUF) that `owf meta` and `convert --set`
  // address by name instead of owf metadata keys.
  virtual bool has_native_keys() const { return false; }

  // For formats with native keys: `metadata_json` (owf metadata as this format's reader and
  // export produce it) with `edits` applied, for write(). Fails naming the key for a value its type
  // cannot hold, an unknown type or the deletion of an absent key. Default: kNotSupported.
  virtual Result<std::string> edit_native_keys(std::string_view metadata_json, std::span<const KeyEdit> edits) const;

  // For formats with native keys: the value of `key` as JSON text, or nullopt when absent.
  virtual Result<std::optional<std::string>> native_key(std::string_view metadata_json, std::string_view key) const;

  // Whether write() produces a directory (chosen for an output path ending in '/').
  virtual bool writes_directory() const { return false; }

  // The export of `model` into `target`'s conventions when this format recognises the model's
  // metadata as its own (whatever file the model was read from) and knows that target;
  // nullopt otherwise (the default). Fails when it recognises the model but cannot export it.
  virtual Result<std::optional<Export>> export_to(const Format& target, const Model& model) const;
};

// A model and the format that recognised it.
struct OpenedModel {
  const Format* format = nullptr;
  std::unique_ptr<Model> model;
};

class FormatRegistry {
 public:
  // A registry that knows the owf container.
  FormatRegistry();

  void add(std::unique_ptr<Format> format);

  // The format most confident that the file is its own; an error naming the
  // file and what its first bytes look like when none claims it, or naming
  // both formats when two are equally confident.
  // `path` may be a URL (fetched with `http`).
  Result<const Format*> detect(const std::filesystem::path& path, const HttpOptions& http = {}) const;
  // The format to write `path` with: the one named `format`, or when that is
  // empty the one whose extensions match `path` (for a path ending in '/', the
  // one that writes directories).
  Result<const Format*> for_output(const std::filesystem::path& path, std::string_view format = {}) const;
  const Format* by_name(std::string_view name) const;

  // Detects the format of `path` (a file, a folder or a URL) and opens it, reading the file once
  // for both. Errors name the file.
  Result<OpenedModel> open_detected(const std::filesystem::path& path, const OpenOptions& options = {}) const;
  Result<std::unique_ptr<Model>> open(const std::filesystem::path& path, const OpenOptions& options = {}) const;

  std::span<const std::unique_ptr<Format>> formats() const { return formats_; }

 private:
  Result<const Format*> pick(const std::filesystem::path& path, std::span<const std::byte> head) const;

  std::vector<std::unique_ptr<Format>> formats_;
};

}  // namespace owf
