// owf convert: reads any format, writes the format OUT's extension names,
// streaming tensors through a TransformedModel (filter, rename, cast) and
// recording provenance in the output's metadata.

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cli.h"
#include "json_util.h"
#include "owf/container.h"
#include "owf/digest.h"
#include "owf/metadata.h"
#include "progress.h"
#include "transform.h"

namespace owf::cli {
namespace {

struct ConvertOptions {
  std::string input;
  std::string output;
  std::string format;
  std::string key;
  std::string dtype;
  std::vector<std::string> dtype_rules;
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  std::vector<std::string> renames;
  std::vector<std::string> sets;
  std::string license;
  std::string architecture;
  bool compress = false;
  int compress_level = CompressionOptions().level;
  std::string chunk_size;
  std::uint32_t alignment = 0;  // 0: the writer's default
  std::string max_shard_size;
  bool force = false;
};

Result<TransformOptions> transform_options(const ConvertOptions& options) {
  TransformOptions transform;
  OWF_ASSIGN_OR_RETURN(transform.include, compile_regexes(options.include, "--include"));
  OWF_ASSIGN_OR_RETURN(transform.exclude, compile_regexes(options.exclude, "--exclude"));
  for (const auto& text : options.renames) {
    OWF_ASSIGN_OR_RETURN(auto rule, parse_rename_rule(text));
    transform.renames.push_back(std::move(rule));
  }
  for (const auto& text : options.dtype_rules) {
    OWF_ASSIGN_OR_RETURN(auto rule, parse_dtype_rule(text));
    transform.dtype_rules.push_back(std::move(rule));
  }
  if (!options.dtype.empty()) {
    OWF_ASSIGN_OR_RETURN(transform.dtype, parse_cast_dtype(options.dtype, "--dtype"));
  }
  return transform;
}

// The flags that change tensors, as recorded in provenance.conversions[].options.
std::vector<std::string> content_flags(const ConvertOptions& options) {
  std::vector<std::string> flags;
  const auto record = [&flags](const char* flag, const std::vector<std::string>& values) {
    for (const auto& value : values) flags.push_back(std::string(flag) + "=" + value);
  };
  record("--include", options.include);
  record("--exclude", options.exclude);
  record("--rename", options.renames);
  if (!options.dtype.empty()) flags.push_back("--dtype=" + options.dtype);
  record("--dtype-rule", options.dtype_rules);
  return flags;
}

// SOURCE_DATE_EPOCH (reproducible-builds.org) as RFC 3339 UTC, or nothing
// when it is not set: without it the output carries no time, so converting
// twice gives the same bytes.
Result<std::optional<std::string>> source_date() {
  const char* epoch = std::getenv("SOURCE_DATE_EPOCH");
  if (epoch == nullptr) return std::optional<std::string>();
  const std::string_view text(epoch);
  std::int64_t seconds = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  std::tm utc{};
  const std::time_t time = static_cast<std::time_t>(seconds);
  if (error != std::errc() || end != text.data() + text.size() || gmtime_r(&time, &utc) == nullptr) {
    return Status::invalid_argument("SOURCE_DATE_EPOCH '" + std::string(text) + "' is not a number of seconds");
  }
  char formatted[32];
  std::strftime(formatted, sizeof formatted, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::optional<std::string>(formatted);
}

// What provenance records about one conversion besides the input's digest.
struct ConversionFacts {
  std::string input_name;
  std::string input_format;
  std::string output_format;
  std::vector<std::string> options;
  std::optional<std::string> time;
};

// Records the input as the output's only parent, owf as its writer, and
// appends this conversion to the input's history (spec/metadata.schema.json).
Status add_provenance(Json& metadata, const ConversionFacts& facts, const Digest& input_digest,
                      std::string_view where) {
  const std::string digest = "sha256:" + to_hex(input_digest);
  Json& provenance = metadata["provenance"];
  if (provenance.is_null()) provenance = Json::object();
  if (!provenance.is_object()) {
    return Status::invalid_argument(std::string(where) + ": metadata 'provenance' is " + provenance.type_name() +
                                    ", not an object (replace it with --set provenance={})");
  }
  const std::string version(library_version());
  provenance["parents"] = Json::array({{{"name", facts.input_name}, {"digest", digest}}});
  provenance["writer"] = {{"tool", "owf"}, {"version", version}};
  Json conversion = {{"tool", "owf"},
                     {"version", version},
                     {"from", {{"format", facts.input_format}, {"name", facts.input_name}, {"digest", digest}}},
                     {"to", {{"format", facts.output_format}}},
                     {"options", facts.options}};
  if (facts.time) conversion["time"] = *facts.time;
  Json& conversions = provenance["conversions"];
  if (conversions.is_null()) conversions = Json::array();
  if (!conversions.is_array()) {
    return Status::invalid_argument(std::string(where) + ": metadata 'provenance.conversions' is " +
                                    conversions.type_name() + ", not an array");
  }
  conversions.push_back(std::move(conversion));
  return {};
}

// A conversion's input that computes its content digest, once enabled, from the bytes the writer
// reads through it. A tensor not read whole and in order (dropped by a filter, or read out of
// order, as an export un-permuting rows does) is read once more by finish().
class DigestingModel final : public Model {
 public:
  explicit DigestingModel(const Model& source) : source_(source) {
    for (const auto& info : source.tensors()) entries_.push_back(std::make_unique<Entry>(info));
  }

  // Before the first read: from then on, read() feeds the digests.
  void enable() { enabled_ = true; }

  std::string format() const override { return source_.format(); }
  const std::vector<TensorInfo>& tensors() const override { return source_.tensors(); }
  const std::string& metadata() const override { return source_.metadata(); }
  std::string encoding(std::size_t index) const override { return source_.encoding(index); }
  std::uint64_t stored_size(std::size_t index) const override { return source_.stored_size(index); }
  // No view(): every byte a writer takes passes through read(). Thread-safe, as Model requires.
  Status read(std::size_t index, std::uint64_t offset, std::span<std::byte> dst) const override {
    OWF_RETURN_IF_ERROR(source_.read(index, offset, dst));
    if (!enabled_) return {};
    Entry& entry = *entries_[index];
    const std::lock_guard lock(entry.mutex);
    if (offset <= entry.digested && offset + dst.size() > entry.digested) {
      entry.digester.update(std::span<const std::byte>(dst).subspan(entry.digested - offset));
      entry.digested = offset + dst.size();
    }
    return {};
  }

  Result<Digest> finish() const {
    std::vector<std::pair<std::string, Digest>> digests;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      const TensorInfo& info = source_.tensors()[i];
      if (entries_[i]->digested == info.byte_size) {
        digests.emplace_back(info.name, entries_[i]->digester.finish());
      } else {
        OWF_ASSIGN_OR_RETURN(const Digest digest, tensor_digest(source_, i));
        digests.emplace_back(info.name, digest);
      }
    }
    return combine_digests(std::move(digests));
  }

 private:
  struct Entry {
    explicit Entry(const TensorInfo& info) : digester(info) {}
    std::mutex mutex;
    TensorDigester digester;
    std::uint64_t digested = 0;  // bytes fed so far, from the start
  };
  const Model& source_;
  std::vector<std::unique_ptr<Entry>> entries_;
  bool enabled_ = false;
};

Result<WriteOptions> write_options(const ConvertOptions& options, bool owf_output, unsigned threads) {
  WriteOptions write;
  write.overwrite = options.force;
  write.threads = threads;
  if (!owf_output && (options.compress || options.alignment != 0)) {
    return Status::invalid_argument(options.output + ": --compress and --align apply to .owf output only");
  }
  if (options.alignment != 0) write.alignment = options.alignment;
  if (options.compress) {
    CompressionOptions compression;
    compression.level = options.compress_level;
    if (!options.chunk_size.empty()) {
      OWF_ASSIGN_OR_RETURN(const std::uint64_t chunk_size, parse_size(options.chunk_size, "--chunk-size"));
      if (chunk_size > std::numeric_limits<std::uint32_t>::max()) {
        return Status::invalid_argument("--chunk-size '" + options.chunk_size + "': too large");
      }
      compression.chunk_size = static_cast<std::uint32_t>(chunk_size);
    }
    write.compression = compression;
  }
  // Refused here, before the input is read, rather than by the Writer after it.
  if (owf_output) OWF_RETURN_IF_ERROR(validate_write_options(write).with_context(options.output));
  if (!options.max_shard_size.empty()) {
    OWF_ASSIGN_OR_RETURN(write.max_shard_size, parse_size(options.max_shard_size, "--max-shard-size"));
    if (owf_output) return Status::invalid_argument(options.output + ": .owf output is never sharded");
  }
  return write;
}

// The input's metadata with the user's edits applied (provenance comes later).
// For formats with typed keys of their own (GGUF), --set names those keys: applied to the
// metadata about to be written.
Result<std::string> with_native_sets(const Format& format, std::string metadata, const ConvertOptions& options) {
  if (!format.has_native_keys() || options.sets.empty()) return metadata;
  std::vector<KeyEdit> edits;
  for (const auto& text : options.sets) {
    OWF_ASSIGN_OR_RETURN(KeyEdit edit, parse_key_edit(text, "--set"));
    edits.push_back(std::move(edit));
  }
  auto edited = format.edit_native_keys(metadata, edits);
  if (!edited.ok()) return edited.status().with_context(options.output + ": --set");
  return std::move(edited).value();
}

Result<Json> edited_metadata(const Model& input, const Format& output, const ConvertOptions& options) {
  OWF_ASSIGN_OR_RETURN(Json metadata, parse_metadata(input.metadata(), options.input));
  const bool asked = !options.sets.empty() || !options.license.empty() || !options.architecture.empty();
  if (asked && !output.stores_metadata()) {
    return Status::invalid_argument(options.output + ": " + std::string(output.name()) +
                                    " files hold no metadata; --set, --license and --architecture would be lost");
  }
  for (const auto& text : output.has_native_keys() ? std::vector<std::string>() : options.sets) {
    OWF_ASSIGN_OR_RETURN(auto assignment, parse_assignment(text, "--set"));
    OWF_RETURN_IF_ERROR(set_dotted(metadata, assignment.first, std::move(assignment.second)).with_context("--set"));
  }
  if (!options.license.empty()) {
    OWF_RETURN_IF_ERROR(check_standard_key("license", options.license).with_context("--license"));
    metadata["license"] = options.license;
  }
  if (!options.architecture.empty()) metadata["architecture"] = options.architecture;
  return metadata;
}

// The export of the input into the output format's conventions, from the first format that
// recognises the input's metadata as its own (e.g. an HF checkpoint written as GGUF).
Result<std::optional<Export>> find_export(const FormatRegistry& registry, const Format& target, const Model& input) {
  for (const auto& format : registry.formats()) {
    OWF_ASSIGN_OR_RETURN(std::optional<Export> exported, format->export_to(target, input));
    if (exported) return exported;
  }
  return std::optional<Export>();
}

Outcome run_convert(const Invocation& invocation, const ConvertOptions& options) {
  // Everything that can be refused without reading the input is refused first.
  OWF_ASSIGN_OR_RETURN(const Format* format, invocation.registry.for_output(options.output, options.format));
  const bool owf_output = format->name() == kOwfFormatName;
  std::error_code ignored;
  if (!options.force && std::filesystem::exists(options.output, ignored)) {
    return Status::invalid_argument(options.output + ": already exists (use --force to replace it)");
  }
  OWF_ASSIGN_OR_RETURN(TransformOptions transform, transform_options(options));
  OWF_ASSIGN_OR_RETURN(WriteOptions write, write_options(options, owf_output, invocation.threads));
  OWF_ASSIGN_OR_RETURN(const auto time, source_date());

  OWF_ASSIGN_OR_RETURN(const OpenedModel input, open_model(invocation, options.input, options.key));
  DigestingModel digesting(*input.model);
  auto found = find_export(invocation.registry, *format, digesting);
  if (!found.ok()) return found.status().with_context(options.input);
  const std::optional<Export> exported = std::move(found).value();
  if (exported) transform.fixed_dtype.insert(exported->fixed_dtype.begin(), exported->fixed_dtype.end());
  auto created = TransformedModel::create(exported ? *exported->model : digesting, transform);
  if (!created.ok()) return created.status().with_context(options.input);
  const std::unique_ptr<TransformedModel> view = std::move(created).value();
  OWF_ASSIGN_OR_RETURN(const Json edited, edited_metadata(*input.model, *format, options));
  const ConversionFacts facts{base_name(options.input), std::string(input.format->name()), std::string(format->name()),
                              view->changes_content() ? content_flags(options) : std::vector<std::string>(), time};
  const auto metadata_for = [&](const Digest& input_digest) -> Result<std::string> {
    Json metadata = edited;
    OWF_RETURN_IF_ERROR(add_provenance(metadata, facts, input_digest, options.input));
    std::string text = dump_json(metadata, -1);
    OWF_RETURN_IF_ERROR(validate_metadata(text, options.output));
    if (exported) {
      auto recast = exported->metadata(*view, text);
      if (!recast.ok()) return recast.status().with_context(options.input);
      text = std::move(recast).value();
    }
    return with_native_sets(*format, std::move(text), options);
  };

  // The input's content digest, for provenance, where the output keeps it: recorded in an .owf
  // input's header; else taken from the writer when the tensors reach one that digests them
  // unchanged; else computed from the bytes the writer reads (so the input is read once, which
  // matters most for a URL).
  const Reader* owf_input = dynamic_cast<const Reader*>(input.model.get());
  const bool writer_digests_input = !exported && !view->changes_content() && format->digests_content();
  OWF_ASSIGN_OR_RETURN(std::string draft, metadata_for(owf_input ? owf_input->recorded_digest() : Digest{}));
  OutputMetadata::Completion completion;
  if (!owf_input && format->stores_content_digests()) {
    if (!writer_digests_input) digesting.enable();
    completion = [&](const WrittenContent& written) -> Result<std::string> {
      if (writer_digests_input && written.content_digest) return metadata_for(*written.content_digest);
      OWF_ASSIGN_OR_RETURN(const Digest input_digest, digesting.finish());
      return metadata_for(input_digest);
    };
  }
  const OutputMetadata metadata(std::move(draft), std::move(completion));

  ProgressLine progress(invocation.quiet, "converting", view->total_bytes());
  if (progress.enabled()) write.progress = [&progress](std::uint64_t done, std::uint64_t) { progress.set(done); };
  OWF_RETURN_IF_ERROR(format->write(*view, metadata, options.output, write));
  return kExitOk;
}

}  // namespace

void add_convert_command(CLI::App& app, Invocation& invocation) {
  auto options = std::make_shared<ConvertOptions>();
  CLI::App* command =
      app.add_subcommand("convert",
                         "Convert between formats (output format from OUT's extension), optionally filtering, "
                         "renaming, casting or quantizing tensors; provenance is recorded in the metadata");
  command->add_option("IN", options->input, "Input model file (any supported format)")->required();
  command
      ->add_option(
          "OUT", options->output,
          "Output file; its extension selects the format (a path ending in / writes a Hugging Face model folder)")
      ->required();
  command
      ->add_option("--format,--to", options->format,
                   "Output format by name, whatever OUT's extension (hf: a model folder)")
      ->type_name("NAME");
  command
      ->add_option("--dtype", options->dtype,
                   "Cast floating tensors (quantized ones are dequantized first; integers stay): f32, f16, bf16, "
                   "f64 (round to nearest even), or quantize with ggml's reference quantizers to q8_0, q4_0, q4_k, "
                   "q5_k or q6_k (2-D+ tensors; norms and 1-D tensors stay f32; rows that are not whole blocks "
                   "become q8_0, or f16 when not whole 32-element blocks)")
      ->type_name("DTYPE");
  add_repeatable_option(*command, "--dtype-rule", options->dtype_rules, "REGEX=DTYPE",
                        "REGEX=DTYPE for tensors whose name matches; first match wins over --dtype (repeatable)");
  add_repeatable_option(*command, "--include", options->include, "REGEX",
                        "Keep only tensors whose name matches REGEX (repeatable)");
  add_repeatable_option(*command, "--exclude", options->exclude, "REGEX",
                        "Drop tensors whose name matches REGEX (repeatable)");
  add_repeatable_option(*command, "--rename", options->renames, "s/FROM/TO/",
                        "s/FROM/TO/ or s/FROM/TO/g: ECMAScript regex replace on names, $1 for groups; applied in order "
                        "(repeatable); names that end up equal are refused");
  add_repeatable_option(*command, "--set", options->sets, "KEY=JSON",
                        "KEY=JSON metadata value; dotted KEY for nesting (repeatable). For .gguf output KEY is a "
                        "GGUF key (general.name=Tiny): existing keys keep their type, new ones take it from the "
                        "value (string, bool, u32/i32/u64/i64, f32)");
  command->add_option("--license", options->license, "Set the metadata license (SPDX expression)")->type_name("SPDX");
  command->add_option("--architecture", options->architecture, "Set the metadata architecture")->type_name("NAME");
  CLI::Option* compress = command->add_flag(
      "--compress", options->compress, "Compress tensors (zstd-chunked, each byte lane compressed or stored; .owf)");
  command->add_option("--compress-level", options->compress_level, "zstd level (default 1, which suits weights best)")
      ->check(CLI::Range(1, 22))
      ->needs(compress);
  command->add_option("--chunk-size", options->chunk_size, "Decoded bytes per compressed chunk, e.g. 1MiB")
      ->type_name("SIZE")
      ->needs(compress);
  command->add_option("--align", options->alignment, "Tensor alignment in .owf output (power of two, 8..4096)")
      ->type_name("N");
  command
      ->add_option("--max-shard-size", options->max_shard_size,
                   "Split output into shards of at most SIZE, e.g. 2GB or 500MiB (formats that shard)")
      ->type_name("SIZE");
  command->add_flag("--force", options->force, "Replace OUT if it exists");
  add_key_option(*command, options->key);
  command->footer(
      "Examples:\n"
      "  owf convert model.safetensors model.owf --compress\n"
      "  owf convert model.owf model-q8.gguf --dtype q8_0 --exclude '^lm_head\\.'\n"
      "  owf convert in.npz out.safetensors --rename 's/^encoder\\./enc./' --set training='{\"epochs\":3}'\n"
      "  owf convert ./TinyLlama/ tinyllama-q8.gguf --dtype q8_0\n"
      "  owf convert tinyllama.gguf ./TinyLlama-hf/ --dtype bf16");
  command->callback([&invocation, options] { invocation.outcome = run_convert(invocation, *options); });
}

}  // namespace owf::cli
