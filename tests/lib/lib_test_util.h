// Helpers shared by the core library tests: a scratch directory, whole-file
// reads and writes, and a Model held in memory.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "owf/container.h"
#include "owf/model.h"

namespace owf::test {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed with its contents.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "owf-lib-test-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  fs::path operator/(const std::string& name) const { return path_ / name; }
  const fs::path& path() const { return path_; }
  // Names of the entries in the directory, to show that nothing was left behind.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path_)) names.push_back(entry.path().filename().string());
    return names;
  }

 private:
  fs::path path_;
};

inline std::vector<std::byte> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::vector<char> chars{std::istreambuf_iterator<char>(in), {}};
  std::vector<std::byte> bytes(chars.size());
  std::transform(chars.begin(), chars.end(), bytes.begin(), [](char c) { return static_cast<std::byte>(c); });
  return bytes;
}

inline void write_file(const fs::path& path, std::span<const std::byte> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// Deterministic bytes that compress somewhat (a slowly varying pattern plus noise).
inline std::vector<std::byte> pattern_bytes(std::size_t size, std::uint32_t seed = 1) {
  std::vector<std::byte> bytes(size);
  std::uint32_t state = seed * 2654435761u + 1;
  for (std::size_t i = 0; i < size; ++i) {
    state = state * 1103515245u + 12345u;
    bytes[i] = static_cast<std::byte>((i / 7) ^ ((state >> 16) & 0x0F));
  }
  return bytes;
}

// A Model whose tensors live in vectors.
class MemoryModel final : public Model {
 public:
  void add(const std::string& name, DType dtype, std::vector<std::uint64_t> shape, std::vector<std::byte> data) {
    auto info = make_tensor_info(name, dtype, std::move(shape));
    REQUIRE_MESSAGE(info.ok(), info.status().message());
    REQUIRE(info->byte_size == data.size());
    infos_.push_back(std::move(info).value());
    data_.push_back(std::move(data));
  }
  // A tensor of `dtype` and `shape` filled with pattern bytes.
  void add_pattern(const std::string& name, DType dtype, std::vector<std::uint64_t> shape, std::uint32_t seed = 1) {
    const auto size = storage_size(dtype, shape);
    REQUIRE(size.ok());
    add(name, dtype, std::move(shape), pattern_bytes(*size, seed));
  }

  std::string format() const override { return "memory"; }
  const std::vector<TensorInfo>& tensors() const override { return infos_; }
  const std::string& metadata() const override { return metadata_; }
  Status read(std::size_t index, std::uint64_t offset, std::span<std::byte> dst) const override {
    const auto& data = data_.at(index);
    REQUIRE(offset + dst.size() <= data.size());
    std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(offset), dst.size(), dst.begin());
    return {};
  }
  const std::vector<std::byte>& data(std::size_t index) const { return data_.at(index); }

 private:
  std::vector<TensorInfo> infos_;
  std::vector<std::vector<std::byte>> data_;
  std::string metadata_ = "{}";
};

// Opens `path` as an .owf file, failing the test with the message if it does not open.
inline std::unique_ptr<Reader> open_owf(const fs::path& path) {
  auto reader = Reader::open(path);
  REQUIRE_MESSAGE(reader.ok(), reader.status().message());
  return std::move(reader).value();
}

// Every problem verify() reports, joined by newlines ("" when none).
inline std::string problems_of(const Model& model) {
  std::vector<Problem> problems;
  model.verify(problems);
  std::string text;
  for (const Problem& problem : problems) text += problem.message + "\n";
  return text;
}

}  // namespace owf::test
