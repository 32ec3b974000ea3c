// DSSE envelopes of in-toto statements over the weights (spec/signatures.md).
// With digest.cpp, the only file of the library that includes OpenSSL.
#include "owf/signature.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "owf/metadata.h"
#include "owf/text.h"

namespace owf {
namespace {

using nlohmann::json;

constexpr std::string_view kSha256Prefix = "sha256:";

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::string base64_encode(std::string_view bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int length =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  text.resize(static_cast<std::size_t>(length));
  return text;
}

// Standard or URL-safe base64, with or without padding, as DSSE allows.
std::optional<std::string> base64_decode(std::string text) {
  std::replace(text.begin(), text.end(), '-', '+');
  std::replace(text.begin(), text.end(), '_', '/');
  while (text.size() % 4 != 0) text += '=';
  if (text.size() > (std::size_t{1} << 30)) return std::nullopt;
  std::string bytes(3 * (text.size() / 4), '\0');
  const int length =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
                      reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (length < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  const std::size_t padding = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
  bytes.resize(static_cast<std::size_t>(length) - padding);
  return bytes;
}

std::string digest_text(const Digest& digest) { return std::string(kSha256Prefix) + to_hex(digest); }

std::optional<Digest> parse_digest_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  Digest digest{};
  for (std::size_t i = 0; i < digest.size(); ++i) {
    unsigned value = 0;
    for (const char c : hex.substr(2 * i, 2)) {
      value <<= 4;
      if (c >= '0' && c <= '9')
        value |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        value |= static_cast<unsigned>(c - 'a' + 10);
      else
        return std::nullopt;
    }
    digest[i] = static_cast<std::uint8_t>(value);
  }
  return digest;
}

std::optional<Digest> parse_digest_text(const json& value) {
  if (!value.is_string()) return std::nullopt;
  const auto& text = value.get_ref<const std::string&>();
  if (!text.starts_with(kSha256Prefix)) return std::nullopt;
  return parse_digest_hex(std::string_view(text).substr(kSha256Prefix.size()));
}

// Ed25519, or ECDSA on P-256: the two kinds spec/signatures.md allows.
Status check_key_kind(const EVP_PKEY* key, std::string_view key_file) {
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) return {};
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
    char group[64] = {};
    std::size_t length = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) == 1 && std::string_view(group) == "prime256v1") {
      return {};
    }
    return Status::not_supported(std::string(key_file) + ": EC key on curve " + (group[0] ? group : "(unknown)") +
                                 "; only P-256 (prime256v1) is supported");
  }
  return Status::not_supported(std::string(key_file) + ": a " + EVP_PKEY_get0_type_name(key) +
                               " key; only Ed25519 and ECDSA P-256 keys are supported");
}

// A PEM private key, or (when `public_only` allows it) a PEM public key.
Result<Key> load_key(std::string_view pem, std::string_view key_file, bool accept_public) {
  if (pem.size() > (1u << 20)) return Status::invalid_argument(std::string(key_file) + ": not a PEM key (too large)");
  const auto read = [&pem](bool as_public) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
    if (!bio) return Key();
    return Key(as_public ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)
                         : PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  };
  Key key = read(false);
  if (!key && accept_public) key = read(true);
  if (!key) {
    return Status::invalid_argument(std::string(key_file) + ": not a PEM " +
                                    (accept_public ? "public or private key" : "private key (unencrypted)"));
  }
  OWF_RETURN_IF_ERROR(check_key_kind(key.get(), key_file));
  return key;
}

// ECDSA signs SHA-256 of the message; Ed25519 signs the message itself.
const EVP_MD* message_digest(const EVP_PKEY* key) {
  return EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
}

// DSSE's keyid: SHA-256 of the public key's DER SubjectPublicKeyInfo, in hex.
std::string key_id(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(key, &der);
  if (length <= 0) return "";
  const Digest digest = sha256(std::as_bytes(std::span(der, static_cast<std::size_t>(length))));
  OPENSSL_free(der);
  return to_hex(digest);
}

std::string statement_json(const WeightsClaim& claim) {
  json tensors = json::object();
  for (const auto& [name, digest] : claim.tensors) tensors[name] = digest_text(digest);
  const json statement = {
      {"_type", kStatementType},
      {"subject", json::array({{{"name", claim.subject_name}, {"digest", {{"sha256", to_hex(claim.content)}}}}})},
      {"predicateType", kPredicateType},
      {"predicate",
       {{"content_digest", digest_text(claim.content)},
        {"metadata_digest", digest_text(claim.metadata)},
        {"tensors", std::move(tensors)}}}};
  return statement.dump();
}

