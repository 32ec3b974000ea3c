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
  std::string type;  // --type, for files with typed keys (GGUF)
  bool verbose = false;
};

Result<Json> read_metadata(const Invocation& invocation, const MetaOptions& options) {
  OWF_ASSIGN_OR_RETURN(const OpenedModel opened,
                       open_model(invocation, options.file, options.key));
  return parse_metadata(opened.model->metadata(), options.file);
}

Outcome run_print(const Invocation& invocation, const MetaOptions& options) {
  OWF_ASSIGN_OR_RETURN(const Json metadata, read_metadata(invocation, options));
  std::printf("%s\n", dump_json_for_terminal(metadata, 2).c_str());
  return kExitOk;
}

Outcome run_get(const Invocation& invocation, const MetaOptions& options) {
  OWF_ASSIGN_OR_RETURN(const OpenedModel opened,
                       open_model(invocation, options.file, options.key));
  if (opened.format->has_native_keys()) {
    auto native = opened.format->native_key(opened.model->metadata(), options.metadata_key);
    if (!native.ok()) return native.status().with_context(options.file);
    if (*native) {
      OWF_ASSIGN_OR_RETURN(const Json value, parse_json(**native, options.file));
      std::printf("%s\n", dump_json_for_terminal(value, 2).c_str());
      return kExitOk;
    }
  }
  OWF_ASSIGN_OR_RETURN(const Json metadata, parse_metadata(opened.model->metadata(), options.file));
  const Json* value = find_dotted(metadata, options.metadata_key);
  if (value == nullptr) {
    return Status::not_found(options.file + ": metadata key '" + options.metadata_key + "' not found");
  }
  std::printf("%s\n", dump_json_for_terminal(*value, 2).c_str());
  return kExitOk;
}

// Rewrites a file whose format has typed keys of its own (GGUF) with `edits` applied: the whole
// file, written beside it and renamed over it (the same guarantees as convert).
Outcome edit_native_keys(const Invocation& invocation, const MetaOptions& options, const Format& format,
                         const std::vector<KeyEdit>& edits) {
  OWF_ASSIGN_OR_RETURN(const OpenedModel opened,
                       open_model(invocation, options.file, options.key));
  auto edited = format.edit_native_keys(opened.model->metadata(), edits);
  if (!edited.ok()) return edited.status().with_context(options.file);
  WriteOptions write;
  write.overwrite = true;
  write.threads = invocation.threads;
  OWF_RETURN_IF_ERROR(format.write(*opened.model, *edited, options.file, write));
  if (options.verbose) std::fprintf(stderr, "%s: file rewritten\n", options.file.c_str());
  return kExitOk;
}

// Files with typed keys of their own get `native_edits`; .owf files get `edit` on their metadata.
Outcome edit_metadata(const Invocation& invocation, const MetaOptions& options,
                      const std::function<Status(Json&)>& edit, const std::vector<KeyEdit>& native_edits) {
  OWF_ASSIGN_OR_RETURN(const Format* format, invocation.registry.detect(options.file));
  if (format->has_native_keys()) return edit_native_keys(invocation, options, *format, native_edits);
  if (!options.type.empty()) {
    return Status::invalid_argument(options.file + ": --type applies to files with typed keys (GGUF)");
  }
  return edit_owf_metadata(invocation.registry, options.file, options.verbose, edit);
}

Outcome run_set(const Invocation& invocation, const MetaOptions& options) {
  std::vector<KeyEdit> native_edits;
  for (const auto& text : options.assignments) {
    OWF_ASSIGN_OR_RETURN(KeyEdit edit, parse_key_edit(text, "meta set", options.type));
    native_edits.push_back(std::move(edit));
  }
  return edit_metadata(
      invocation, options,
      [&](Json& metadata) -> Status {
        for (const auto& text : options.assignments) {
          OWF_ASSIGN_OR_RETURN(auto assignment, parse_assignment(text, "meta set"));
          OWF_RETURN_IF_ERROR(
              set_dotted(metadata, assignment.first, std::move(assignment.second)).with_context(options.file));
        }
        return {};
      },
      native_edits);
}

Outcome run_delete(const Invocation& invocation, const MetaOptions& options) {
  std::vector<KeyEdit> native_edits;
  for (const auto& key : options.deletions) native_edits.push_back(KeyEdit{key, std::nullopt, {}});
  return edit_metadata(
      invocation, options,
      [&](Json& metadata) -> Status {
        for (const auto& key : options.deletions) {
          OWF_RETURN_IF_ERROR(erase_dotted(metadata, key).with_context(options.file));
        }
        return {};
      },
      native_edits);
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
      "  owf meta delete model.owf training\n"
      "  owf meta set model.gguf general.name=Tiny llama.context_length=4096\n"
      "  owf meta set model.gguf --type f32 my.scale=0.5");

  CLI::App* get = meta->add_subcommand("get", "Print the JSON value at KEY");
  get->add_option("FILE", options->file, "Model file (any format)")->required();
  get->add_option("KEY", options->metadata_key, "Dotted key, e.g. provenance.writer")->required();
  add_key_option(*get, options->key);
  get->callback([&invocation, options] { invocation.outcome = run_get(invocation, *options); });

  CLI::App* set = meta->add_subcommand(
      "set", "Set KEY to a JSON value in an .owf file (in place when it fits), or a GGUF key by its name");
  set->add_option("FILE", options->file, ".owf or .gguf file")->required();
  set->add_option("ASSIGNMENTS", options->assignments,
                  "KEY=JSON, e.g. license='\"MIT\"' or config.layers=12; GGUF: general.name=Tiny")
      ->required();
  set->add_option("--type", options->type,
                  "GGUF: the type of new keys (u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 bool str); existing keys keep "
                  "theirs unless given, new ones are inferred from the value")
      ->type_name("TYPE");
  add_verbose_flag(*set, options->verbose);
  set->callback([&invocation, options] { invocation.outcome = run_set(invocation, *options); });

  CLI::App* erase = meta->add_subcommand("delete", "Remove KEY from an .owf file's metadata, or a GGUF key");
  erase->add_option("FILE", options->file, ".owf or .gguf file")->required();
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
