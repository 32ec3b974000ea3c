// FormatRegistry and the built-in owf format.
#include "owf/format.h"

#include <doctest/doctest.h>

#include "lib_test_util.h"
#include "owf/internal/bytes.h"

namespace owf::test {
namespace {

// A format that claims files starting with "TOY", as surely as it is told, and writes nothing.
class ToyFormat final : public Format {
 public:
  explicit ToyFormat(std::string_view name = "toy", Confidence confidence = Confidence::kCertain)
      : name_(name), confidence_(confidence) {}
  std::string_view name() const override { return name_; }
  std::vector<std::string_view> extensions() const override { return {".toy"}; }
  Confidence detect(const std::filesystem::path&, std::span<const std::byte> head) const override {
    return as_chars(head).starts_with("TOY") ? confidence_ : Confidence::kNone;
  }
  Result<std::unique_ptr<Model>> open(const std::filesystem::path& path, const OpenOptions&) const override {
    return Status::not_supported(path.string() + ": " + std::string(name_) + " files hold nothing");
  }

 private:
  std::string_view name_;
  Confidence confidence_;
};

}  // namespace

TEST_CASE("the registry detects owf by content and picks it for .owf output") {
  ScratchDir dir;
  MemoryModel model;
  model.add_pattern("w", DType::kF16, {4});
  FormatRegistry registry;
  const Format* owf = registry.by_name("owf");
  REQUIRE(owf != nullptr);
  REQUIRE(owf->write(model, "{}", dir / "m.weights", WriteOptions{}).ok());  // the content decides, not the name
  const auto detected = registry.detect(dir / "m.weights");
  REQUIRE(detected.ok());
  CHECK(*detected == owf);
  const auto opened = registry.open(dir / "m.weights");
  REQUIRE(opened.ok());
  CHECK((*opened)->format() == "owf 1.0");
  CHECK((*opened)->tensors().size() == 1);
  CHECK(*registry.for_output(dir / "OUT.OWF") == owf);
  CHECK(registry.for_output(dir / "out.bin").status().message().find("no format writes") != std::string::npos);
  CHECK(registry.by_name("nope") == nullptr);
}

TEST_CASE("detection failures name the file and what it starts with") {
  ScratchDir dir;
  FormatRegistry registry;
  write_file(dir / "x.bin", std::vector<std::byte>{std::byte{0}, std::byte{1}, std::byte{2}});
  CHECK(registry.detect(dir / "x.bin").status().message() ==
        (dir / "x.bin").string() + ": unrecognized format (first bytes: 00 01 02)");
  write_file(dir / "long.bin", pattern_bytes(100));
  CHECK(registry.detect(dir / "long.bin").status().message().ends_with(" ...)"));
  write_file(dir / "x", {});
  CHECK(registry.detect(dir / "x").status().message() == (dir / "x").string() + ": empty file");
  CHECK(registry.detect(dir / "missing").status().code() == ErrorCode::kNotFound);
  CHECK(registry.detect(dir.path()).status().message().find("unrecognized format (a directory)") != std::string::npos);
}

TEST_CASE("added formats take part in detection; writing defaults to not supported") {
  ScratchDir dir;
  FormatRegistry registry;
  registry.add(std::make_unique<ToyFormat>());
  write_file(dir / "a.toy", as_bytes("TOY!"));
  const auto toy = registry.detect(dir / "a.toy");
  REQUIRE(toy.ok());
  CHECK((*toy)->name() == "toy");
  CHECK(registry.open(dir / "a.toy").status().message() == (dir / "a.toy").string() + ": toy files hold nothing");
  const Status write = (*toy)->write(MemoryModel{}, "{}", dir / "b.toy", WriteOptions{});
  CHECK(write.code() == ErrorCode::kNotSupported);
  CHECK(write.message() == (dir / "b.toy").string() + ": writing toy files is not supported");
}

TEST_CASE("the most confident format wins whatever the registration order; a tie is an error") {
  ScratchDir dir;
  write_file(dir / "a.toy", as_bytes("TOY!"));
  for (const bool strong_first : {true, false}) {
    FormatRegistry registry;
    auto weak = std::make_unique<ToyFormat>("weak", Confidence::kWeak);
    auto strong = std::make_unique<ToyFormat>("strong", Confidence::kLikely);
    registry.add(strong_first ? std::move(strong) : std::move(weak));
    registry.add(strong_first ? std::move(weak) : std::move(strong));
    const auto detected = registry.detect(dir / "a.toy");
    REQUIRE(detected.ok());
    CHECK((*detected)->name() == "strong");
  }
  FormatRegistry registry;
  registry.add(std::make_unique<ToyFormat>("one", Confidence::kLikely));
  registry.add(std::make_unique<ToyFormat>("two", Confidence::kLikely));
  registry.add(std::make_unique<ToyFormat>("three", Confidence::kWeak));
  CHECK(registry.detect(dir / "a.toy").status().message() ==
        (dir / "a.toy").string() + ": ambiguous format (it looks like both one and two)");
}

}  // namespace owf::test