Result<WeightsClaim> parse_statement(std::string_view text, std::string_view where) {
  const auto refuse = [where](std::string_view why) {
    return Status::corruption(std::string(where) + ": the signed statement " + std::string(why));
  };
  const json statement = json::parse(text, nullptr, false);
  if (!statement.is_object()) return refuse("is not a JSON object");
  if (statement.value("_type", "") != kStatementType) return refuse("is not an in-toto Statement v1");
  if (statement.value("predicateType", "") != kPredicateType) {
    return refuse("has predicateType " + quote(statement.value("predicateType", "")) + ", not " +
                  std::string(kPredicateType));
  }
  const auto subjects = statement.find("subject");
  if (subjects == statement.end() || !subjects->is_array() || subjects->size() != 1 || !(*subjects)[0].is_object()) {
    return refuse("does not have exactly one subject");
  }
  WeightsClaim claim;
  const json& subject = (*subjects)[0];
  claim.subject_name = subject.value("name", "");
  const auto predicate = statement.find("predicate");
  if (predicate == statement.end() || !predicate->is_object()) return refuse("has no predicate");
  const auto content = parse_digest_text(predicate->value("content_digest", json()));
  const auto metadata = parse_digest_text(predicate->value("metadata_digest", json()));
  if (!content || !metadata) return refuse("lacks a content_digest or metadata_digest of the form sha256:<hex>");
  const auto subject_digest = subject.contains("digest") && subject["digest"].is_object()
                                  ? parse_digest_hex(subject["digest"].value("sha256", ""))
                                  : std::nullopt;
  if (subject_digest != content) return refuse("has a subject digest that is not its content_digest");
  claim.content = *content;
  claim.metadata = *metadata;
  const auto tensors = predicate->find("tensors");
  if (tensors == predicate->end() || !tensors->is_object()) return refuse("has no tensor digests");
  for (const auto& [name, value] : tensors->items()) {
    const auto digest = parse_digest_text(value);
    if (!digest) return refuse("has a malformed digest for tensor " + quote(name));
    claim.tensors.emplace_back(name, *digest);  // json objects iterate in key order: sorted
  }
  if (combine_digests(claim.tensors) != claim.content) {
    return refuse("has tensor digests that do not combine to its content_digest");
  }
  return claim;
}

}  // namespace

Result<Digest> metadata_digest(std::string_view metadata_json, std::string_view where) {
  OWF_RETURN_IF_ERROR(validate_metadata(metadata_json, where));
  json metadata = json::parse(metadata_json, nullptr, false);
  if (!metadata.is_object()) return Status::corruption(std::string(where) + ": metadata is not a JSON object");
  metadata.erase(std::string(kSignaturesKey));
  const std::string canonical = metadata.dump(-1, ' ', false, json::error_handler_t::strict);
  std::string framed = "owf.metadata.v1";
  framed += '\0';
  framed += canonical;
  return sha256(std::as_bytes(std::span(framed)));
}

Result<WeightsClaim> describe_weights(const Model& model, std::string subject_name, std::string_view where) {
  WeightsClaim claim;
  claim.subject_name = std::move(subject_name);
  OWF_ASSIGN_OR_RETURN(claim.metadata, metadata_digest(model.metadata(), where));
  claim.tensors.reserve(model.tensors().size());
  for (std::size_t i = 0; i < model.tensors().size(); ++i) {
    OWF_ASSIGN_OR_RETURN(const Digest digest, tensor_digest(model, i));
    claim.tensors.emplace_back(model.tensors()[i].name, digest);
  }
  std::sort(claim.tensors.begin(), claim.tensors.end());
  claim.content = combine_digests(claim.tensors);
  return claim;
}

std::string dsse_pae(std::string_view payload_type, std::string_view payload) {
  return "DSSEv1 " + std::to_string(payload_type.size()) + " " + std::string(payload_type) + " " +
         std::to_string(payload.size()) + " " + std::string(payload);
}

