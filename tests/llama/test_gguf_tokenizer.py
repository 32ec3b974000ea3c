"""GGUF → Hugging Face folder writes the tokenizer files from the GGUF's tokenizer.ggml.* keys
(spec/formats/hf.md §3.2): tokenizer.json, tokenizer_config.json, special_tokens_map.json, and
tokenizer.model for a SentencePiece vocabulary.

Checked against peers nobody here wrote: the written tokenizer.json, loaded by transformers.js's
tokenizers (npm @lenml/tokenizers), turns texts into the same ids as llama.cpp does from the GGUF
(npm @fugood/llama.node) and as the tokenizer the GGUF was made from: sentencepiece on Llama 2's
tokenizer.model for a GGUF written by llama.cpp's own converter (the corpus's ollama file, whose
vocabulary is Llama 2's), the original tokenizer.json for byte-level BPE GGUFs owf made from folders
with llama 3's and Qwen2.5's tokenizers; and it decodes the ids back into the text. The written
tokenizer.model, loaded by python3-sentencepiece, tokenizes as Llama 2's own. A folder written from
a GGUF converts back into a GGUF with the same tokenizer.ggml.* keys.
"""
import json
import unittest

import sentencepiece
import torch

import hfmodel
from llamatest import GGUF, JS_DIR, TOKENIZER_TEXTS, node
from owftest import CORPUS, OwfTestCase, run_owf

TEXTS = TOKENIZER_TEXTS + [
    "Ünïcödé\r\nline two\n\n\nthree    spaces   end ",
    "x",
]
LLAMA2 = CORPUS / "hf" / "llama2-tokenizer.model"
LENML = JS_DIR / "node_modules" / "@lenml"


def tokenize_folder(folder, add_special_tokens):
    return node("tokenize.mjs", {"folder": str(folder), "texts": TEXTS, "add_special_tokens": add_special_tokens})


def llama_cpp_tokens(gguf):
    """llama.cpp's ids for TEXTS, without special tokens."""
    return node("run_llama.mjs", {"tokenize_only": True, "runs": [{"model": str(gguf), "texts": TEXTS}]})["runs"][0][
        "tokens"]


def tokenizer_keys(path):
    return {k: v for k, v in GGUF(path).kv.items() if k.startswith("tokenizer.")}


class SentencePieceGguf(OwfTestCase):
    """The corpus's GGUF written by llama.cpp's converter (ollama's llama-2-tiny-random)."""

    def test_tokenizer_json_tokenizes_as_llama_cpp_and_sentencepiece(self):
        source = CORPUS / "gguf" / "ollama-llama-2-tiny-random.gguf"
        run_owf("convert", source, f"{self.tmp / 'back'}/", "--dtype", "f32", check=0)
        processor = sentencepiece.SentencePieceProcessor(model_file=str(LLAMA2))
        # A fact about the corpus file, so that sentencepiece is the tokenizer it was made from.
        self.assertEqual(GGUF(source).kv["tokenizer.ggml.tokens"],
                         [processor.id_to_piece(i) for i in range(processor.get_piece_size())])
        expected = [processor.encode(text) for text in TEXTS]
        self.assertEqual(llama_cpp_tokens(source), expected)
        plain = tokenize_folder(self.tmp / "back", add_special_tokens=False)
        self.assertEqual(plain["ids"], expected)
        self.assertEqual(plain["decoded"], TEXTS)
        # add_bos_token (llama.cpp's default for SentencePiece: the file has no add_bos_token key).
        self.assertEqual(tokenize_folder(self.tmp / "back", add_special_tokens=True)["ids"],
                         [[1] + ids for ids in expected])
        config = json.loads((self.tmp / "back" / "tokenizer_config.json").read_text())
        self.assertEqual((config["bos_token"], config["eos_token"], config["unk_token"]), ("<s>", "</s>", "<unk>"))
        self.assertEqual((config["add_bos_token"], config["add_eos_token"]), (True, False))
        self.assertEqual(config["added_tokens_decoder"]["2"]["content"], "</s>")
        specials = json.loads((self.tmp / "back" / "special_tokens_map.json").read_text())
        self.assertEqual(specials["bos_token"]["content"], "<s>")
        self.assertNotIn("pad_token", specials)

    def test_tokenizer_model_tokenizes_as_the_original_and_converts_back(self):
        # tokenizer.model written from the GGUF's vocabulary: sentencepiece loads it and tokenizes as
        # Llama 2's own file, and the folder converts back into a GGUF with the same vocabulary.
        source = CORPUS / "gguf" / "ollama-llama-2-tiny-random.gguf"
        back = self.tmp / "back"
        run_owf("convert", source, f"{back}/", "--dtype", "f32", check=0)
        original = sentencepiece.SentencePieceProcessor(model_file=str(LLAMA2))
        written = sentencepiece.SentencePieceProcessor(model_file=str(back / "tokenizer.model"))
        self.assertEqual(written.get_piece_size(), original.get_piece_size())
        expected = [original.encode(text) for text in TEXTS]
        self.assertEqual([written.encode(text) for text in TEXTS], expected)
        self.assertEqual([written.decode(ids) for ids in expected], [original.decode(ids) for ids in expected])
        self.assertEqual((written.unk_id(), written.bos_id(), written.eos_id(), written.pad_id()),
                         (original.unk_id(), original.bos_id(), original.eos_id(), original.pad_id()))
        again = self.tmp / "again.gguf"
        run_owf("convert", back, again, check=0)
        first, second = tokenizer_keys(source), tokenizer_keys(again)
        # The keys the first GGUF left to llama.cpp's defaults, which the folder states.
        self.assertEqual((second.pop("tokenizer.ggml.pre"), second.pop("tokenizer.ggml.add_bos_token"),
                          second.pop("tokenizer.ggml.add_eos_token")), ("default", True, False))
        self.assertEqual(sorted(second), sorted(first))
        for key in first:
            self.assertEqual(second[key], first[key], key)
        self.assertEqual(llama_cpp_tokens(again), expected)


