// The C API (owf.h) seen from C++: errors as values with owf's messages, the contract's calls
// agreeing with the C++ library, and the once-computed content digest under concurrent first calls.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "owf.h"
#include "owf/numeric.h"
#include "owf/owf.h"

namespace {

const std::string kCorpus = OWF_CORPUS_DIR;

// Closes the model at the end of a test case.
struct Open {
  explicit Open(const std::string& path) : model(owf_open(path.c_str(), &err)) {}
  ~Open() {
    owf_close(model);
    owf_error_free(err);
  }
  owf_error* err = nullptr;
  owf_model* model;
};

}  // namespace

TEST_CASE("owf_open of a missing or unreadable file gives an error value naming it") {
  Open missing(kCorpus + "/no-such-file.safetensors");
  CHECK(missing.model == nullptr);
  REQUIRE(missing.err != nullptr);
  CHECK(std::string(owf_error_message(missing.err)).find("no-such-file.safetensors") != std::string::npos);
  CHECK(owf_error_get_code(missing.err) == OWF_NOT_FOUND);

  Open refused(kCorpus + "/other/stories260K.bin");
  CHECK(refused.model == nullptr);
  CHECK(std::string(owf_error_message(refused.err)).find("stories260K.bin") != std::string::npos);

  owf_error* err = nullptr;
  CHECK(owf_open(nullptr, &err) == nullptr);
  CHECK(owf_error_get_code(err) == OWF_INVALID_ARGUMENT);
  owf_error_free(err);
  CHECK(owf_open(nullptr, nullptr) == nullptr);  // err may be NULL
  CHECK(owf_error_get_code(nullptr) == OWF_OK);
}

TEST_CASE("the C calls agree with the C++ library") {
  const std::string path = kCorpus + "/safetensors/silero_vad_16k.safetensors";
  Open c(path);
  REQUIRE(c.model != nullptr);
  CHECK(c.err == nullptr);
  auto cpp = owf::open(path);
  REQUIRE(cpp.ok());
  const auto& tensors = (*cpp)->tensors();
  REQUIRE(owf_tensor_count(c.model) == tensors.size());
  CHECK(std::string(owf_format(c.model)) == (*cpp)->format());
  CHECK(std::string(owf_metadata_json(c.model)) == (*cpp)->metadata());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    owf_tensor_info info;
    REQUIRE(owf_tensor_info_at(c.model, i, &info) == 0);
    CHECK(std::string(info.name) == tensors[i].name);
    CHECK(std::string(info.dtype) == owf::dtype_info(tensors[i].dtype).name);
    CHECK(std::vector<uint64_t>(info.shape, info.shape + info.rank) == tensors[i].shape);
    CHECK(info.nbytes == tensors[i].byte_size);
    CHECK(std::string(info.encoding) == "raw");
    CHECK(owf_tensor_index(c.model, info.name) == static_cast<int64_t>(i));
    const auto expected = owf::read_tensor(**cpp, i);
    REQUIRE(expected.ok());
    REQUIRE(owf_tensor_data(c.model, i) != nullptr);
    CHECK(std::memcmp(owf_tensor_data(c.model, i), expected->data(), info.nbytes) == 0);
  }
  owf_tensor_info unchanged{};
  CHECK(owf_tensor_info_at(c.model, tensors.size(), &unchanged) == -1);
  CHECK(unchanged.name == nullptr);
  CHECK(owf_tensor_index(c.model, "no such tensor") == -1);
  CHECK(owf_tensor_data(c.model, tensors.size()) == nullptr);

  const auto digest = owf::content_digest(**cpp);
  REQUIRE(digest.ok());
  CHECK(std::string(owf_content_digest(c.model)) == "sha256:" + owf::to_hex(*digest));
  CHECK(owf_content_digest(c.model) == owf_content_digest(c.model));  // computed once, same pointer
}

TEST_CASE("owf_read and owf_read_rows refuse ranges past the tensor, naming it") {
  Open c(kCorpus + "/npy/g2p_en-enc_w_hh.npy");  // one f32 tensor of shape (768, 256)
  REQUIRE(c.model != nullptr);
  owf_tensor_info info;
  REQUIRE(owf_tensor_info_at(c.model, 0, &info) == 0);
  std::vector<unsigned char> row(256 * 4), two_rows(2 * 256 * 4);
  owf_error* err = nullptr;
  CHECK(owf_read(c.model, 0, info.nbytes - 4, row.data(), 8, &err) == -1);
  REQUIRE(err != nullptr);
  CHECK(std::string(owf_error_message(err)).find(info.name) != std::string::npos);
  owf_error_free(err);

  CHECK(owf_read_rows(c.model, 0, 767, 769, two_rows.data(), &err) == -1);
  CHECK(std::string(owf_error_message(err)).find(info.name) != std::string::npos);
  owf_error_free(err);
  CHECK(owf_read_rows(c.model, 1, 0, 1, row.data(), &err) == -1);  // no tensor 1
  owf_error_free(err);

  REQUIRE(owf_read_rows(c.model, 0, 766, 768, two_rows.data(), &err) == 0);
  CHECK(err == nullptr);
  CHECK(std::memcmp(two_rows.data(), static_cast<const unsigned char*>(owf_tensor_data(c.model, 0)) + 766 * 1024,
                    two_rows.size()) == 0);
}

TEST_CASE("owf_read_f32 decodes bf16 and refuses a wrong element count") {
  Open c(kCorpus + "/pytorch/stories260K-bf16.pt");
  REQUIRE(c.model != nullptr);
  const int64_t index = owf_tensor_index(c.model, "norm.weight");
  REQUIRE(index >= 0);
  owf_tensor_info info;
  REQUIRE(owf_tensor_info_at(c.model, static_cast<size_t>(index), &info) == 0);
  CHECK(std::string(info.dtype) == "bf16");
  std::vector<std::uint16_t> bits(info.shape[0]);
  owf_error* err = nullptr;
  REQUIRE(owf_read(c.model, index, 0, bits.data(), info.nbytes, &err) == 0);
  std::vector<float> values(info.shape[0]);
  REQUIRE(owf_read_f32(c.model, index, values.data(), values.size(), &err) == 0);
  for (std::size_t i = 0; i < values.size(); ++i) CHECK(values[i] == owf::bf16_to_f32(bits[i]));
  CHECK(owf_read_f32(c.model, index, values.data(), values.size() - 1, &err) == -1);
  CHECK(owf_error_get_code(err) == OWF_INVALID_ARGUMENT);
  owf_error_free(err);
}

TEST_CASE("concurrent first calls of owf_content_digest compute it once") {
  Open c(kCorpus + "/npz/g2p_en-checkpoint20.npz");
  REQUIRE(c.model != nullptr);
  std::vector<const char*> seen(4);
  std::vector<std::thread> threads;
  for (auto& result : seen) threads.emplace_back([&] { result = owf_content_digest(c.model); });
  for (auto& thread : threads) thread.join();
  REQUIRE(seen[0] != nullptr);
  for (const char* result : seen) CHECK(result == seen[0]);
  CHECK(std::string(owf_version()) == OWF_VERSION_STRING);
}
