#include "hf/tensor_plan.h"

#include <algorithm>
#include <bit>
#include <map>
#include <regex>
#include <span>
#include <string_view>

#include "owf/dtype.h"
#include "owf/internal/bytes.h"
#include "owf/numeric.h"
#include "owf/text.h"

namespace owf::formats::hf {
namespace {

// Tensors outside the blocks, and a block's tensors by their name within it (HF, GGUF).
using NameTable = std::map<std::string, std::string, std::less<>>;
const NameTable kGlobalNames = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
};
const NameTable kBlockNames = {
    {"input_layernorm.weight", "attn_norm.weight"}, {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},       {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.k_proj.bias", "attn_k.bias"},       {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.v_proj.bias", "attn_v.bias"},       {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.o_proj.bias", "attn_output.bias"},  {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
};

// Names longer than any real tensor's are not matched (std::regex recursion grows with length).
constexpr std::size_t kMaxMatchedName = 256;

// `name` mapped through the tables: forward from HF to GGUF (`to_gguf`) or backward.
std::optional<std::string> map_name(const std::string& name, bool to_gguf) {
  for (const auto& [hf, gguf] : kGlobalNames) {
    if (name == (to_gguf ? hf : gguf)) return to_gguf ? gguf : hf;
  }
  static const std::regex kHfBlock(R"(^model\.layers\.(\d+)\.(.+)$)");
  static const std::regex kGgufBlock(R"(^blk\.(\d+)\.(.+)$)");
  std::smatch match;
  if (name.size() > kMaxMatchedName || !std::regex_match(name, match, to_gguf ? kHfBlock : kGgufBlock)) {
    return std::nullopt;
  }
  const std::string within = match[2].str();
  for (const auto& [hf, gguf] : kBlockNames) {
    if (within == (to_gguf ? hf : gguf)) {
      return (to_gguf ? "blk." : "model.layers.") + match[1].str() + "." + (to_gguf ? gguf : hf);
    }
  }
  return std::nullopt;
}

class PlannedModel final : public Model {
 public:
  PlannedModel(const Model& source, std::vector<PlannedTensor> plan) : source_(source), plan_(std::move(plan)) {
    for (const PlannedTensor& planned : plan_) infos_.push_back(planned.info);
  }

  std::string format() const override { return source_.format(); }
  const std::vector<TensorInfo>& tensors() const override { return infos_; }
  const std::string& metadata() const override { return source_.metadata(); }

  Status read(std::size_t index, std::uint64_t offset, std::span<std::byte> dst) const override {
    OWF_RETURN_IF_ERROR(check_read_range(infos_, index, offset, dst.size(), ""));
    const PlannedTensor& planned = plan_[index];
    if (planned.is_generated) {
      std::copy_n(planned.generated.begin() + static_cast<std::ptrdiff_t>(offset), dst.size(), dst.begin());
      return {};
    }
    if (planned.rows == RowOrder::kAsStored && !planned.widen) return source_.read(planned.source, offset, dst);
    // Pieces that stay within one output row, each read from its source row.
    const std::uint64_t rows = planned.rows == RowOrder::kAsStored ? 1 : planned.info.shape[0];
    const std::uint64_t row_bytes = planned.info.byte_size / rows;
    while (!dst.empty()) {
      const std::uint64_t row = offset / row_bytes;
      const std::uint64_t within = offset % row_bytes;
      const std::size_t length = static_cast<std::size_t>(std::min<std::uint64_t>(dst.size(), row_bytes - within));
      OWF_RETURN_IF_ERROR(read_row_part(planned, source_row(planned, row) * row_bytes + within, dst.first(length)));
      dst = dst.subspan(length);
      offset += length;
    }
    return {};
  }

  std::optional<std::span<const std::byte>> view(std::size_t index) const override {
    const PlannedTensor& planned = plan_[index];
    if (planned.is_generated || planned.rows != RowOrder::kAsStored || planned.widen) return std::nullopt;
    return source_.view(planned.source);
  }

 private:
  static std::uint64_t source_row(const PlannedTensor& planned, std::uint64_t row) {
    switch (planned.rows) {
      case RowOrder::kAsStored: break;
      case RowOrder::kHfToInterleaved: return unpermuted_source_row(row, planned.info.shape[0], planned.heads);
      case RowOrder::kInterleavedToHf: return permuted_source_row(row, planned.info.shape[0], planned.heads);
    }
    return row;
  }

  // Bytes [offset, offset + dst.size()) of the output tensor's layout, rows in source order: the
  // source's own bytes, or its f16/bf16 elements widened to f32.
  Status read_row_part(const PlannedTensor& planned, std::uint64_t offset, std::span<std::byte> dst) const {
    if (!planned.widen) return source_.read(planned.source, offset, dst);
    const DType from = source_.tensors()[planned.source].dtype;
    const std::uint64_t first = offset / 4;
    const std::uint64_t last = (offset + dst.size() + 3) / 4;
    std::vector<std::byte> narrow((last - first) * 2);
    OWF_RETURN_IF_ERROR(source_.read(planned.source, first * 2, narrow));
    std::vector<float> wide(last - first);
    OWF_RETURN_IF_ERROR(decode_to_f32(from, narrow, wide));
    std::vector<std::byte> bytes;
    for (const float value : wide) append_le(bytes, std::bit_cast<std::uint32_t>(value));
    std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(offset - first * 4), dst.size(), dst.begin());
    return {};
  }

  const Model& source_;
  std::vector<PlannedTensor> plan_;
  std::vector<TensorInfo> infos_;
};

}  // namespace

