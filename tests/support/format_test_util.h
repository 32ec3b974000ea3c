// Helpers for the doctests of format adapters: open a file through a Format
// and expect success (the Model) or failure (the message).
#pragma once

#include <doctest/doctest.h>

#include <array>
#include <bit>
#include <filesystem>
#include <memory>
#include <string>

#include "owf/digest.h"
#include "owf/format.h"
#include "owf/internal/bytes.h"

namespace owf::test {

// Opens `path` with `format`, failing the test with the message if it does not open.
inline std::unique_ptr<Model> open_ok(const Format& format, const std::filesystem::path& path) {
  auto model = format.open(path, {});
  REQUIRE_MESSAGE(model.ok(), model.status().message());
  return std::move(model).value();
}

// The message opening `path` fails with; fails the test if it opens.
inline std::string open_error(const Format& format, const std::filesystem::path& path) {
  auto model = format.open(path, {});
  REQUIRE_MESSAGE(!model.ok(), "opened although it should not: " << path);
  return model.status().message();
}

inline Digest digest_of(const Model& model) {
  auto digest = content_digest(model);
  REQUIRE_MESSAGE(digest.ok(), digest.status().message());
  return *digest;
}

// Element `element` of an f32 tensor, read through Model::read.
inline float f32_at(const Model& model, std::size_t index, std::uint64_t element) {
  std::array<std::byte, 4> bytes{};
  REQUIRE(model.read(index, element * 4, bytes).ok());
  return std::bit_cast<float>(load_le<std::uint32_t>(bytes.data()));
}

}  // namespace owf::test
