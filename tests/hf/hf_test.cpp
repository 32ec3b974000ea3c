// format/hf internals: the SentencePiece parser on hand-built and real models, base64, and the q/k row
// permutation against its definition in convert_hf_to_gguf.py (reshape, swap axes, reshape).
#include <doctest/doctest.h>

#include <bit>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "hf/hf_folder.h"
#include "hf/sentencepiece.h"
#include "hf/tensor_plan.h"
#include "owf/internal/bytes.h"
#include "proto_builder.h"

namespace hf = owf::formats::hf;
using owf::test::Proto;

namespace {

Proto piece(std::string_view text, float score, int type) {
  Proto p;
  p.text(1, text).fixed32(2, std::bit_cast<std::uint32_t>(score)).varint(3, static_cast<std::uint64_t>(type));
  return p;
}

}  // namespace

TEST_CASE("sentencepiece: pieces, scores, types and trainer ids") {
  Proto trainer;
  trainer.varint(3, 2).varint(40, 0).varint(41, 1).varint(42, 2).signed_varint(43, -1).text(99, "ignored");
  Proto model;
  model.message(1, piece("<unk>", 0, 2))
      .message(1, piece("<s>", 0, 3))
      .message(1, piece("\xe2\x96\x81"
                        "a",
                        -1.5f, 1));
  Proto normalizer;
  normalizer.text(1, "identity").varint(3, 0).varint(4, 0);
  model.message(2, trainer).message(3, normalizer).text(4, "self-test data skipped");
  const auto parsed = hf::parse_sentencepiece(model.bytes());
  REQUIRE(parsed.ok());
  REQUIRE(parsed->pieces.size() == 3);
  CHECK(parsed->pieces[2].text ==
        "\xe2\x96\x81"
        "a");
  CHECK(parsed->pieces[2].score == -1.5f);
  CHECK(parsed->pieces[0].type == hf::PieceType::kUnknown);
  CHECK(parsed->pieces[1].type == hf::PieceType::kControl);
  CHECK(parsed->model_type == 2);
  CHECK(parsed->pad_id == -1);
  CHECK(parsed->eos_id == 2);
  CHECK_FALSE(parsed->add_dummy_prefix);
}

TEST_CASE("sentencepiece: an encoded model parses back into the same model") {
  hf::SentencePieceModel model;
  model.pieces = {{"<unk>", 0, hf::PieceType::kUnknown},
                  {"<s>", 0, hf::PieceType::kControl},
                  {"<0x41>", 0, hf::PieceType::kByte},
                  {"\xe2\x96\x81"
                   "a",
                   -1.5f, hf::PieceType::kNormal},
                  {"[PAD4]", -1000, hf::PieceType::kUnused}};
  model.model_type = 2;
  model.unk_id = 0;
  model.bos_id = 1;
  model.eos_id = -1;
  model.pad_id = 4;
  model.add_dummy_prefix = false;
  const std::vector<std::byte> bytes = hf::encode_sentencepiece(model);
  const auto parsed = hf::parse_sentencepiece(bytes);
  REQUIRE(parsed.ok());
  REQUIRE(parsed->pieces.size() == model.pieces.size());
  for (std::size_t i = 0; i < model.pieces.size(); ++i) {
    CHECK(parsed->pieces[i].text == model.pieces[i].text);
    CHECK(parsed->pieces[i].score == model.pieces[i].score);
    CHECK(parsed->pieces[i].type == model.pieces[i].type);
  }
  CHECK(parsed->model_type == 2);
  CHECK((parsed->unk_id == 0 && parsed->bos_id == 1 && parsed->eos_id == -1 && parsed->pad_id == 4));
  CHECK_FALSE(parsed->add_dummy_prefix);
  // The special pieces are named (sentencepiece looks them up by name): bos_piece "<s>", pad_piece "[PAD4]".
  const std::string text(owf::as_chars(bytes));
  CHECK(text.find("\xf2\x02\x03<s>") != std::string::npos);     // tag 46 << 3 | 2 = 370, length 3
  CHECK(text.find("\x82\x03\x06[PAD4]") != std::string::npos);  // tag 48 << 3 | 2 = 386, length 6
}

TEST_CASE("sentencepiece: a piece without a type is NORMAL (the proto default)") {
  Proto p;
  p.text(1, "x");
  Proto model;
  model.message(1, p);
  const auto parsed = hf::parse_sentencepiece(model.bytes());
  REQUIRE(parsed.ok());
  CHECK(parsed->pieces[0].type == hf::PieceType::kNormal);
}