Status plan_rotary_rows(PlannedTensor& planned, const TensorInfo& source, RowOrder order, std::uint64_t heads,
                        std::uint64_t head_dim) {
  const std::uint64_t rows = source.shape.empty() ? 0 : source.shape[0];
  if (rows != heads * head_dim) {
    return Status::invalid_argument("tensor " + quote(source.name) + ": " + std::to_string(rows) + " rows, not " +
                                    std::to_string(heads) + " heads of " + std::to_string(head_dim));
  }
  if (source.shape.size() == 1 && dtype_info(source.dtype).kind == DTypeKind::kQuantized) {
    return Status::not_supported("tensor " + quote(source.name) + ": cannot permute a quantized bias");
  }
  planned.rows = order;
  planned.heads = heads;
  return {};
}

std::unique_ptr<Model> make_planned_model(const Model& source, std::vector<PlannedTensor> plan) {
  return std::make_unique<PlannedModel>(source, std::move(plan));
}

std::uint64_t unpermuted_source_row(std::uint64_t row, std::uint64_t rows, std::uint64_t heads) {
  const std::uint64_t head_dim = rows / heads;
  const std::uint64_t head = row / head_dim;
  const std::uint64_t within = row % head_dim;
  return head * head_dim + (within % 2) * (head_dim / 2) + within / 2;
}

std::uint64_t permuted_source_row(std::uint64_t row, std::uint64_t rows, std::uint64_t heads) {
  const std::uint64_t head_dim = rows / heads;
  const std::uint64_t head = row / head_dim;
  const std::uint64_t within = row % head_dim;
  return head * head_dim + (within % (head_dim / 2)) * 2 + within / (head_dim / 2);
}

std::optional<std::string> gguf_tensor_name(const std::string& hf_name) { return map_name(hf_name, true); }

std::optional<std::string> hf_tensor_name(const std::string& gguf_name) { return map_name(gguf_name, false); }

std::optional<DType> dominant_matrix_dtype(const Model& model) {
  std::map<DType, std::uint64_t> elements;
  for (const TensorInfo& tensor : model.tensors()) {
    if (tensor.shape.size() < 2) continue;
    std::uint64_t count = 1;
    for (const std::uint64_t dim : tensor.shape) count *= dim;
    elements[tensor.dtype] += count;
  }
  const auto most = std::max_element(elements.begin(), elements.end(),
                                     [](const auto& a, const auto& b) { return a.second < b.second; });
  if (most == elements.end()) return std::nullopt;
  return most->first;
}

bool is_norm(const std::string& gguf_name) { return gguf_name.ends_with("_norm.weight"); }

}  // namespace owf::formats::hf
