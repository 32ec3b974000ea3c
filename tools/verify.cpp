// owf verify: every structural rule and checksum the format has, and with
// --key the signatures over the weights (spec/signatures.md).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "owf/signature.h"
#include "owf/text.h"

namespace owf::cli {
namespace {

// An envelope holds one digest per tensor: a few MB for the largest models.
constexpr std::uintmax_t kMaxEnvelopeBytes = 256u << 20;
constexpr std::uintmax_t kMaxKeyBytes = 64u << 10;

struct VerifyOptions {
  std::string file;
  std::string checkpoint_key;
  std::string signature_file;
  std::string key_file;
  bool metadata = false;
};

// Checks the signatures over the model against its weights now: problems for
// a signature that does not verify or weights that differ from the signed
// ones; errors (exit 2) for unreadable keys and signature files.
Status check_signatures(const Model& model, const VerifyOptions& options, std::vector<Problem>& problems,
                        std::string& signed_as) {
  if (options.key_file.empty())
    return Status::invalid_argument("verify: --signature and --metadata need --key PUB.pem");
  OWF_ASSIGN_OR_RETURN(const std::string key, read_small_file(options.key_file, kMaxKeyBytes));
  OWF_RETURN_IF_ERROR(check_verification_key(key, options.key_file));
  std::vector<std::string> envelopes;
  std::string where = options.signature_file;
  if (!options.signature_file.empty()) {
    OWF_ASSIGN_OR_RETURN(envelopes.emplace_back(), read_small_file(options.signature_file, kMaxEnvelopeBytes));
  } else {
    OWF_ASSIGN_OR_RETURN(envelopes, embedded_signatures(model.metadata(), options.file));
    where = options.file + ": embedded signature";
    if (envelopes.empty()) {
      return Status::not_found(options.file +
                               ": no embedded signature (give --signature FILE.sig, or sign with --embed)");
    }
  }
  const std::string name = std::filesystem::path(options.file).filename().string();
  OWF_ASSIGN_OR_RETURN(const WeightsClaim actual, describe_weights(model, name, options.file));
  std::string failure;
  for (const std::string& envelope : envelopes) {
    auto claim = open_signed_weights(envelope, key, where);
    if (!claim.ok()) {
      failure = claim.status().message();
      continue;
    }
    failure = compare_weights(*claim, actual, options.metadata);
    if (failure.empty()) {
      signed_as = claim->subject_name;
      return {};
    }
    failure = options.file + ": " + failure + " (signed as " + quote(claim->subject_name) + ")";
  }
  problems.push_back({failure});
  return {};
}

Outcome run_verify(const Invocation& invocation, const VerifyOptions& options) {
  // A file that does not open is unreadable: that is an error (exit 2), not a finding.
  OWF_ASSIGN_OR_RETURN(const OpenedModel opened,
                       open_model(invocation, options.file, options.checkpoint_key));
  std::vector<Problem> problems;
  opened.model->verify(problems);
  std::string signed_as;
  const bool check_signature = !options.signature_file.empty() || !options.key_file.empty() || options.metadata;
  if (check_signature && problems.empty()) {
    OWF_RETURN_IF_ERROR(check_signatures(*opened.model, options, problems, signed_as));
  }
  for (const auto& problem : problems) std::printf("%s\n", problem.message.c_str());
  if (!problems.empty()) {
    std::printf("%s: invalid, %zu problem%s\n", options.file.c_str(), problems.size(), problems.size() == 1 ? "" : "s");
    return kExitDifferent;
  }
  std::string signature;
  if (check_signature) {
    signature = std::string("; signature verified (") + (options.metadata ? "weights and metadata" : "weights") +
                ", signed as " + quote(signed_as) + ")";
  }
  std::printf("%s: valid (%s, %zu tensors)%s\n", options.file.c_str(), opened.model->format().c_str(),
              opened.model->tensors().size(), signature.c_str());
  return kExitOk;
}

}  // namespace

void add_verify_command(CLI::App& app, Invocation& invocation) {
  auto options = std::make_shared<VerifyOptions>();
  CLI::App* command = app.add_subcommand(
      "verify", "Check every structural rule and checksum of a file; exit 0 valid, 1 invalid, 2 unreadable");
  command->add_option("FILE", options->file, "Model file")->required();
  command
      ->add_option("--signature", options->signature_file,
                   "DSSE envelope from owf sign: the weights must be the signed ones, in any format")
      ->type_name("FILE.sig");
  command
      ->add_option("--key", options->key_file,
                   "PEM public key checking --signature (or, without it, the signatures embedded in an .owf)")
      ->type_name("PUB.pem");
  command->add_flag("--metadata", options->metadata, "With --key: the metadata must be the signed metadata too");
  command
      ->add_option("--checkpoint-key", options->checkpoint_key,
                   "For nested checkpoints (PyTorch): the dotted key of the subtree to read, e.g. state_dict")
      ->type_name("KEY");
  command->footer(
      "Examples:\n"
      "  owf verify model.owf && echo intact\n"
      "  owf verify model.gguf --signature model.safetensors.sig --key pub.pem");
  command->callback([&invocation, options] { invocation.outcome = run_verify(invocation, *options); });
}

}  // namespace owf::cli
