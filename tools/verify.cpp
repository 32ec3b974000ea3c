// owf verify: every structural rule and checksum the format has.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"

namespace owf::cli {
namespace {

struct VerifyOptions {
  std::string file;
  std::string key;
};

Outcome run_verify(const Invocation& invocation, const VerifyOptions& options) {
  // A file that does not open is unreadable: that is an error (exit 2), not a finding.
  OWF_ASSIGN_OR_RETURN(const OpenedModel opened,
                       open_model(invocation.registry, options.file, options.key, invocation.threads));
  std::vector<Problem> problems;
  opened.model->verify(problems);
  for (const auto& problem : problems) std::printf("%s\n", problem.message.c_str());
  if (!problems.empty()) {
    std::printf("%s: invalid, %zu problem%s\n", options.file.c_str(), problems.size(), problems.size() == 1 ? "" : "s");
    return kExitDifferent;
  }
  std::printf("%s: valid (%s, %zu tensors)\n", options.file.c_str(), opened.model->format().c_str(),
              opened.model->tensors().size());
  return kExitOk;
}

}  // namespace

void add_verify_command(CLI::App& app, Invocation& invocation) {
  auto options = std::make_shared<VerifyOptions>();
  CLI::App* command = app.add_subcommand(
      "verify", "Check every structural rule and checksum of a file; exit 0 valid, 1 invalid, 2 unreadable");
  command->add_option("FILE", options->file, "Model file")->required();
  add_key_option(*command, options->key);
  command->footer("Example:\n  owf verify model.owf && echo intact");
  command->callback([&invocation, options] { invocation.outcome = run_verify(invocation, *options); });
}

}  // namespace owf::cli
