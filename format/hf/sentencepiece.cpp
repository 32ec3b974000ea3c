#include "hf/sentencepiece.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "owf/internal/protobuf.h"
#include "owf/text.h"

namespace owf::formats::hf {
namespace {

using protobuf::Field;
using protobuf::MessageReader;
using protobuf::WireType;

// The field numbers of sentencepiece_model.proto, for the reader and the writer.
constexpr std::uint32_t kPiecesField = 1;
constexpr std::uint32_t kTrainerSpecField = 2;
constexpr std::uint32_t kNormalizerSpecField = 3;
constexpr std::uint32_t kPieceText = 1;
constexpr std::uint32_t kPieceScore = 2;
constexpr std::uint32_t kPieceType = 3;
constexpr std::uint32_t kModelType = 3;
constexpr std::uint32_t kVocabSize = 4;
constexpr std::uint32_t kByteFallback = 35;
constexpr std::uint32_t kUnkId = 40;
constexpr std::uint32_t kBosId = 41;
constexpr std::uint32_t kEosId = 42;
constexpr std::uint32_t kPadId = 43;
constexpr std::uint32_t kUnkPiece = 45;  // each *_piece field is its id's field + 5
constexpr std::uint32_t kNormalizerName = 1;
constexpr std::uint32_t kAddDummyPrefix = 3;
constexpr std::uint32_t kRemoveExtraWhitespaces = 4;
constexpr std::uint32_t kEscapeWhitespaces = 5;

std::string at(std::uint64_t offset) { return " at offset " + std::to_string(offset); }

// An int32 field: negative values arrive sign-extended to 64 bits.
Result<std::int32_t> int32_of(const Field& field, std::string_view what) {
  OWF_RETURN_IF_ERROR(protobuf::expect_type(field, WireType::kVarint, what));
  const auto value = static_cast<std::int64_t>(field.value);
  if (value < INT32_MIN || value > INT32_MAX) {
    return Status::corruption(std::string(what) + at(field.offset) + ": " + std::to_string(value) +
                              " does not fit int32");
  }
  return static_cast<std::int32_t>(value);
}

Result<Piece> parse_piece(const MessageReader& model, const Field& field, std::size_t index) {
  const std::string what = "SentencePiece " + std::to_string(index);
  Piece piece;
  OWF_RETURN_IF_ERROR(protobuf::for_each_field(model, field, [&](const MessageReader&, const Field& item) -> Status {
    switch (item.number) {
      case kPieceText: {
        OWF_RETURN_IF_ERROR(protobuf::expect_type(item, WireType::kLen, what + ".piece"));
        piece.text.assign(reinterpret_cast<const char*>(item.payload.data()), item.payload.size());
        if (!is_valid_utf8(piece.text)) return Status::corruption(what + ".piece" + at(item.offset) + ": not UTF-8");
        return {};
      }
      case kPieceScore:
        OWF_RETURN_IF_ERROR(protobuf::expect_type(item, WireType::kFixed32, what + ".score"));
        piece.score = std::bit_cast<float>(static_cast<std::uint32_t>(item.value));
        // GGUF's f32 scores travel through JSON metadata, which has no NaN or infinity.
        if (!std::isfinite(piece.score)) {
          return Status::corruption(what + ".score" + at(item.offset) + ": not a finite number");
        }
        return {};
      case kPieceType: {
        OWF_ASSIGN_OR_RETURN(const std::int32_t type, int32_of(item, what + ".type"));
        if (type < 1 || type > 6) {
          return Status::corruption(what + ".type" + at(item.offset) + ": unknown piece type " + std::to_string(type));
        }
        piece.type = static_cast<PieceType>(type);
        return {};
      }
      default: return {};
    }
  }));
  return piece;
}

Status parse_trainer_spec(const MessageReader& model, const Field& field, SentencePieceModel& result) {
  return protobuf::for_each_field(model, field, [&](const MessageReader&, const Field& item) -> Status {
    const std::pair<std::uint32_t, std::int32_t*> fields[] = {{kModelType, &result.model_type},
                                                              {kUnkId, &result.unk_id},
                                                              {kBosId, &result.bos_id},
                                                              {kEosId, &result.eos_id},
                                                              {kPadId, &result.pad_id}};
    for (const auto& [number, slot] : fields) {
      if (item.number == number) {
        OWF_ASSIGN_OR_RETURN(*slot, int32_of(item, "TrainerSpec field " + std::to_string(number)));
      }
    }
    return {};
  });
}

Status parse_normalizer_spec(const MessageReader& model, const Field& field, SentencePieceModel& result) {
  return protobuf::for_each_field(model, field, [&](const MessageReader&, const Field& item) -> Status {
    if (item.number != kAddDummyPrefix) return {};
    OWF_RETURN_IF_ERROR(protobuf::expect_type(item, WireType::kVarint, "NormalizerSpec.add_dummy_prefix"));
    result.add_dummy_prefix = item.value != 0;
    return {};
  });
}

}  // namespace

Result<SentencePieceModel> parse_sentencepiece(std::span<const std::byte> bytes) {
  SentencePieceModel result;
  MessageReader reader(bytes, 0);
  const MessageReader model = reader;
  while (!reader.at_end()) {
    OWF_ASSIGN_OR_RETURN(const Field field, reader.next());
    if (field.number == kPiecesField) {
      OWF_ASSIGN_OR_RETURN(Piece piece, parse_piece(model, field, result.pieces.size()));
      result.pieces.push_back(std::move(piece));
    } else if (field.number == kTrainerSpecField) {
      OWF_RETURN_IF_ERROR(parse_trainer_spec(model, field, result));
    } else if (field.number == kNormalizerSpecField) {
      OWF_RETURN_IF_ERROR(parse_normalizer_spec(model, field, result));
    }
  }
  if (result.pieces.empty()) return Status::corruption("no pieces (not a SentencePiece model)");
  return result;
}

std::vector<std::byte> encode_sentencepiece(const SentencePieceModel& model) {
  protobuf::MessageWriter proto;
  for (const Piece& piece : model.pieces) {
    protobuf::MessageWriter entry;
    entry.add_string(kPieceText, piece.text);
    entry.add_float(kPieceScore, piece.score);
    entry.add_int32(kPieceType, static_cast<std::int32_t>(piece.type));
    proto.add_message(kPiecesField, entry);
  }
  protobuf::MessageWriter trainer;
  trainer.add_int32(kModelType, model.model_type);
  trainer.add_int32(kVocabSize, static_cast<std::int32_t>(model.pieces.size()));
  // sentencepiece refuses BYTE pieces without byte fallback, and byte fallback without them.
  trainer.add_bool(kByteFallback, std::any_of(model.pieces.begin(), model.pieces.end(),
                                              [](const Piece& piece) { return piece.type == PieceType::kByte; }));
  const std::pair<std::uint32_t, std::int32_t> ids[] = {
      {kUnkId, model.unk_id}, {kBosId, model.bos_id}, {kEosId, model.eos_id}, {kPadId, model.pad_id}};
  for (const auto& [number, id] : ids) trainer.add_int32(number, id);
  for (const auto& [number, id] : ids) {
    if (id >= 0 && static_cast<std::size_t>(id) < model.pieces.size()) {
      trainer.add_string(number + (kUnkPiece - kUnkId), model.pieces[id].text);
    }
  }
  proto.add_message(kTrainerSpecField, trainer);
  protobuf::MessageWriter normalizer;
  normalizer.add_string(kNormalizerName, "identity");
  normalizer.add_bool(kAddDummyPrefix, model.add_dummy_prefix);
  normalizer.add_bool(kRemoveExtraWhitespaces, false);
  normalizer.add_bool(kEscapeWhitespaces, true);
  proto.add_message(kNormalizerSpecField, normalizer);
  return {proto.bytes().begin(), proto.bytes().end()};
}

}  // namespace owf::formats::hf
