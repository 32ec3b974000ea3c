// owf inspect: a summary of a model file, its metadata and a tensor table,
// for people or (--json) for programs; --stats adds value statistics.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "cli.h"
#include "json_util.h"
#include "owf/numeric.h"
#include "owf/text.h"
#include "owf/threads.h"
#include "progress.h"
#include "table.h"
#include "values.h"

namespace owf::cli {
namespace {

struct InspectOptions {
  std::string file;
  std::string key;
  std::string filter;
  bool json = false;
  bool stats = false;
};

// Statistics over the finite values of a tensor (NaN and ±Inf only counted).
struct TensorStats {
  std::uint64_t finite = 0;
  std::uint64_t nan = 0;
  std::uint64_t inf = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double mean = 0;
  double sum_squared_deviations = 0;  // Welford's M2

  void add(double value) {
    if (std::isnan(value)) {
      ++nan;
    } else if (std::isinf(value)) {
      ++inf;
    } else {
      ++finite;
      min = std::min(min, value);
      max = std::max(max, value);
      const double delta = value - mean;
      mean += delta / static_cast<double>(finite);
      sum_squared_deviations += delta * (value - mean);
    }
  }
  // Population standard deviation, as numpy's std().
  double std_dev() const { return std::sqrt(sum_squared_deviations / static_cast<double>(finite)); }
};

Result<TensorStats> compute_stats(const Model& model, std::size_t index, ProgressLine& progress) {
  const TensorInfo& info = model.tensors()[index];
  ElementReader reader(model, index);
  std::vector<double> values;
  TensorStats stats;
  OWF_RETURN_IF_ERROR(for_each_run(0, element_count_of(info), dtype_info(info.dtype).block_elements,
                                   [&](std::uint64_t first, std::uint64_t count) -> Status {
                                     values.resize(count);
                                     OWF_RETURN_IF_ERROR(reader.read(first, values));
                                     for (const double value : values) stats.add(value);
                                     const ByteRange bytes = element_bytes(info, first, count);
                                     progress.add(bytes.end - bytes.begin);
                                     return {};
                                   }));
  return stats;
}

// What inspect reports about one tensor.
struct TensorReport {
  std::size_t index = 0;
  std::uint64_t parameters = 0;
  std::optional<TensorStats> stats;  // with --stats, when the dtype decodes
};

// The whole report, built before anything is printed.
struct Report {
  std::string format_name;
  std::string format_description;
  Json metadata;
  std::vector<TensorReport> tensors;
  std::uint64_t parameters = 0;
  std::uint64_t bytes = 0;
  std::uint64_t stored_bytes = 0;
  std::map<std::uint16_t, std::uint64_t> bytes_per_dtype;  // by dtype id, for a stable order
};

Result<Report> build_report(const Invocation& invocation, const OpenedModel& opened, const InspectOptions& options) {
  const Model& model = *opened.model;
  Report report;
  report.format_name = opened.format->name();
  report.format_description = model.format();
  OWF_ASSIGN_OR_RETURN(report.metadata, parse_metadata(model.metadata(), options.file));
  std::optional<std::regex> filter;
  if (!options.filter.empty()) {
    OWF_ASSIGN_OR_RETURN(filter, compile_regex(options.filter, "--filter"));
  }
  for (std::size_t i = 0; i < model.tensors().size(); ++i) {
    const TensorInfo& info = model.tensors()[i];
    if (filter) {
      const auto shown = regex_found(*filter, info.name);
      if (!shown.ok()) return shown.status().with_context(options.file);
      if (!*shown) continue;
    }
    TensorReport tensor{i, element_count_of(info), std::nullopt};
    report.parameters += tensor.parameters;
    report.bytes += info.byte_size;
    report.stored_bytes += model.stored_size(i);
    report.bytes_per_dtype[static_cast<std::uint16_t>(info.dtype)] += info.byte_size;
    report.tensors.push_back(std::move(tensor));
  }
  if (!options.stats) return report;
  // Statistics of several tensors at once, each into its own report.
  std::uint64_t total = 0;
  for (const TensorReport& tensor : report.tensors) total += model.tensors()[tensor.index].byte_size;
  ProgressLine progress(invocation.quiet, "reading", total);
  OWF_RETURN_IF_ERROR(parallel_for(report.tensors.size(), invocation.threads, [&](std::size_t k, unsigned) -> Status {
    TensorReport& tensor = report.tensors[k];
    if (!can_decode(model.tensors()[tensor.index].dtype)) return {};
    OWF_ASSIGN_OR_RETURN(tensor.stats, compute_stats(model, tensor.index, progress));
    return {};
  }));
  return report;
}

// Bits of decoded tensor data per parameter (4.5 for q4_0); 0 without parameters.
double bits_per_weight(std::uint64_t bytes, std::uint64_t parameters) {
  return parameters == 0 ? 0.0 : 8.0 * static_cast<double>(bytes) / static_cast<double>(parameters);
}

std::string dtype_name(std::uint16_t id) { return std::string(dtype_info(static_cast<DType>(id)).name); }

Json stats_json(const TensorReport& tensor, DType dtype) {
  if (!tensor.stats) return {{"error", "cannot decode " + std::string(dtype_info(dtype).name)}};
  const TensorStats& stats = *tensor.stats;
  const auto finite_or_null = [&stats](double value) { return stats.finite == 0 ? Json() : Json(value); };
  return {{"min", finite_or_null(stats.min)},
          {"max", finite_or_null(stats.max)},
          {"mean", finite_or_null(stats.mean)},
          {"std", finite_or_null(stats.std_dev())},
          {"finite", stats.finite},
          {"nan", stats.nan},
          {"inf", stats.inf}};
}

std::string render_json(const Model& model, const Report& report, const InspectOptions& options) {
  Json bytes_per_dtype = Json::object();
  for (const auto& [id, bytes] : report.bytes_per_dtype) bytes_per_dtype[dtype_name(id)] = bytes;
  Json tensors = Json::array();
  for (const auto& tensor : report.tensors) {
    const TensorInfo& info = model.tensors()[tensor.index];
    Json entry = {{"name", info.name},
                  {"dtype", dtype_info(info.dtype).name},
                  {"shape", info.shape},
                  {"parameters", tensor.parameters},
                  {"bytes", info.byte_size},
                  {"stored_bytes", model.stored_size(tensor.index)},
                  {"encoding", model.encoding(tensor.index)}};
    if (options.stats) entry["stats"] = stats_json(tensor, info.dtype);
    tensors.push_back(std::move(entry));
  }
  const Json document = {{"file", display_name(options.file)},
                         {"format", report.format_name},
                         {"format_description", report.format_description},
                         {"tensor_count", report.tensors.size()},
                         {"parameters", report.parameters},
                         {"bytes", report.bytes},
                         {"stored_bytes", report.stored_bytes},
                         {"bytes_per_dtype", bytes_per_dtype},
                         {"bits_per_weight", bits_per_weight(report.bytes, report.parameters)},
                         {"metadata", report.metadata},
                         {"tensors", tensors}};
  return dump_json_for_terminal(document, 2) + "\n";
}

// Items shown of an array of plain values in the text view; GGUF vocabularies
// hold tens of thousands of tokens.
constexpr std::size_t kShownArrayItems = 8;

// `value` with every long array of plain values (strings, numbers) cut to its
// first items and a note of how many more there are; arrays of objects, such
// as records of keys, stay whole. Metadata is at most 64 levels deep, which
// bounds the recursion.
// Members shown of a large object and characters of a long string in the text
// view: tokenizer.json carried in metadata maps 100k+ tokens, tokenizer.model is
// carried as base64.
constexpr std::size_t kShownObjectMembers = 32;
constexpr std::size_t kShownStringBytes = 200;

Json abbreviated(const Json& value) {
  if (value.is_object()) {
    Json copy = Json::object();
    std::size_t shown = 0;
    for (const auto& [key, item] : value.items()) {
      if (shown++ == kShownObjectMembers) {
        copy["..."] = std::to_string(value.size() - kShownObjectMembers) + " more members (--json shows all)";
        break;
      }
      copy[key] = abbreviated(item);
    }
    return copy;
  }
  if (value.is_string() && value.get_ref<const std::string&>().size() > kShownStringBytes) {
    const std::string& text = value.get_ref<const std::string&>();
    std::size_t cut = kShownStringBytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
    return text.substr(0, cut) + "... (" + std::to_string(text.size()) + " bytes; --json shows all)";
  }
  if (!value.is_array()) return value;
  const bool plain = std::none_of(value.begin(), value.end(), [](const Json& item) { return item.is_structured(); });
  if (plain && value.size() > kShownArrayItems) {
    Json copy(value.begin(), value.begin() + kShownArrayItems);
    copy.push_back("... " + std::to_string(value.size() - kShownArrayItems) + " more (--json shows all)");
    return copy;
  }
  Json copy = Json::array();
  for (const auto& item : value) copy.push_back(abbreviated(item));
  return copy;
}

// "LlamaForCausalLM: hidden_size 2048, ..." from a Hugging Face config.json carried
// in metadata (spec/formats/hf.md §2); empty when there is none.
std::string hf_architecture_line(const Json& metadata) {
  const Json* config = find_dotted(metadata, "hf.config");
  if (config == nullptr || !config->is_object()) return {};
  std::string line;
  const auto architectures = config->find("architectures");
  if (architectures != config->end() && architectures->is_array() && !architectures->empty() &&
      (*architectures)[0].is_string()) {
    line = (*architectures)[0].get<std::string>();
  } else {
    line = "(no architectures entry)";
  }
  std::string details;
  for (const char* key :
       {"hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "intermediate_size",
        "vocab_size", "max_position_embeddings", "rope_theta", "rms_norm_eps", "tie_word_embeddings", "torch_dtype"}) {
    const auto it = config->find(key);
    if (it != config->end() && !it->is_structured())
      details += (details.empty() ? "" : ", ") + std::string(key) + " " + dump_json(*it, -1);
  }
  return details.empty() ? line : line + ": " + details;
}

std::string render_text(const Model& model, const Report& report, const InspectOptions& options) {
  std::string out;
  const auto line = [&out](const std::string& label, const std::string& value) {
    out += label + std::string(13 - std::min<std::size_t>(label.size(), 12), ' ') + value + "\n";
  };
  line("file:", display_name(options.file));
  line("format:", report.format_description);
  line("tensors:",
       std::to_string(report.tensors.size()) + (options.filter.empty() ? "" : " matching '" + options.filter + "'"));
  line("parameters:", std::to_string(report.parameters));
  std::string sizes = std::to_string(report.bytes) + " (" + human_bytes(report.bytes) + ")";
  if (report.stored_bytes != report.bytes) sizes += ", stored in " + human_bytes(report.stored_bytes);
  line("bytes:", sizes);
  std::string per_dtype;
  for (const auto& [id, bytes] : report.bytes_per_dtype) {
    per_dtype += (per_dtype.empty() ? "" : ", ") + dtype_name(id) + " " + human_bytes(bytes);
  }
  line("dtypes:", per_dtype.empty() ? "-" : per_dtype);
  line("bits/weight:", format_number(bits_per_weight(report.bytes, report.parameters), 6));
  if (const std::string architecture = hf_architecture_line(report.metadata); !architecture.empty()) {
    line("architecture:", architecture);
  }
  out += "metadata:\n" + dump_json_for_terminal(abbreviated(report.metadata), 2) + "\n";
  if (report.tensors.empty()) return out;

  std::vector<std::string> header = {"name", "dtype", "shape", "parameters", "bytes", "encoding"};
  if (options.stats) header.insert(header.end(), {"min", "max", "mean", "std", "nan", "inf"});
  Table table(header, /*left_aligned_columns=*/{0, 1, 2, 5});
  for (const auto& tensor : report.tensors) {
    const TensorInfo& info = model.tensors()[tensor.index];
    std::vector<std::string> row = {printable(info.name),           std::string(dtype_info(info.dtype).name),
                                    format_dims(info.shape),        std::to_string(tensor.parameters),
                                    std::to_string(info.byte_size), model.encoding(tensor.index)};
    if (options.stats && tensor.stats) {
      const TensorStats& stats = *tensor.stats;
      const bool any = stats.finite > 0;
      for (const double value : {stats.min, stats.max, stats.mean, stats.std_dev()}) {
        row.push_back(any ? format_number(value, 6) : "-");
      }
      row.push_back(std::to_string(stats.nan));
      row.push_back(std::to_string(stats.inf));
    } else if (options.stats) {
      row.push_back("(cannot decode " + std::string(dtype_info(info.dtype).name) + ")");
    }
    table.add_row(std::move(row));
  }
  return out + "\n" + table.render();
}

Outcome run_inspect(const Invocation& invocation, const InspectOptions& options) {
  OWF_ASSIGN_OR_RETURN(const OpenedModel opened,
                       open_model(invocation, options.file, options.key));
  OWF_ASSIGN_OR_RETURN(const Report report, build_report(invocation, opened, options));
  const std::string text =
      options.json ? render_json(*opened.model, report, options) : render_text(*opened.model, report, options);
  std::fputs(text.c_str(), stdout);
  return kExitOk;
}

}  // namespace

void add_inspect_command(CLI::App& app, Invocation& invocation) {
  auto options = std::make_shared<InspectOptions>();
  CLI::App* command = app.add_subcommand(
      "inspect", "Summarise a model file: format, sizes, bits per weight, metadata and a tensor table");
  command->add_option("FILE", options->file, "Model file (any supported format, detected by content)")->required();
  command->add_flag("--json", options->json, "Print one JSON document instead of text");
  command->add_flag("--stats", options->stats,
                    "Add per-tensor min/max/mean/std over finite values and NaN/Inf counts (reads every value)");
  command
      ->add_option("--filter", options->filter,
                   "Only tensors whose name matches this ECMAScript regex (searched, not anchored)")
      ->type_name("REGEX");
  add_key_option(*command, options->key);
  command->footer("Example:\n  owf inspect model.gguf --stats --filter 'blk\\.0\\.'");
  command->callback([&invocation, options] { invocation.outcome = run_inspect(invocation, *options); });
}

}  // namespace owf::cli
