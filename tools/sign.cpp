// owf sign: a DSSE envelope over the weights' digests (spec/signatures.md),
// written beside the file or embedded in an .owf file's metadata.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "cli.h"
#include "json_util.h"
#include "owf/io.h"
#include "owf/signature.h"

namespace owf::cli {
namespace {

// PEM keys and envelopes are small; anything larger is not one.
constexpr std::uintmax_t kMaxKeyBytes = 64u << 10;

struct SignOptions {
  std::string file;
  std::string key_file;
  std::string output;
  std::string checkpoint_key;
  bool embed = false;
};

Outcome run_sign(const Invocation& invocation, const SignOptions& options) {
  if (options.embed && !options.output.empty()) {
    return Status::invalid_argument("sign: --embed stores the signature in FILE; it takes no -o");
  }
  OWF_ASSIGN_OR_RETURN(const std::string key, read_small_file(options.key_file, kMaxKeyBytes));
  std::string envelope;
  {
    OWF_ASSIGN_OR_RETURN(const OpenedModel opened,
                         open_model(invocation, options.file, options.checkpoint_key));
    if (options.embed && opened.format->name() != kOwfFormatName) {
      return Status::not_supported(options.file + ": --embed needs an .owf file, this is " +
                                   std::string(opened.format->name()) + " (write a detached signature with -o)");
    }
    const std::string name = std::filesystem::path(options.file).filename().string();
    OWF_ASSIGN_OR_RETURN(const WeightsClaim claim, describe_weights(*opened.model, name, options.file));
    OWF_ASSIGN_OR_RETURN(envelope, sign_weights(claim, key, options.key_file));
  }  // the model is closed before an embedding rewrites the file
  if (options.embed) {
    OWF_ASSIGN_OR_RETURN(const Json signature, parse_json(envelope, "signature"));
    return edit_owf_metadata(invocation.registry, options.file, false, [&signature](Json& metadata) -> Status {
      Json& list = metadata[std::string(kSignaturesKey)];
      if (list.is_null()) list = Json::array();
      if (!list.is_array()) return Status::corruption("metadata key 'signatures' is not a list");
      list.push_back(signature);
      return {};
    });
  }
  const std::string output = options.output.empty() ? options.file + ".sig" : options.output;
  OWF_ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::create(output, /*overwrite=*/true));
  OWF_RETURN_IF_ERROR(file.write(std::as_bytes(std::span(envelope))));
  OWF_RETURN_IF_ERROR(file.commit());
  std::fprintf(stderr, "%s: signed, signature in %s\n", options.file.c_str(), output.c_str());
  return kExitOk;
}

}  // namespace

void add_sign_command(CLI::App& app, Invocation& invocation) {
  auto options = std::make_shared<SignOptions>();
  CLI::App* command = app.add_subcommand(
      "sign",
      "Sign the weights' digests (content, metadata, each tensor) with an Ed25519 or ECDSA P-256 key: a DSSE "
      "envelope that stays valid when the weights move to another format");
  command->add_option("FILE", options->file, "Model file (any format)")->required();
  command->add_option("--key", options->key_file, "PEM private key (Ed25519 or ECDSA P-256)")
      ->required()
      ->type_name("KEY.pem");
  command->add_option("-o,--output", options->output, "Where to write the envelope (default FILE.sig)")
      ->type_name("FILE.sig");
  command->add_flag("--embed", options->embed,
                    "Store the envelope in the .owf file's metadata under 'signatures' (outside both digests)");
  command
      ->add_option("--checkpoint-key", options->checkpoint_key,
                   "For nested checkpoints (PyTorch): the dotted key of the subtree to sign")
      ->type_name("KEY");
  command->footer(
      "Examples:\n"
      "  openssl genpkey -algorithm ed25519 -out key.pem && openssl pkey -in key.pem -pubout -out pub.pem\n"
      "  owf sign model.safetensors --key key.pem          # writes model.safetensors.sig\n"
      "  owf verify model.owf --signature model.safetensors.sig --key pub.pem");
  command->callback([&invocation, options] { invocation.outcome = run_sign(invocation, *options); });
}

}  // namespace owf::cli
