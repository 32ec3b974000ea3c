#include "hf/gguf_to_hf.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>

#include "hf/gguf_tokenizer.h"
#include "hf/hf_folder.h"
#include "hf/hf_gguf.h"
#include "hf/tensor_plan.h"
#include "owf/dtype.h"
#include "owf/text.h"

namespace owf::formats::hf {
namespace {

using Json = nlohmann::ordered_json;

// The scalar key-values of a GGUF's metadata (spec/formats/gguf.md §4), by key.
class KeyValues {
 public:
  explicit KeyValues(const Json& kv_list) {
    for (const Json& entry : kv_list) {
      if (entry.is_object() && entry.contains("key") && entry["key"].is_string() &&
          entry.value("type", "") != "array") {
        values_[entry["key"].get<std::string>()] = &entry["value"];
      }
    }
  }

  const Json* find(const std::string& key) const {
    const auto it = values_.find(key);
    return it == values_.end() ? nullptr : it->second;
  }

  // A positive integer key, or `fallback` when absent (nullopt: required).
  Result<std::uint64_t> count(const std::string& key, std::optional<std::uint64_t> fallback = std::nullopt) const {
    const Json* value = find(key);
    if (value == nullptr) {
      if (fallback) return *fallback;
      return Status::invalid_argument("GGUF key " + quote(key) + " is missing");
    }
    if (!value->is_number_unsigned() || value->get<std::uint64_t>() == 0) {
      return Status::invalid_argument("GGUF key " + quote(key) + " is " + value->dump() + ", not a positive integer");
    }
    return value->get<std::uint64_t>();
  }

  Result<std::optional<double>> number(const std::string& key) const {
    const Json* value = find(key);
    if (value == nullptr) return std::optional<double>();
    if (!value->is_number()) return Status::invalid_argument("GGUF key " + quote(key) + " is not a number");
    return std::optional<double>(value->get<double>());
  }

 private:
  std::map<std::string, const Json*, std::less<>> values_;
};

// GGUF stores these as f32: the shortest decimal that reads back as the same f32, so that
// config.json says 1e-05 rather than 9.999999747378752e-06.
double shortest_f32_decimal(double value) {
  const float target = static_cast<float>(value);
  char text[32];
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, static_cast<double>(target));
    if (std::strtof(text, nullptr) == target) return std::strtod(text, nullptr);
  }
  return value;
}

std::string torch_dtype_name(std::optional<DType> dtype) {
  if (dtype == DType::kBF16) return "bfloat16";
  if (dtype == DType::kF16) return "float16";
  return "float32";
}

struct Shape {
  const SupportedArchitecture* architecture = nullptr;
  std::uint64_t heads = 0;
  std::uint64_t kv_heads = 0;
  std::uint64_t head_dim = 0;
};

Result<const SupportedArchitecture*> hf_architecture_of(const std::string& gguf_name) {
  std::string supported;
  for (const auto& entry : kSupportedArchitectures) {
    if (entry.gguf_name == gguf_name) return &entry;
    if (supported.find(entry.gguf_name) == std::string::npos) {
      supported += (supported.empty() ? "" : ", ") + std::string(entry.gguf_name);
    }
  }
  return Status::not_supported("GGUF architecture " + quote(gguf_name) +
                               " has no Hugging Face folder export; supported: " + supported);
}

// config.json from the key-values and the GGUF's tensors, as transformers' LlamaConfig / Qwen2Config
// name them; torch_dtype is added once the written dtypes are known.
Result<Json> config_of(const KeyValues& kv, const Shape& shape, const std::string& arch, const Model& model) {
  Json config;
  config["architectures"] = Json::array({std::string(shape.architecture->hf_name)});
  config["model_type"] = arch;
  const auto at = [&](const char* key) { return arch + "." + key; };
  OWF_ASSIGN_OR_RETURN(const std::uint64_t hidden, kv.count(at("embedding_length")));
  bool tied = true;
  bool biased = false;
  std::optional<std::uint64_t> vocab;
  for (const TensorInfo& tensor : model.tensors()) {
    if (tensor.name == "output.weight") tied = false;
    if (tensor.name == "token_embd.weight" && !tensor.shape.empty()) vocab = tensor.shape[0];
    if (tensor.name.ends_with(".attn_q.bias")) biased = true;
  }
  OWF_ASSIGN_OR_RETURN(const std::uint64_t vocab_size, kv.count(at("vocab_size"), vocab));
  config["vocab_size"] = vocab_size;
  config["hidden_size"] = hidden;
  OWF_ASSIGN_OR_RETURN(config["intermediate_size"], kv.count(at("feed_forward_length")));
  OWF_ASSIGN_OR_RETURN(config["num_hidden_layers"], kv.count(at("block_count")));
  config["num_attention_heads"] = shape.heads;
  config["num_key_value_heads"] = shape.kv_heads;
  if (kv.find(at("attention.key_length"))) config["head_dim"] = shape.head_dim;
  OWF_ASSIGN_OR_RETURN(config["max_position_embeddings"], kv.count(at("context_length"), 2048));
  OWF_ASSIGN_OR_RETURN(const std::optional<double> eps, kv.number(at("attention.layer_norm_rms_epsilon")));
  if (!eps)
    return Status::invalid_argument("GGUF key " + quote(at("attention.layer_norm_rms_epsilon")) + " is missing");
  config["rms_norm_eps"] = shortest_f32_decimal(*eps);
  OWF_ASSIGN_OR_RETURN(const std::optional<double> theta, kv.number(at("rope.freq_base")));
  config["rope_theta"] = theta ? shortest_f32_decimal(*theta) : 10000.0;
  if (const Json* type = kv.find(at("rope.scaling.type")); type && type->is_string() && *type != "none") {
    OWF_ASSIGN_OR_RETURN(const std::optional<double> factor, kv.number(at("rope.scaling.factor")));
    if (!factor) return Status::invalid_argument("GGUF key " + quote(at("rope.scaling.factor")) + " is missing");
    Json scaling = {{"rope_type", *type}, {"factor", shortest_f32_decimal(*factor)}};
    if (kv.find(at("rope.scaling.original_context_length"))) {
      OWF_ASSIGN_OR_RETURN(scaling["original_max_position_embeddings"],
                           kv.count(at("rope.scaling.original_context_length")));
    }
    config["rope_scaling"] = std::move(scaling);
  }
  if (arch == "llama" && biased) config["attention_bias"] = true;
  config["hidden_act"] = "silu";
  config["tie_word_embeddings"] = tied;
  for (const auto& [key, field] : {std::pair{"tokenizer.ggml.bos_token_id", "bos_token_id"},
                                   std::pair{"tokenizer.ggml.eos_token_id", "eos_token_id"}}) {
    if (const Json* id = kv.find(key); id && id->is_number_unsigned()) config[field] = *id;
  }
  return config;
}

