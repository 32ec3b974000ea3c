"""Token pieces as llama.cpp prints them, from the tokenizer files themselves: SentencePiece models
(through python3-sentencepiece) and byte-level BPE tokenizer.json files (GPT-2's byte-to-unicode
table). "Plain" tokens are the ones whose text is printable ASCII, unique, and not special: the
test models only ever predict those, so a piece llama.cpp prints names exactly one token id."""
import json


def _bytes_to_unicode():
    """GPT-2's table: every byte maps to one printable character (tokenizer.json stores those)."""
    kept = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table, extra = {}, 0
    for byte in range(256):
        if byte in kept:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + extra)
            extra += 1
    return table


def _printable_ascii(text):
    return text != "" and all(" " <= ch <= "~" for ch in text)


class Vocabulary:
    """pieces[id] (the text llama.cpp prints for the token, or None for special tokens) and `plain`,
    the ids of ordinary tokens whose text is printable ASCII and unique."""

    def __init__(self, pieces, ordinary):
        self.pieces = pieces
        counts = {}
        for piece in pieces:
            counts[piece] = counts.get(piece, 0) + 1
        self.plain = [i for i, piece in enumerate(pieces)
                      if ordinary[i] and piece is not None and _printable_ascii(piece) and counts[piece] == 1]

    @classmethod
    def from_sentencepiece(cls, processor):
        pieces, ordinary = [], []
        for i in range(processor.get_piece_size()):
            piece = processor.id_to_piece(i)
            if processor.is_byte(i):  # <0xNN>: llama.cpp prints the byte itself
                pieces.append(chr(int(piece[3:5], 16)))
            elif processor.is_control(i) or processor.is_unknown(i):
                pieces.append(None)
            else:
                pieces.append(piece.replace("\u2581", " "))
            ordinary.append(not (processor.is_byte(i) or processor.is_control(i) or processor.is_unknown(i)))
        return cls(pieces, ordinary)

    @classmethod
    def from_tokenizer_json(cls, text):
        data = json.loads(text)
        vocab = data["model"]["vocab"]
        decode = {ch: byte for byte, ch in _bytes_to_unicode().items()}
        count = max(max(vocab.values()), max(t["id"] for t in data["added_tokens"])) + 1
        pieces = [None] * count
        for token, i in vocab.items():
            raw = bytes(decode[ch] for ch in token)
            try:
                pieces[i] = raw.decode("ascii")
            except UnicodeDecodeError:
                pieces[i] = None
        for added in data["added_tokens"]:
            pieces[added["id"]] = None
        return cls(pieces, [piece is not None for piece in pieces])
