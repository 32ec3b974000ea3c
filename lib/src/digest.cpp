// SHA-256 digests of spec §7. With signature.cpp, the only file of the library that includes OpenSSL.
#include "owf/digest.h"

#include <openssl/evp.h>

#include <algorithm>
#include <new>

#include "owf/internal/bytes.h"
#include "owf/internal/strings.h"
#include "owf/threads.h"

namespace owf {
namespace {

// One SHA-256 computation. OpenSSL's SHA-256 cannot fail once its context
// exists, so only the allocation is checked (like `new`, it throws bad_alloc).
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) {
      EVP_MD_CTX_free(ctx_);
      throw std::bad_alloc();
    }
  }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  ~Sha256() { EVP_MD_CTX_free(ctx_); }

  void update(std::span<const std::byte> bytes) { EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()); }
  void update_le64(std::uint64_t value) {
    std::byte encoded[8];
    store_le<std::uint64_t>(encoded, value);
    update(encoded);
  }
  // le64(length) followed by the bytes, as every string in §7 is encoded.
  void update_string(std::string_view text) {
    update_le64(text.size());
    update(as_bytes(text));
  }
  // An ASCII domain prefix followed by one zero byte.
  void update_prefix(std::string_view prefix) {
    update(as_bytes(prefix));
    update(std::as_bytes(std::span("", 1)));
  }

  Digest finish() {
    Digest digest{};
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx_, digest.data(), &length);
    return digest;
  }

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace

std::string to_hex(const Digest& digest) {
  std::string text;
  text.reserve(2 * digest.size());
  for (const std::uint8_t byte : digest) detail::append_hex(text, byte);
  return text;
}

Digest sha256(std::span<const std::byte> bytes) {
  Sha256 sha;
  sha.update(bytes);
  return sha.finish();
}

struct TensorDigester::Impl {
  Sha256 sha;
};

TensorDigester::TensorDigester(const TensorInfo& info) : impl_(std::make_unique<Impl>()) {
  Sha256& sha = impl_->sha;
  sha.update_prefix("owf.tensor.v1");
  sha.update_string(info.name);
  sha.update_string(dtype_info(info.dtype).name);
  sha.update_le64(info.shape.size());
  for (const std::uint64_t dim : info.shape) sha.update_le64(dim);
  sha.update_le64(info.byte_size);
}

TensorDigester::TensorDigester(TensorDigester&&) noexcept = default;
TensorDigester& TensorDigester::operator=(TensorDigester&&) noexcept = default;
TensorDigester::~TensorDigester() = default;

void TensorDigester::update(std::span<const std::byte> bytes) { impl_->sha.update(bytes); }

Digest TensorDigester::finish() { return impl_->sha.finish(); }

Digest combine_digests(std::vector<std::pair<std::string, Digest>> tensor_digests) {
  // std::string compares with char_traits<char>, which orders bytes as unsigned: bytewise.
  std::sort(tensor_digests.begin(), tensor_digests.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  Sha256 sha;
  sha.update_prefix("owf.content.v1");
  sha.update_le64(tensor_digests.size());
  for (const auto& [name, digest] : tensor_digests) sha.update(std::as_bytes(std::span(digest)));
  return sha.finish();
}

namespace {

Result<Digest> digest_with_progress(const Model& model, std::size_t index, const DigestProgress& progress) {
  const TensorInfo& info = model.tensors()[index];
  TensorDigester digester(info);
  OWF_RETURN_IF_ERROR(for_each_piece(model, index, [&](std::uint64_t, std::span<const std::byte> piece) {
    digester.update(piece);
    if (progress) progress(piece.size());
    return Status();
  }));
  return digester.finish();
}

}  // namespace

Result<Digest> tensor_digest(const Model& model, std::size_t index) { return digest_with_progress(model, index, {}); }

Result<std::vector<Digest>> tensor_digests(const Model& model, unsigned threads, const DigestProgress& progress) {
  std::vector<Digest> digests(model.tensors().size());
  OWF_RETURN_IF_ERROR(parallel_for(digests.size(), threads, [&](std::size_t i, unsigned) -> Status {
    OWF_ASSIGN_OR_RETURN(digests[i], digest_with_progress(model, i, progress));
    return {};
  }));
  return digests;
}

Result<Digest> content_digest(const Model& model, unsigned threads) {
  OWF_ASSIGN_OR_RETURN(const std::vector<Digest> digests, tensor_digests(model, threads));
  std::vector<std::pair<std::string, Digest>> named;
  named.reserve(digests.size());
  for (std::size_t i = 0; i < digests.size(); ++i) named.emplace_back(model.tensors()[i].name, digests[i]);
  return combine_digests(std::move(named));
}

}  // namespace owf
