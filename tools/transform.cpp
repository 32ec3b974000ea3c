#include "transform.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>

#include "cli.h"
#include "owf/numeric.h"
#include "owf/text.h"

namespace owf::cli {
namespace {

// llama.cpp keeps norm weights in f32 whatever the output type.
bool is_norm_name(const std::string& name) {
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t dot = std::min(name.find('.', start), name.size());
    std::string part = name.substr(start, dot - start);
    std::transform(part.begin(), part.end(), part.begin(), [](unsigned char c) { return std::tolower(c); });
    if (part.size() >= 4 && part.compare(part.size() - 4, 4, "norm") == 0) return true;
    start = dot + 1;
  }
  return false;
}

// Float-valued tensors, plain or quantized, that numeric.h can decode.
bool castable(DType dtype) {
  const DTypeKind kind = dtype_info(dtype).kind;
  return (kind == DTypeKind::kFloat || kind == DTypeKind::kQuantized) && can_decode(dtype);
}

Result<std::string> apply_renames(const std::vector<RenameRule>& renames, const std::string& name) {
  std::string renamed = name;
  for (const auto& rule : renames) {
    OWF_RETURN_IF_ERROR(check_regex_subject(renamed));
    const auto flags =
        rule.every_match ? std::regex_constants::format_default : std::regex_constants::format_first_only;
    renamed = std::regex_replace(renamed, rule.from, rule.to, flags);
  }
  return renamed;
}

// The dtype the first matching rule asks for, else the blanket one.
Result<std::optional<DType>> requested_dtype(const TransformOptions& options, const std::string& name) {
  for (const auto& rule : options.dtype_rules) {
    OWF_ASSIGN_OR_RETURN(const bool found, regex_found(rule.pattern, name));
    if (found) return std::optional<DType>(rule.dtype);
  }
  return options.dtype;
}

}  // namespace

Result<RenameRule> parse_rename_rule(const std::string& text) {
  const auto refuse = [&text](std::string_view why) {
    return Status::invalid_argument("--rename '" + text + "': " + std::string(why) +
                                    " (expected s/FROM/TO/ or s/FROM/TO/g)");
  };
  if (text.size() < 4 || text[0] != 's' || std::isalnum(static_cast<unsigned char>(text[1])) || text[1] == '\\') {
    return refuse("not a substitution");
  }
  const char delimiter = text[1];
  // FROM, TO and (once the closing delimiter is seen) an empty third field;
  // "\<delimiter>" stands for the delimiter itself.
  std::vector<std::string> fields(1);
  std::size_t i = 2;
  for (; i < text.size() && fields.size() <= 2; ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == delimiter) {
      fields.back() += delimiter;
      ++i;
    } else if (text[i] == delimiter) {
      fields.emplace_back();
    } else {
      fields.back() += text[i];
    }
  }
  if (fields.size() != 3) return refuse("needs three delimiters");
  const std::string flags = text.substr(i);
  if (flags != "" && flags != "g") return refuse("unknown flags '" + flags + "'");
  OWF_ASSIGN_OR_RETURN(auto from, compile_regex(fields[0], "--rename"));
  return RenameRule{std::move(from), fields[1], flags == "g"};
}

Result<DType> parse_cast_dtype(const std::string& name, std::string_view option) {
  const auto dtype = dtype_from_name(name);
  if (!dtype || !can_encode(*dtype)) {
    return Status::invalid_argument(
        std::string(option) + " '" + name +
        "': not a dtype owf can cast to (f32, f16, bf16, f64, q8_0, q4_0, q4_k, q5_k, q6_k)");
  }
  return *dtype;
}

Result<DTypeRule> parse_dtype_rule(const std::string& text) {
  const std::size_t equals = text.rfind('=');
  if (equals == std::string::npos || equals == 0) {
    return Status::invalid_argument("--dtype-rule '" + text + "': expected REGEX=DTYPE, e.g. 'norm=f32'");
  }
  OWF_ASSIGN_OR_RETURN(auto pattern, compile_regex(text.substr(0, equals), "--dtype-rule"));
  OWF_ASSIGN_OR_RETURN(const DType dtype, parse_cast_dtype(text.substr(equals + 1), "--dtype-rule"));
  return DTypeRule{std::move(pattern), dtype};
}

DType cast_target(const TensorInfo& source, DType requested) {
  const DTypeInfo& target = dtype_info(requested);
  if (!target.row_blocks) return requested;
  if (source.shape.size() < 2 || is_norm_name(source.name)) return DType::kF32;
  if (source.shape.back() % target.block_elements == 0) return requested;
  // Rows that are not whole 256-element super-blocks fall back to q8_0's
  // 32-element blocks (llama.cpp takes q5_0/q5_1/q8_0 here; owf has no q5
  // quantizer), and rows that are not whole 32-element blocks to f16.
  if (target.block_elements > 32 && source.shape.back() % 32 == 0) return DType::kQ8_0;
  return DType::kF16;
}

