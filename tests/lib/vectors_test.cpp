// The spec's test vectors (spec/vectors), written by an independent Python
// implementation: every valid file must read exactly as its .json says and be
// reproduced byte for byte by the writer; every invalid file must be refused
// with the expected message fragment.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "lib_test_util.h"
#include "owf/container.h"
#include "owf/digest.h"

namespace owf::test {
namespace {

const fs::path kVectors = OWF_VECTORS_DIR;

nlohmann::json load_json(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

std::string hex(std::span<const std::byte> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (const std::byte b : bytes) {
    text += kHex[std::to_integer<unsigned>(b) >> 4];
    text += kHex[std::to_integer<unsigned>(b) & 15];
  }
  return text;
}

std::vector<fs::path> files_with_extension(const fs::path& dir, const std::string& extension) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == extension) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

WriteOptions options_from(const nlohmann::json& json) {
  WriteOptions options;
  options.alignment = json.at("alignment");
  options.header_slack = json.at("header_slack");
  options.header_copy_room = false;  // the vectors give the exact slack
  if (!json.at("compression").is_null()) {
    const auto& c = json.at("compression");
    options.compression =
        CompressionOptions{c.at("level"), c.at("chunk_size"), c.at("byte_group"), c.value("lanes", false)};
  }
  return options;
}

}  // namespace

TEST_CASE("every valid vector reads exactly as its description says") {
  const auto files = files_with_extension(kVectors / "valid", ".owf");
  CHECK(files.size() >= 10);
  for (const fs::path& path : files) {
    CAPTURE(path.filename().string());
    const auto expected = load_json(fs::path(path).replace_extension(".json"));
    const auto reader = open_owf(path);
    CHECK(reader->metadata() == expected.at("metadata").get<std::string>());
    CHECK(to_hex(reader->recorded_digest()) == expected.at("content_digest").get<std::string>());
    const auto& tensors = expected.at("tensors");
    REQUIRE(reader->tensors().size() == tensors.size());
    std::vector<std::string> unsupported;  // errors of tensors with ids of a newer minor version
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      const TensorInfo& info = reader->tensors()[i];
      CAPTURE(info.name);
      CHECK(info.name == tensors[i].at("name").get<std::string>());
      CHECK(dtype_info(info.dtype).name == tensors[i].at("dtype").get<std::string>());
      CHECK(info.shape == tensors[i].at("shape").get<std::vector<std::uint64_t>>());
      CHECK(reader->encoding(i) == tensors[i].at("encoding").get<std::string>());
      const auto data = read_tensor(*reader, i);
      if (tensors[i].contains("unsupported")) {
        unsupported.push_back(tensors[i].at("unsupported"));
        REQUIRE_FALSE(data.ok());
        CHECK(data.status().code() == ErrorCode::kNotSupported);
        CHECK_MESSAGE(data.status().message().find(unsupported.back()) != std::string::npos, data.status().message());
        continue;
      }
      REQUIRE_MESSAGE(data.ok(), data.status().message());
      CHECK(hex(*data) == tensors[i].at("data").get<std::string>());
    }
    const std::string problems = problems_of(*reader);
    if (unsupported.empty()) {
      CHECK(problems == "");
      CHECK(to_hex(*content_digest(*reader)) == expected.at("content_digest").get<std::string>());
    } else {
      for (const std::string& error : unsupported) CHECK_MESSAGE(problems.find(error) != std::string::npos, problems);
      CHECK_FALSE(content_digest(*reader).ok());
    }
  }
}

TEST_CASE("the writer reproduces every valid vector byte for byte") {
  ScratchDir dir;
  for (const fs::path& path : files_with_extension(kVectors / "valid", ".owf")) {
    CAPTURE(path.filename().string());
    const auto expected = load_json(fs::path(path).replace_extension(".json"));
    if (!expected.at("writer_reproducible").get<bool>()) continue;
    const auto reader = open_owf(path);
    const auto copy = dir / path.filename().string();
    const Status written = write_owf(*reader, reader->metadata(), copy, options_from(expected.at("options")));
    REQUIRE_MESSAGE(written.ok(), written.message());
    CHECK(read_file(copy) == read_file(path));
  }
}

TEST_CASE("every invalid vector is refused with its expected message") {
  const auto expected = load_json(kVectors / "invalid" / "expected.json");
  CHECK(expected.size() >= 30);
  CHECK(files_with_extension(kVectors / "invalid", ".owf").size() == expected.size());
  for (const auto& [file, want] : expected.items()) {
    CAPTURE(file);
    const fs::path path = kVectors / "invalid" / file;
    const std::string fragment = want.at("fragment");
    auto reader = Reader::open(path);
    if (want.at("stage") == "open") {
      REQUIRE_FALSE(reader.ok());
      CHECK(reader.status().code() == ErrorCode::kCorruption);
      CHECK_MESSAGE(reader.status().message().find(fragment) != std::string::npos, reader.status().message());
      CHECK(reader.status().message().find(path.string() + ": ") == 0);
    } else {
      REQUIRE_MESSAGE(reader.ok(), reader.status().message());
      const std::string problems = problems_of(**reader);
      CHECK_MESSAGE(problems.find(fragment) != std::string::npos, problems);
    }
  }
}

}  // namespace owf::test