TEST_CASE("sentencepiece: damaged models are refused with offsets") {
  Proto model;
  model.message(1, piece("a", 0, 9));
  const auto bad_type = hf::parse_sentencepiece(model.bytes());
  REQUIRE_FALSE(bad_type.ok());
  CHECK(bad_type.status().message().find("unknown piece type 9") != std::string::npos);
  CHECK(bad_type.status().message().find("offset") != std::string::npos);

  Proto truncated;
  truncated.raw({0x0a, 0x10, 0x0a});  // a piece of 16 bytes, 1 present
  CHECK_FALSE(hf::parse_sentencepiece(truncated.bytes()).ok());

  Proto not_utf8;
  not_utf8.message(1, piece("\xff", 0, 1));
  CHECK_FALSE(hf::parse_sentencepiece(not_utf8.bytes()).ok());

  CHECK_FALSE(hf::parse_sentencepiece({}).ok());  // no pieces
}

TEST_CASE("sentencepiece: Llama 2's tokenizer.model from the corpus") {
  std::ifstream in(std::filesystem::path(OWF_CORPUS_DIR) / "hf" / "llama2-tokenizer.model", std::ios::binary);
  REQUIRE(in);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto parsed = hf::parse_sentencepiece(owf::as_bytes(std::string_view(bytes)));
  REQUIRE(parsed.ok());
  CHECK(parsed->pieces.size() == 32000);
  CHECK(parsed->pieces[1].text == "<s>");
  CHECK(parsed->pieces[3].type == hf::PieceType::kByte);  // <0x00>
  CHECK(parsed->bos_id == 1);
  CHECK(parsed->eos_id == 2);
  CHECK(parsed->add_dummy_prefix);
}

TEST_CASE("base64 round trip and strictness") {
  for (const std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    const std::string encoded = hf::base64_encode(owf::as_bytes(std::string_view(text)));
    CHECK(hf::base64_decode(encoded) == text);
  }
  CHECK(hf::base64_encode(owf::as_bytes(std::string_view("foobar"))) == "Zm9vYmFy");  // RFC 4648 §10
  CHECK(hf::base64_encode(owf::as_bytes(std::string_view("fo"))) == "Zm8=");
  CHECK_FALSE(hf::base64_decode("Zm9").has_value());
  CHECK_FALSE(hf::base64_decode("Zm9*").has_value());
}

TEST_CASE("q/k un-permutation equals reshape(H, 2, D/2).swapaxes(1, 2)") {
  for (const std::uint64_t heads : {1u, 2u, 4u}) {
    for (const std::uint64_t head_dim : {2u, 8u, 16u}) {
      const std::uint64_t rows = heads * head_dim;
      // Index (h, j, i) of the source viewed as [heads, 2, head_dim / 2] moves to (h, i, j).
      for (std::uint64_t h = 0; h < heads; ++h) {
        for (std::uint64_t j = 0; j < 2; ++j) {
          for (std::uint64_t i = 0; i < head_dim / 2; ++i) {
            const std::uint64_t source = h * head_dim + j * (head_dim / 2) + i;
            const std::uint64_t output = h * head_dim + i * 2 + j;
            CHECK(hf::unpermuted_source_row(output, rows, heads) == source);
          }
        }
      }
    }
  }
}

TEST_CASE("the permutation back into HF's layout inverts the un-permutation") {
  for (const std::uint64_t heads : {1u, 3u}) {
    for (const std::uint64_t head_dim : {2u, 8u, 64u}) {
      const std::uint64_t rows = heads * head_dim;
      for (std::uint64_t row = 0; row < rows; ++row) {
        CHECK(hf::permuted_source_row(hf::unpermuted_source_row(row, rows, heads), rows, heads) == row);
        CHECK(hf::unpermuted_source_row(hf::permuted_source_row(row, rows, heads), rows, heads) == row);
      }
    }
  }
}

TEST_CASE("tensor names map both ways") {
  for (const char* name :
       {"model.embed_tokens.weight", "lm_head.weight", "model.norm.weight", "model.layers.0.self_attn.q_proj.bias",
        "model.layers.31.mlp.down_proj.weight", "model.layers.7.post_attention_layernorm.weight"}) {
    const auto gguf = hf::gguf_tensor_name(name);
    REQUIRE(gguf.has_value());
    CHECK(hf::hf_tensor_name(*gguf) == std::optional<std::string>(name));
  }
  CHECK(hf::gguf_tensor_name("model.layers.0.self_attn.rotary_emb.inv_freq") == std::nullopt);
  CHECK(hf::hf_tensor_name("blk.0.attn_qkv.weight") == std::nullopt);
  CHECK(hf::hf_tensor_name("blk.x.attn_q.weight") == std::nullopt);
  CHECK(hf::hf_tensor_name(std::string(300, 'b')) == std::nullopt);
}