Result<std::string> sign_weights(const WeightsClaim& claim, std::string_view private_key_pem,
                                 std::string_view key_file) {
  OWF_ASSIGN_OR_RETURN(const Key key, load_key(private_key_pem, key_file, false));
  const std::string payload = statement_json(claim);
  const std::string signed_bytes = dsse_pae(kDssePayloadType, payload);
  const MdCtx ctx(EVP_MD_CTX_new());
  std::size_t length = 0;
  const auto* message = reinterpret_cast<const unsigned char*>(signed_bytes.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, message_digest(key.get()), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, message, signed_bytes.size()) != 1) {
    return Status::not_supported(std::string(key_file) + ": OpenSSL cannot sign with this key");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, message,
                     signed_bytes.size()) != 1) {
    return Status::not_supported(std::string(key_file) + ": OpenSSL cannot sign with this key");
  }
  signature.resize(length);
  const json envelope = {
      {"payloadType", kDssePayloadType},
      {"payload", base64_encode(payload)},
      {"signatures", json::array({{{"keyid", key_id(key.get())}, {"sig", base64_encode(signature)}}})}};
  return envelope.dump(2) + "\n";
}

Status check_verification_key(std::string_view pem, std::string_view key_file) {
  return load_key(pem, key_file, true).status();
}

Result<WeightsClaim> open_signed_weights(std::string_view envelope_json, std::string_view public_key_pem,
                                         std::string_view where) {
  OWF_ASSIGN_OR_RETURN(const Key key, load_key(public_key_pem, "the key", true));
  const auto refuse = [where](std::string_view why) {
    return Status::corruption(std::string(where) + ": " + std::string(why));
  };
  const json envelope = json::parse(envelope_json, nullptr, false);
  if (!envelope.is_object()) return refuse("not a DSSE envelope (JSON object)");
  if (envelope.value("payloadType", "") != kDssePayloadType) {
    return refuse("payloadType is not " + std::string(kDssePayloadType));
  }
  const auto payload = base64_decode(envelope.value("payload", ""));
  if (!payload) return refuse("payload is not base64");
  const auto signatures = envelope.find("signatures");
  if (signatures == envelope.end() || !signatures->is_array() || signatures->empty()) return refuse("no signatures");
  const std::string signed_bytes = dsse_pae(kDssePayloadType, *payload);
  bool verified = false;
  for (const json& entry : *signatures) {
    if (!entry.is_object()) continue;
    const auto signature = base64_decode(entry.value("sig", ""));
    if (!signature) continue;
    const MdCtx ctx(EVP_MD_CTX_new());
    verified = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, message_digest(key.get()), nullptr, key.get()) == 1 &&
               EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature->data()), signature->size(),
                                reinterpret_cast<const unsigned char*>(signed_bytes.data()), signed_bytes.size()) == 1;
    if (verified) break;
  }
  if (!verified) return refuse("no signature verifies with the key (wrong key, or the envelope was altered)");
  return parse_statement(*payload, where);
}

std::string compare_weights(const WeightsClaim& signed_claim, const WeightsClaim& actual, bool with_metadata) {
  // Both lists are sorted by name: one merge finds every kind of difference.
  auto s = signed_claim.tensors.begin();
  auto a = actual.tensors.begin();
  while (s != signed_claim.tensors.end() || a != actual.tensors.end()) {
    if (a == actual.tensors.end() || (s != signed_claim.tensors.end() && s->first < a->first)) {
      return "tensor " + quote(s->first) + " was signed but is missing";
    }
    if (s == signed_claim.tensors.end() || a->first < s->first) {
      return "tensor " + quote(a->first) + " is not covered by the signature";
    }
    if (s->second != a->second) {
      return "tensor " + quote(s->first) + " differs from the signed tensor (dtype, shape or bytes)";
    }
    ++s, ++a;
  }
  if (with_metadata && signed_claim.metadata != actual.metadata) return "the metadata differs from the signed metadata";
  return "";
}

Result<std::vector<std::string>> embedded_signatures(std::string_view metadata_json, std::string_view where) {
  const json metadata = json::parse(metadata_json, nullptr, false);
  std::vector<std::string> envelopes;
  if (!metadata.is_object() || !metadata.contains(kSignaturesKey)) return envelopes;
  const json& list = metadata[std::string(kSignaturesKey)];
  if (!list.is_array()) return Status::corruption(std::string(where) + ": metadata key 'signatures' is not a list");
  for (const json& envelope : list) envelopes.push_back(envelope.dump());
  return envelopes;
}

}  // namespace owf
