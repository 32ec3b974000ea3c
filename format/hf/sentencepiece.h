// SentencePiece model files (tokenizer.model): a protocol buffers ModelProto, read with owf's
// bounded wire reader and written with its writer. Only what GGUF's "llama" tokenizer holds is kept:
//
//   ModelProto      1: repeated SentencePiece pieces    2: TrainerSpec trainer_spec
//                   3: NormalizerSpec normalizer_spec
//   SentencePiece   1: string piece   2: float score   3: Type type (varint, default NORMAL)
//   TrainerSpec     3: model_type (1 UNIGRAM, 2 BPE)   40: unk_id (default 0)   41: bos_id (1)
//                   42: eos_id (2)   43: pad_id (-1)
//                   written only: 4 vocab_size, 35 byte_fallback, 45..48 unk/bos/eos/pad_piece
//   NormalizerSpec  3: add_dummy_prefix (true)
//                   written only: 1 name, 4 remove_extra_whitespaces, 5 escape_whitespaces
//
// Unknown fields are skipped, as protobuf parsers do.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "owf/status.h"

namespace owf::formats::hf {

// SentencePiece's piece types, which are also GGUF's token types (tokenizer.ggml.token_type).
enum class PieceType : std::int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

struct Piece {
  std::string text;
  float score = 0;
  PieceType type = PieceType::kNormal;
};

struct SentencePieceModel {
  std::vector<Piece> pieces;
  std::int32_t model_type = 1;
  std::int32_t unk_id = 0;
  std::int32_t bos_id = 1;
  std::int32_t eos_id = 2;
  std::int32_t pad_id = -1;
  bool add_dummy_prefix = true;  // a space before the text (GGUF's tokenizer.ggml.add_space_prefix)
};

// Parses a tokenizer.model. Fails, with the byte offset, on malformed protobuf, a piece type
// outside 1..6, a score that is NaN or infinite, a piece that is not UTF-8, or no pieces at all.
Result<SentencePieceModel> parse_sentencepiece(std::span<const std::byte> bytes);

// The tokenizer.model holding `model` as python3-sentencepiece loads it: the identity normalizer
// (no Unicode normalization or whitespace removal, as llama.cpp's SentencePiece tokenizer; spaces
// as U+2581), byte fallback when there are BYTE pieces, and the special pieces named after the
// pieces at their ids (sentencepiece finds them by name).
std::vector<std::byte> encode_sentencepiece(const SentencePieceModel& model);

}  // namespace owf::formats::hf
