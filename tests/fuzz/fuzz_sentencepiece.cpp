// Fuzz target for the SentencePiece tokenizer.model parser (format/hf/sentencepiece.h) and the
// GGUF vocabulary made from it. For every input that parses it checks that what was parsed
// re-encodes to a model that parses to the same pieces and ids, that the pieces keep the
// parser's promises (UTF-8, known types), and that the GGUF export of a folder carrying it
// lists exactly those pieces, scores and types with the trainer spec's special ids.
#include <bit>
#include <cstdlib>

#include "fuzz_hf.h"
#include "hf/hf_folder.h"
#include "hf/sentencepiece.h"
#include "owf/text.h"
#include "proto_builder.h"

namespace {

namespace hf = owf::formats::hf;
using owf::test::Proto;

std::vector<std::byte> encode(const hf::SentencePieceModel& model) {
  Proto out;
  for (const hf::Piece& piece : model.pieces) {
    Proto p;
    p.text(1, piece.text).fixed32(2, std::bit_cast<std::uint32_t>(piece.score));
    p.varint(3, static_cast<std::uint64_t>(piece.type));
    out.message(1, p);
  }
  Proto trainer;
  trainer.signed_varint(3, model.model_type).signed_varint(40, model.unk_id).signed_varint(41, model.bos_id);
  trainer.signed_varint(42, model.eos_id).signed_varint(43, model.pad_id);
  out.message(2, trainer);
  const auto bytes = out.bytes();
  return {bytes.begin(), bytes.end()};
}

bool same(const hf::SentencePieceModel& a, const hf::SentencePieceModel& b) {
  if (a.pieces.size() != b.pieces.size() || a.model_type != b.model_type || a.unk_id != b.unk_id ||
      a.bos_id != b.bos_id || a.eos_id != b.eos_id || a.pad_id != b.pad_id) {
    return false;
  }
  for (std::size_t i = 0; i < a.pieces.size(); ++i) {
    if (a.pieces[i].text != b.pieces[i].text || a.pieces[i].type != b.pieces[i].type ||
        std::bit_cast<std::uint32_t>(a.pieces[i].score) != std::bit_cast<std::uint32_t>(b.pieces[i].score)) {
      return false;
    }
  }
  return true;
}

// The export lists the pieces in order, then ids the trainer spec names when they are tokens.
void check_export(const hf::SentencePieceModel& spm, std::span<const std::byte> bytes) {
  const nlohmann::json config = {{"architectures", {"LlamaForCausalLM"}}, {"hidden_size", 4},
                                 {"num_hidden_layers", 1},                 {"intermediate_size", 8},
                                 {"num_attention_heads", 2}};
  const nlohmann::json metadata = {{"hf", {{"config", config}, {"tokenizer_model", hf::base64_encode(bytes)}}}};
  const owf::fuzz::MetadataModel model(metadata.dump());
  const auto kvs = owf::fuzz::checked_gguf_export(model);
  if (spm.model_type != 1 && spm.model_type != 2) {
    if (kvs) std::abort();  // only unigram and BPE models map to GGUF's "llama"
    return;
  }
  if (!kvs) std::abort();  // nothing else in this metadata can be refused
  const auto& tokens = kvs->at("tokenizer.ggml.tokens");
  const auto& scores = kvs->at("tokenizer.ggml.scores");
  const auto& types = kvs->at("tokenizer.ggml.token_type");
  if (tokens.size() != spm.pieces.size()) std::abort();
  for (std::size_t i = 0; i < spm.pieces.size(); ++i) {
    if (tokens[i] != spm.pieces[i].text || types[i] != static_cast<int>(spm.pieces[i].type) ||
        scores[i].get<float>() != spm.pieces[i].score) {
      std::abort();
    }
  }
  const std::pair<const char*, std::int32_t> ids[] = {
      {"bos", spm.bos_id}, {"eos", spm.eos_id}, {"unknown", spm.unk_id}, {"padding", spm.pad_id}};
  for (const auto& [name, id] : ids) {
    const auto found = kvs->find(std::string("tokenizer.ggml.") + name + "_token_id");
    const bool is_token = id >= 0 && static_cast<std::size_t>(id) < spm.pieces.size();
    if (is_token != (found != kvs->end()) || (is_token && found->second != id)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  const auto parsed = hf::parse_sentencepiece(bytes);
  if (!parsed.ok()) return 0;
  if (parsed->pieces.empty()) std::abort();
  for (const hf::Piece& piece : parsed->pieces) {
    const auto type = static_cast<int>(piece.type);
    if (!owf::is_valid_utf8(piece.text) || type < 1 || type > 6) std::abort();
  }
  const auto again = hf::parse_sentencepiece(encode(*parsed));
  if (!again.ok() || !same(*parsed, *again)) std::abort();
  check_export(*parsed, bytes);
  return 0;
}
