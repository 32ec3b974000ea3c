// owf hash: the content digest of the weights, the same in every format.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "owf/digest.h"
#include "owf/text.h"
#include "progress.h"

namespace owf::cli {
namespace {

struct HashOptions {
  std::vector<std::string> files;
  std::string key;
  bool tensors = false;
};

// Lines "sha256:<hex>  <name>" for each tensor, sorted by name as the content
// digest sorts them (so files in different formats list them alike), then the
// file's line; the file's digest is combined from the tensor digests.
Result<std::string> hash_lines(const Invocation& invocation, const Model& model, const std::string& file,
                               bool per_tensor) {
  ProgressLine progress(invocation.quiet, "hashing", model.total_bytes());
  const DigestProgress count = [&progress](std::uint64_t bytes) { progress.add(bytes); };
  OWF_ASSIGN_OR_RETURN(const std::vector<Digest> tensor_digests,
                       owf::tensor_digests(model, invocation.threads, progress.enabled() ? count : DigestProgress()));
  std::vector<std::pair<std::string, Digest>> digests;
  for (std::size_t i = 0; i < tensor_digests.size(); ++i)
    digests.emplace_back(model.tensors()[i].name, tensor_digests[i]);
  if (!per_tensor) return "sha256:" + to_hex(combine_digests(std::move(digests))) + "  " + file + "\n";
  std::sort(digests.begin(), digests.end());
  std::string lines;
  for (const auto& [name, digest] : digests) lines += "sha256:" + to_hex(digest) + "  " + printable(name) + "\n";
  return lines + "sha256:" + to_hex(combine_digests(std::move(digests))) + "  " + file + "\n";
}

Outcome run_hash(const Invocation& invocation, const HashOptions& options) {
  for (const auto& file : options.files) {
    OWF_ASSIGN_OR_RETURN(const OpenedModel opened,
                         open_model(invocation, file, options.key));
    OWF_ASSIGN_OR_RETURN(const std::string lines, hash_lines(invocation, *opened.model, file, options.tensors));
    std::fputs(lines.c_str(), stdout);
  }
  return kExitOk;
}

}  // namespace

void add_hash_command(CLI::App& app, Invocation& invocation) {
  auto options = std::make_shared<HashOptions>();
  CLI::App* command =
      app.add_subcommand("hash",
                         "Print the content digest of the weights (names, dtypes, shapes, values; not metadata), "
                         "identical for the same weights in any format");
  command->add_option("FILE", options->files, "Model files")->required();
  command->add_flag("--tensors", options->tensors, "Also print one digest per tensor, sorted by name");
  add_key_option(*command, options->key);
  command->footer("Example:\n  owf hash model.safetensors model.owf   # the same digest twice");
  command->callback([&invocation, options] { invocation.outcome = run_hash(invocation, *options); });
}

}  // namespace owf::cli