class ByteLevelGguf(OwfTestCase):
    """GGUFs owf made from folders with a tokenizer.json: the GGUF carries only tokenizer.ggml.* keys."""

    def round_trip(self, arch, vocab, tokenizer):
        config = hfmodel.Config(arch, vocab, 16, 1, 2, 1, 32, tied=(arch == "qwen2"))
        files = {name: (LENML / f"tokenizer-{tokenizer}" / "models" / name).read_text()
                 for name in ("tokenizer.json", "tokenizer_config.json")}
        weights = hfmodel.random_weights(config, 0, list(range(8)))
        hfmodel.make_folder(self.tmp / "model", config, weights, torch.float32, 1, files)
        run_owf("convert", self.tmp / "model", self.tmp / "model.gguf", check=0)
        run_owf("convert", self.tmp / "model.gguf", f"{self.tmp / 'back'}/", check=0)
        return self.tmp / "model.gguf", self.tmp / "back"

    def check(self, arch, vocab, tokenizer):
        gguf, back = self.round_trip(arch, vocab, tokenizer)
        expected = node("tokenize.mjs", {"tokenizer": tokenizer, "texts": TEXTS, "add_special_tokens": False})["ids"]
        self.assertEqual(llama_cpp_tokens(gguf), expected)
        written = tokenize_folder(back, add_special_tokens=False)
        self.assertEqual(written["ids"], expected)
        self.assertEqual(written["decoded"], TEXTS)
        # The folder goes back into a GGUF with the same tokenizer: merges, types, ids, template.
        run_owf("convert", back, self.tmp / "again.gguf", check=0)
        first, again = tokenizer_keys(gguf), tokenizer_keys(self.tmp / "again.gguf")
        # tokenizer_config.json states add_bos_token / add_eos_token, which the first GGUF may have left
        # to llama.cpp's defaults (BOS for llama-bpe only).
        for key, default in (("tokenizer.ggml.add_bos_token", first["tokenizer.ggml.pre"] == "llama-bpe"),
                             ("tokenizer.ggml.add_eos_token", False)):
            self.assertEqual(again.pop(key), first.pop(key, default), key)
        self.assertEqual(sorted(again), sorted(first))
        for key in first:
            self.assertEqual(again[key], first[key], key)
        return back

    def test_llama3(self):
        back = self.check("llama", 128256, "llama3")
        # llama-bpe adds BOS (llama.cpp's default for it, and the key owf wrote).
        with_bos = tokenize_folder(back, add_special_tokens=True)["ids"]
        self.assertTrue(all(ids[0] == 128000 for ids in with_bos))
        self.assertIn("chat_template", json.loads((back / "tokenizer_config.json").read_text()))

    def test_qwen2_5(self):
        back = self.check("qwen2", 151665, "qwen2_5")
        config = json.loads((back / "tokenizer_config.json").read_text())
        self.assertEqual((config["eos_token"], config["pad_token"], config["add_bos_token"]),
                         ("<|im_end|>", "<|endoftext|>", False))


if __name__ == "__main__":
    unittest.main()
