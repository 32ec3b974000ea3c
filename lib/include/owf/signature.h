// Signatures over a model's weights that survive a change of container
// (spec/signatures.md): a DSSE envelope whose payload is an in-toto Statement
// v1 naming the content digest (spec/owf-v1.md §7), the metadata digest and
// every tensor's digest, signed with an Ed25519 or ECDSA P-256 key. The same
// weights in .safetensors, .owf, .npz or .gguf give the same statement, and a
// changed tensor is named by the per-tensor digests.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "owf/digest.h"
#include "owf/export.h"
#include "owf/model.h"
#include "owf/status.h"

namespace OWF_EXPORT owf {

inline constexpr std::string_view kDssePayloadType = "application/vnd.in-toto+json";
inline constexpr std::string_view kStatementType = "https://in-toto.io/Statement/v1";
inline constexpr std::string_view kPredicateType = "urn:owf:signature:v1";

// What a signature vouches for.
struct WeightsClaim {
  std::string subject_name;  // the signed file's name, without its directory
  Digest content{};
  Digest metadata{};
  std::vector<std::pair<std::string, Digest>> tensors;  // sorted by name (bytewise)
};

// SHA-256 over the metadata in canonical form, without its top-level
// "signatures" key (spec/signatures.md, "Metadata digest").
Result<Digest> metadata_digest(std::string_view metadata_json, std::string_view where);

// Digests every tensor and the metadata of `model`.
Result<WeightsClaim> describe_weights(const Model& model, std::string subject_name, std::string_view where);

// The DSSE envelope (JSON text) signing `claim` with the PEM private key
// `private_key_pem` (Ed25519 or ECDSA on P-256). `key_file` names the key in
// messages.
Result<std::string> sign_weights(const WeightsClaim& claim, std::string_view private_key_pem,
                                 std::string_view key_file);

// Fails unless `pem` is a PEM public (or private) key of a supported kind.
Status check_verification_key(std::string_view pem, std::string_view key_file);

// Checks that one signature of the DSSE envelope verifies with the PEM public
// key (a private key is accepted too) and returns the claim its statement
// makes. Fails for a malformed envelope or statement, or when no signature
// verifies. `where` names the envelope in messages.
Result<WeightsClaim> open_signed_weights(std::string_view envelope_json, std::string_view public_key_pem,
                                         std::string_view where);

// Compares what was signed with what a model holds now: the first difference
// (a tensor changed, missing or added; the metadata, when `with_metadata`) as
// a message naming the tensor, or an empty string when they agree.
std::string compare_weights(const WeightsClaim& signed_claim, const WeightsClaim& actual, bool with_metadata);

// DSSE's pre-authentication encoding, the bytes a signature covers:
// "DSSEv1" SP len(type) SP type SP len(body) SP body, lengths in ASCII decimal.
std::string dsse_pae(std::string_view payload_type, std::string_view payload);

// The metadata key under which an .owf file embeds envelopes (a list of
// envelope objects), outside both the content and the metadata digest.
inline constexpr std::string_view kSignaturesKey = "signatures";

// The envelopes embedded in metadata (JSON texts; none when the key is absent).
Result<std::vector<std::string>> embedded_signatures(std::string_view metadata_json, std::string_view where);

}  // namespace owf
