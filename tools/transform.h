// The transforms of `owf convert` as an owf::Model decorator: a lazy view of a
// source model that keeps some tensors, renames them and casts or quantizes
// their values. Nothing is read until a writer pulls bytes, and then only the
// blocks it asks for, so a conversion streams whatever the model's size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "owf/dtype.h"
#include "owf/model.h"
#include "owf/status.h"
#include "values.h"

namespace owf::cli {

// `s/FROM/TO/` (any delimiter; `g` after the last one replaces every match,
// otherwise the first): ECMAScript regex, `$1` in TO refers to a group.
struct RenameRule {
  std::regex from;
  std::string to;
  bool every_match = false;
};

// Parses the text of one --rename argument.
Result<RenameRule> parse_rename_rule(const std::string& text);

// `REGEX=DTYPE` from --dtype-rule.
struct DTypeRule {
  std::regex pattern;
  DType dtype;
};

// Parses the text of one --dtype-rule argument (split at the last '=').
Result<DTypeRule> parse_dtype_rule(const std::string& text);

// Parses a --dtype value, accepting only the dtypes a cast can produce.
Result<DType> parse_cast_dtype(const std::string& name, std::string_view option);

// Every regex is matched (std::regex_search) against the source tensor's name.
struct TransformOptions {
  std::vector<std::regex> include;                 // keep only matching tensors (all when empty)
  std::vector<std::regex> exclude;                 // then drop matching tensors
  std::vector<RenameRule> renames;                 // applied in order
  std::vector<DTypeRule> dtype_rules;              // first match wins over `dtype`
  std::optional<DType> dtype;                      // cast for every floating or decodable quantized tensor
  std::set<std::string, std::less<>> fixed_dtype;  // tensors no cast applies to (an Export's choice)
};

// The dtype a floating tensor gets when `requested` is asked for it. Float
// targets apply as they are. ggml block types follow llama.cpp's
// convert_hf_to_gguf: tensors of rank < 2 and norms (a dotted part of the
// name ending in "norm") stay f32; a tensor whose innermost dimension is not
// whole blocks falls back to q8_0 (for the 256-element k-quants, when its rows
// are whole 32-element blocks) or else to f16.
DType cast_target(const TensorInfo& source, DType requested);

class TransformedModel final : public Model {
 public:
  // Plans the view; fails when renaming makes two names equal or a name
  // invalid, or a name is too long for regexes (messages do not name the file).
  // `source` must outlive the view.
  static Result<std::unique_ptr<TransformedModel>> create(const Model& source, const TransformOptions& options);

  std::string format() const override { return source_.format(); }
  const std::vector<TensorInfo>& tensors() const override { return infos_; }
  const std::string& metadata() const override { return source_.metadata(); }
  Status read(std::size_t index, std::uint64_t offset, std::span<std::byte> dst) const override;
  std::optional<std::span<const std::byte>> view(std::size_t index) const override;
  std::string encoding(std::size_t index) const override;
  std::uint64_t stored_size(std::size_t index) const override;

  // Which source tensor output tensor `index` comes from.
  std::size_t source_index(std::size_t index) const { return sources_[index]; }
  bool is_cast(std::size_t index) const { return infos_[index].dtype != source_.tensors()[sources_[index]].dtype; }

  // Whether the tensors differ from the source's in any way (dropped, renamed or cast).
  bool changes_content() const { return changes_content_; }

 private:
  explicit TransformedModel(const Model& source) : source_(source) {}
  Status read_cast(std::size_t index, std::uint64_t offset, std::span<std::byte> dst) const;

  const Model& source_;
  std::vector<TensorInfo> infos_;
  std::vector<std::size_t> sources_;
  bool changes_content_ = false;
};

}  // namespace owf::cli