Result<std::unique_ptr<TransformedModel>> TransformedModel::create(const Model& source,
                                                                   const TransformOptions& options) {
  std::unique_ptr<TransformedModel> view(new TransformedModel(source));
  std::map<std::string, std::string, std::less<>> source_of_name;
  const auto& tensors = source.tensors();
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const TensorInfo& info = tensors[i];
    OWF_ASSIGN_OR_RETURN(const bool included, matches_any(options.include, info.name));
    OWF_ASSIGN_OR_RETURN(const bool excluded, matches_any(options.exclude, info.name));
    if ((!included && !options.include.empty()) || excluded) {
      view->changes_content_ = true;
      continue;
    }
    OWF_ASSIGN_OR_RETURN(std::string name, apply_renames(options.renames, info.name));
    OWF_ASSIGN_OR_RETURN(std::optional<DType> requested, requested_dtype(options, info.name));
    if (options.fixed_dtype.contains(info.name)) requested.reset();
    const DType dtype = requested && castable(info.dtype) ? cast_target(info, *requested) : info.dtype;
    auto output = make_tensor_info(name, dtype, info.shape);
    if (!output.ok()) return output.status().with_context("tensor " + quote(info.name) + " renamed to " + quote(name));
    const auto [previous, inserted] = source_of_name.emplace(name, info.name);
    if (!inserted) {
      return Status::invalid_argument("--rename: tensors " + quote(previous->second) + " and " + quote(info.name) +
                                      " would both be named " + quote(name));
    }
    view->changes_content_ = view->changes_content_ || name != info.name || dtype != info.dtype;
    view->infos_.push_back(std::move(output).value());
    view->sources_.push_back(i);
  }
  return view;
}

Status TransformedModel::read(std::size_t index, std::uint64_t offset, std::span<std::byte> dst) const {
  if (is_cast(index)) return read_cast(index, offset, dst);
  return source_.read(sources_[index], offset, dst);
}

std::optional<std::span<const std::byte>> TransformedModel::view(std::size_t index) const {
  if (is_cast(index)) return std::nullopt;
  return source_.view(sources_[index]);
}

std::string TransformedModel::encoding(std::size_t index) const {
  return is_cast(index) ? "raw" : source_.encoding(sources_[index]);
}

std::uint64_t TransformedModel::stored_size(std::size_t index) const {
  return is_cast(index) ? infos_[index].byte_size : source_.stored_size(sources_[index]);
}

// Casts the runs of whole blocks that cover the requested bytes, copying out
// the part of each that was asked for. The output dtype (a float type or a ggml
// row-block type) is never packed, so runs map to whole output bytes.
Status TransformedModel::read_cast(std::size_t index, std::uint64_t offset, std::span<std::byte> dst) const {
  const TensorInfo& output = infos_[index];
  const std::uint64_t end = offset + dst.size();
  if (end < offset || end > output.byte_size) {
    return Status::invalid_argument("tensor " + quote(output.name) + ": bytes " + std::to_string(offset) + ".." +
                                    std::to_string(end) + " are past its " + std::to_string(output.byte_size) +
                                    " bytes");
  }
  // Between the 16-bit float types every element keeps its offset: read the source bytes into dst
  // and convert them there, with no buffer in between.
  const DType from = source_.tensors()[sources_[index]].dtype;
  if (can_convert_in_place(from, output.dtype) && offset % 2 == 0 && dst.size() % 2 == 0) {
    OWF_RETURN_IF_ERROR(source_.read(sources_[index], offset, dst));
    return convert_in_place(from, output.dtype, dst);
  }
  const DTypeInfo& output_type = dtype_info(output.dtype);
  const std::uint64_t unit = common_block(from, output.dtype);
  const std::uint64_t unit_bytes = unit / output_type.block_elements * output_type.block_bytes;
  const std::uint64_t first = offset / unit_bytes * unit;
  const std::uint64_t last = std::min((end + unit_bytes - 1) / unit_bytes * unit, element_count_of(output));

  ElementReader reader(source_, sources_[index]);
  std::vector<float> values;
  std::vector<std::byte> encoded;
  return for_each_run(first, last, unit, [&](std::uint64_t run_first, std::uint64_t count) -> Status {
    values.resize(count);
    OWF_RETURN_IF_ERROR(reader.read(run_first, values));
    const ByteRange range = element_bytes(output, run_first, count);
    encoded.resize(range.end - range.begin);
    OWF_RETURN_IF_ERROR(encode_from_f32(output.dtype, values, encoded).with_context("tensor " + quote(output.name)));
    const std::uint64_t copy_begin = std::max(range.begin, offset);
    const std::uint64_t copy_end = std::min(range.end, end);
    if (copy_begin < copy_end) {
      std::memcpy(dst.data() + (copy_begin - offset), encoded.data() + (copy_begin - range.begin),
                  copy_end - copy_begin);
    }
    return {};
  });
}

}  // namespace owf::cli
