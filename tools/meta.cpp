// owf meta: print metadata of any format; get one key; set or delete keys of
// an .owf file, in place when the new header fits the reserved slack.
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "json_util.h"
#include "owf/container.h"
#include "owf/metadata.h"

namespace owf::cli {
namespace {

struct MetaOptions {
  std::string file;
  std::string key;  // --key, for nested checkpoints
  std::string metadata_key;
  std::vector<std::string> assignments;
  std::vector<std::string> deletions;
  bool verbose = false;
};

Result<Json> read_metadata(const Invocation& invocation, const MetaOptions& options) {
  OWF_ASSIGN_OR_RETURN(const OpenedModel opened,
                       open_model(invocation.registry, options.file, options.key, invocation.threads));
  return parse_metadata(opened.model->metadata(), options.file);
}

Outcome run_print(const Invocation& invocation, const MetaOptions& options) {
  OWF_ASSIGN_OR_RETURN(const Json metadata, read_metadata(invocation, options));
  std::printf("%s\n", dump_json_for_terminal(metadata, 2).c_str());
  return kExitOk;
}

Outcome run_get(const Invocation& invocation, const MetaOptions& options) {
  OWF_ASSIGN_OR_RETURN(const Json metadata, read_metadata(invocation, options));
  const Json* value = find_dotted(metadata, options.metadata_key);
  if (value == nullptr) {
    return Status::not_found(options.file + ": metadata key '" + options.metadata_key + "' not found");
  }
  std::printf("%s\n", dump_json_for_terminal(*value, 2).c_str());
  return kExitOk;
}

Outcome run_set(const Invocation& invocation, const MetaOptions& options) {
  std::vector<std::pair<std::string, Json>> assignments;
  for (const auto& text : options.assignments) {
    OWF_ASSIGN_OR_RETURN(auto assignment, parse_assignment(text, "meta set"));
    assignments.push_back(std::move(assignment));
  }
  return edit_owf_metadata(invocation.registry, options.file, options.verbose, [&](Json& metadata) -> Status {
    for (auto& [key, value] : assignments) {
      OWF_RETURN_IF_ERROR(set_dotted(metadata, key, std::move(value)).with_context(options.file));
    }
    return {};
  });
}

Outcome run_delete(const Invocation& invocation, const MetaOptions& options) {
  return edit_owf_metadata(invocation.registry, options.file, options.verbose, [&](Json& metadata) -> Status {
    for (const auto& key : options.deletions) {
      OWF_RETURN_IF_ERROR(erase_dotted(metadata, key).with_context(options.file));
    }
    return {};
  });
}

void add_verbose_flag(CLI::App& command, bool& verbose) {
  command.add_flag("-v,--verbose", verbose, "Say on stderr whether the header was rewritten in place");
}

}  // namespace

Outcome edit_owf_metadata(const FormatRegistry& registry, const std::string& file, bool verbose,
                          const std::function<Status(Json&)>& edit) {
  OWF_ASSIGN_OR_RETURN(const Format* format, registry.detect(file));
  if (format->name() != kOwfFormatName) {
    return Status::not_supported(file + ": metadata can only be edited in .owf files, this is " +
                                 std::string(format->name()) + " (owf convert it to .owf first)");
  }
  Json metadata;
  {
    OWF_ASSIGN_OR_RETURN(const auto reader, Reader::open(file));
    OWF_ASSIGN_OR_RETURN(metadata, parse_metadata(reader->metadata(), file));
  }  // unmapped before the file is rewritten
  OWF_RETURN_IF_ERROR(edit(metadata));
  const std::string text = dump_json(metadata, -1);
  OWF_RETURN_IF_ERROR(validate_metadata(text, file));
  bool in_place = false;
  OWF_RETURN_IF_ERROR(replace_metadata(file, text, &in_place));
  if (verbose) {
    std::fprintf(stderr, "%s: metadata %s\n", file.c_str(),
                 in_place ? "rewritten in place" : "did not fit the header slack; file rewritten");
  }
  return kExitOk;
}

void add_meta_command(CLI::App& app, Invocation& invocation) {
  auto options = std::make_shared<MetaOptions>();
  CLI::App* meta = app.add_subcommand(
      "meta", "Print a file's metadata as JSON; 'get', 'set' and 'delete' address keys (dotted for nesting)");
  meta->add_option("FILE", options->file, "Model file (any format)");
  add_key_option(*meta, options->key);
  meta->require_subcommand(0, 1);
  meta->footer(
      "Examples:\n"
      "  owf meta model.gguf\n"
      "  owf meta get model.owf provenance.writer.version\n"
      "  owf meta set model.owf license='\"Apache-2.0\"' training.epochs=3\n"
      "  owf meta delete model.owf training");

  CLI::App* get = meta->add_subcommand("get", "Print the JSON value at KEY");
  get->add_option("FILE", options->file, "Model file (any format)")->required();
  get->add_option("KEY", options->metadata_key, "Dotted key, e.g. provenance.writer")->required();
  add_key_option(*get, options->key);
  get->callback([&invocation, options] { invocation.outcome = run_get(invocation, *options); });

  CLI::App* set = meta->add_subcommand("set", "Set KEY to a JSON value in an .owf file (in place when it fits)");
  set->add_option("FILE", options->file, ".owf file")->required();
  set->add_option("ASSIGNMENTS", options->assignments, "KEY=JSON, e.g. license='\"MIT\"' or config.layers=12")
      ->required();
  add_verbose_flag(*set, options->verbose);
  set->callback([&invocation, options] { invocation.outcome = run_set(invocation, *options); });

  CLI::App* erase = meta->add_subcommand("delete", "Remove KEY from an .owf file's metadata");
  erase->add_option("FILE", options->file, ".owf file")->required();
  erase->add_option("KEY", options->deletions, "Dotted keys")->required();
  add_verbose_flag(*erase, options->verbose);
  erase->callback([&invocation, options] { invocation.outcome = run_delete(invocation, *options); });

  meta->callback([&invocation, options, meta] {
    if (!meta->get_subcommands().empty()) return;  // get, set or delete ran
    if (options->file.empty()) {
      invocation.outcome = Status::invalid_argument("meta: FILE is required (owf meta FILE, or get/set/delete)");
      return;
    }
    invocation.outcome = run_print(invocation, *options);
  });
}

}  // namespace owf::cli
