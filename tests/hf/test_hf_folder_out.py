"""Hugging Face folders out (spec/formats/hf.md §3): `owf convert IN OUT/` writes config.json, safetensors
weights (shards and an index above the shard size) and the tokenizer files the metadata carries. From a
llama.cpp GGUF, the tensors are renamed back and q/k rows permuted back into HF's rotary layout, and
config.json is rebuilt from the GGUF's key-values. Checked here without owf's readers: the folders'
safetensors files are parsed by hand, and compared with the tensors torch made."""
import json
import struct
import unittest

import torch

from hffolder import LLAMA2_TOKENIZER, Spec, lenml_models, make_folder
from owftest import OwfTestCase, run_owf, torch_safetensors_bytes

_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    """{name: (safetensors dtype, tensor)} and the __metadata__ of one file, parsed here."""
    blob = path.read_bytes()
    (length,) = struct.unpack_from("<Q", blob)
    header = json.loads(blob[8:8 + length])
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        raw = bytearray(blob[8 + length + begin:8 + length + end])
        tensor = torch.frombuffer(raw, dtype=_DTYPES[entry["dtype"]]) if raw else torch.zeros(0)
        tensors[name] = (entry["dtype"], tensor.reshape(entry["shape"]))
    return tensors, metadata


def read_folder(folder):
    """The tensors of a folder's model.safetensors or of its shard set (checked against the index)."""
    index = folder / "model.safetensors.index.json"
    if not index.exists():
        return read_safetensors(folder / "model.safetensors")[0]
    weight_map = json.loads(index.read_text())["weight_map"]
    tensors = {}
    for shard in sorted(set(weight_map.values())):
        part, _ = read_safetensors(folder / shard)
        for name in part:
            assert weight_map[name] == shard, (name, shard)
        tensors.update(part)
    assert set(tensors) == set(weight_map)
    return tensors


class GgufToFolder(OwfTestCase):
    def round_trip(self, spec, *gguf_flags, layout="safetensors-sharded", out_flags=()):
        weights = make_folder(self.tmp / "model", spec, layout=layout)
        run_owf("convert", self.tmp / "model", self.tmp / "model.gguf", *gguf_flags, check=0)
        run_owf("convert", self.tmp / "model.gguf", f"{self.tmp / 'back'}/", *out_flags, check=0)
        return weights, read_folder(self.tmp / "back"), json.loads((self.tmp / "back" / "config.json").read_text())

    def assert_same_tensors(self, original, written):
        self.assertEqual(set(written), set(original))
        for name, weight in original.items():
            self.assertEqual(list(written[name][1].shape), list(weight.shape), name)
            self.assertTrue(torch.equal(written[name][1].double(), weight.double()), name)

    def test_llama_folder_to_gguf_to_folder_gives_the_original_tensors(self):
        spec = Spec("llama", heads=4, kv_heads=2, dtype=torch.bfloat16)
        original, written, config = self.round_trip(spec)
        self.assert_same_tensors(original, written)
        # Matrices keep bf16; the norms GGUF holds in f32 stay f32 (the values are equal).
        self.assertEqual(written["model.layers.0.self_attn.q_proj.weight"][0], "BF16")
        self.assertEqual(written["model.norm.weight"][0], "F32")
        expected = spec.config()
        for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                    "num_key_value_heads", "max_position_embeddings", "rms_norm_eps", "rope_theta",
                    "tie_word_embeddings", "bos_token_id", "eos_token_id", "architectures", "model_type"):
            self.assertEqual(config[key], expected[key], key)
        self.assertEqual(type(config["rms_norm_eps"]), float)
        self.assertEqual(config["torch_dtype"], "bfloat16")
        self.assertEqual(config["hidden_act"], "silu")

    def test_qwen2_keeps_biases_and_tied_embeddings(self):
        spec = Spec("qwen2", heads=4, kv_heads=2, tied=True, rms_norm_eps=1e-6, rope_theta=1000000.0)
        original, written, config = self.round_trip(spec, layout="safetensors")
        self.assert_same_tensors(original, written)
        self.assertNotIn("lm_head.weight", written)
        self.assertEqual(config["architectures"], ["Qwen2ForCausalLM"])
        self.assertIs(config["tie_word_embeddings"], True)
        self.assertEqual(config["rms_norm_eps"], 1e-6)
        self.assertEqual(config["rope_theta"], 1000000.0)
        self.assertEqual(config["torch_dtype"], "float32")

    def test_mistral_comes_back_as_llama(self):
        # llama.cpp runs Mistral as llama: the GGUF no longer says it was Mistral (same computation).
        original, written, config = self.round_trip(Spec("mistral", heads=4, kv_heads=1))
        self.assert_same_tensors(original, written)
        self.assertEqual(config["architectures"], ["LlamaForCausalLM"])

    def test_quantized_gguf_is_refused_without_a_cast_and_dequantized_with_one(self):
        spec = Spec("llama", dim=64, heads=4, kv_heads=2, hidden=64)
        make_folder(self.tmp / "model", spec)
        run_owf("convert", self.tmp / "model", self.tmp / "q8.gguf", "--dtype", "q8_0", check=0)
        before = sorted(p.name for p in self.tmp.iterdir())
        refused = run_owf("convert", self.tmp / "q8.gguf", f"{self.tmp / 'back'}/")
        self.assertRefused(refused, "q8_0", "--dtype")
        self.assertEqual(sorted(p.name for p in self.tmp.iterdir()), before)  # no folder, no temporary left
        original = spec.weights()
        run_owf("convert", self.tmp / "q8.gguf", self.tmp / "back", "--to", "hf", "--dtype", "f32", check=0)
        written = read_folder(self.tmp / "back")
        self.assertEqual(set(written), set(original))
        for name, weight in original.items():
            # q8_0 keeps each value within half a step of its 32-value block's largest magnitude / 127;
            # rows permuted the wrong way would be off by the weights' own size.
            step = weight.abs().max() / 127
            self.assertLessEqual(float((written[name][1] - weight).abs().max()), float(step), name)

    def test_unsupported_gguf_architecture_is_named(self):
        make_folder(self.tmp / "model", Spec("llama"))
        run_owf("convert", self.tmp / "model", self.tmp / "model.gguf", check=0)
        run_owf("meta", "set", self.tmp / "model.gguf", "general.architecture=gemma", check=0)
        refused = run_owf("convert", self.tmp / "model.gguf", f"{self.tmp / 'back'}/")
        self.assertRefused(refused, "'gemma'", "llama", "qwen2")
        self.assertFalse((self.tmp / "back").exists())