Result<std::vector<PlannedTensor>> plan_tensors(const Model& model, const Shape& shape) {
  std::vector<PlannedTensor> plan;
  const auto& tensors = model.tensors();
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const TensorInfo& tensor = tensors[i];
    if (tensor.name == "rope_freqs.weight") {
      return Status::not_supported(
          "tensor 'rope_freqs.weight': llama 3 rope frequency factors have no "
          "config.json form owf can derive them back into");
    }
    const auto name = hf_tensor_name(tensor.name);
    if (!name) {
      return Status::not_supported("tensor " + quote(tensor.name) + ": no Hugging Face name for it in " +
                                   std::string(shape.architecture->hf_name));
    }
    PlannedTensor planned;
    planned.source = i;
    OWF_ASSIGN_OR_RETURN(planned.info, make_tensor_info(*name, tensor.dtype, tensor.shape));
    const bool is_q = tensor.name.find(".attn_q.") != std::string::npos;
    const bool is_k = tensor.name.find(".attn_k.") != std::string::npos;
    if (shape.architecture->interleaved_rotary && (is_q || is_k)) {
      OWF_RETURN_IF_ERROR(plan_rotary_rows(planned, tensor, RowOrder::kInterleavedToHf,
                                           is_q ? shape.heads : shape.kv_heads, shape.head_dim));
    }
    plan.push_back(std::move(planned));
  }
  return plan;
}

}  // namespace

Result<std::optional<Export>> export_gguf_to_hf(const Model& model) {
  Json metadata;
  try {
    metadata = Json::parse(model.metadata());
  } catch (const std::exception& error) {
    return Status::corruption(std::string("metadata: ") + error.what());
  }
  const auto hf = metadata.find(kSection);
  const auto gguf = metadata.find("gguf");
  if ((hf != metadata.end() && hf->contains("config")) || gguf == metadata.end() || !gguf->is_object() ||
      !gguf->contains("kv") || !(*gguf)["kv"].is_array()) {
    return std::optional<Export>();
  }
  const KeyValues kv((*gguf)["kv"]);
  const Json* arch_value = kv.find("general.architecture");
  if (arch_value == nullptr || !arch_value->is_string()) return std::optional<Export>();
  const std::string arch = arch_value->get<std::string>();
  Shape shape;
  OWF_ASSIGN_OR_RETURN(shape.architecture, hf_architecture_of(arch));
  OWF_ASSIGN_OR_RETURN(shape.heads, kv.count(arch + ".attention.head_count"));
  OWF_ASSIGN_OR_RETURN(shape.kv_heads, kv.count(arch + ".attention.head_count_kv", shape.heads));
  OWF_ASSIGN_OR_RETURN(const std::uint64_t hidden, kv.count(arch + ".embedding_length"));
  OWF_ASSIGN_OR_RETURN(shape.head_dim, kv.count(arch + ".attention.key_length", hidden / shape.heads));
  if (shape.head_dim % 2 != 0 || shape.heads % shape.kv_heads != 0) {
    return Status::invalid_argument("GGUF keys " + quote(arch + ".attention.*") + ": " + std::to_string(shape.heads) +
                                    " heads on " + std::to_string(shape.kv_heads) + " KV heads of " +
                                    std::to_string(shape.head_dim) + " rows do not make rotary pairs");
  }
  OWF_ASSIGN_OR_RETURN(std::vector<PlannedTensor> plan, plan_tensors(model, shape));
  OWF_ASSIGN_OR_RETURN(const Json config, config_of(kv, shape, arch, model));
  Json tokenizer_files = Json::object();
  OWF_RETURN_IF_ERROR(add_tokenizer_files((*gguf)["kv"], tokenizer_files));

  Export result;
  result.model = make_planned_model(model, std::move(plan));
  result.metadata = [config, tokenizer_files](const Model& written,
                                              std::string_view metadata_json) -> Result<std::string> {
    Json out;
    try {
      out = Json::parse(metadata_json);
    } catch (const std::exception& error) {
      return Status::invalid_argument(std::string("metadata: ") + error.what());
    }
    Json written_config = config;
    written_config["torch_dtype"] = torch_dtype_name(dominant_matrix_dtype(written));
    out.erase("gguf");
    Json section = {{"config", std::move(written_config)}};
    section.update(tokenizer_files);
    out[kSection] = std::move(section);
    return out.dump();
  };
  return std::optional<Export>(std::move(result));
}

}  // namespace owf::formats::hf