class FolderToFolder(OwfTestCase):
    def test_tokenizer_files_travel_byte_exact_through_an_owf_file(self):
        spec = Spec("llama", vocab=128256, dim=16, heads=2, kv_heads=1, hidden=16, layers=1)
        original = make_folder(self.tmp / "model", spec, tokenizer="llama3")
        (self.tmp / "model" / "tokenizer.model").write_bytes(LLAMA2_TOKENIZER.read_bytes())  # binary file too
        run_owf("convert", self.tmp / "model", self.tmp / "model.owf", check=0)
        run_owf("convert", self.tmp / "model.owf", f"{self.tmp / 'back'}/", check=0)
        back = self.tmp / "back"
        self.assertEqual((back / "tokenizer.json").read_bytes(),
                         (lenml_models("llama3") / "tokenizer.json").read_bytes())
        self.assertEqual((back / "tokenizer.model").read_bytes(), LLAMA2_TOKENIZER.read_bytes())
        self.assertEqual(json.loads((back / "tokenizer_config.json").read_text()),
                         json.loads((lenml_models("llama3") / "tokenizer_config.json").read_text()))
        self.assertEqual(json.loads((back / "config.json").read_text()), spec.config())
        written = read_folder(back)
        self.assertEqual(set(written), set(original))
        for name, weight in original.items():
            self.assertTrue(torch.equal(written[name][1], weight), name)

    def test_shards_and_index_above_the_shard_size(self):
        spec = Spec("llama", layers=3)
        original = make_folder(self.tmp / "model", spec)
        run_owf("convert", self.tmp / "model", f"{self.tmp / 'one'}/", check=0)
        self.assertFalse((self.tmp / "one" / "model.safetensors.index.json").exists())
        run_owf("convert", self.tmp / "model", f"{self.tmp / 'sharded'}/", "--max-shard-size", "2MB", check=0)
        index = json.loads((self.tmp / "sharded" / "model.safetensors.index.json").read_text())
        shards = sorted(set(index["weight_map"].values()))
        self.assertGreater(len(shards), 1)
        self.assertEqual(shards[0], f"model-00001-of-{len(shards):05d}.safetensors")
        self.assertEqual(index["metadata"]["total_size"], sum(w.numel() * w.element_size() for w in original.values()))
        self.assertEqual(read_folder(self.tmp / "sharded").keys(), original.keys())
        # The folder's files are in the folder, not repeated in every shard's __metadata__.
        _, metadata = read_safetensors(self.tmp / "sharded" / shards[0])
        self.assertNotIn("hf", metadata)
        self.assertEqual(metadata["format"], "pt")

    def test_only_a_model_folder_is_replaced(self):
        make_folder(self.tmp / "model", Spec("llama"))
        out = self.tmp / "out"
        run_owf("convert", self.tmp / "model", f"{out}/", check=0)
        self.assertRefused(run_owf("convert", self.tmp / "model", f"{out}/"), "already exists")
        (out / "stale.txt").write_text("from an older folder")
        run_owf("convert", self.tmp / "model", f"{out}/", "--force", check=0)
        self.assertFalse((out / "stale.txt").exists())
        other = self.tmp / "documents"
        other.mkdir()
        (other / "notes.txt").write_text("keep me")
        self.assertRefused(run_owf("convert", self.tmp / "model", f"{other}/", "--force"), "not a model folder")
        self.assertEqual((other / "notes.txt").read_text(), "keep me")
        self.assertEqual(sorted(p.name for p in self.tmp.iterdir()), ["documents", "model", "out"])

    def test_a_model_without_config_is_refused(self):
        tensors = {"w": torch.ones(2, 2)}
        (self.tmp / "plain.safetensors").write_bytes(torch_safetensors_bytes(tensors))
        self.assertRefused(run_owf("convert", self.tmp / "plain.safetensors", f"{self.tmp / 'out'}/"),
                           "config.json")
        self.assertFalse((self.tmp / "out").exists())


if __name__ == "__main__":
    unittest.main()
