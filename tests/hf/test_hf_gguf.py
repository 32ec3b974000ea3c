"""Hugging Face folders in, llama.cpp's GGUF out (spec/formats/hf.md): folders built here in torch, converted
by owf, and checked against torch computations, python3-sentencepiece and the tokenizer.json contents.
(tests/llama runs the results in llama.cpp itself.)"""
import json
import unittest

import sentencepiece
import torch

from hffolder import (LLAMA2_TOKENIZER, Spec, gguf_kvs, gguf_tensors, lenml_models, make_folder,
                      permute_like_llama_cpp, rope_hf, rope_interleaved)
from owftest import OwfTestCase, run_owf

GGUF_BLOCK = {"input_layernorm.weight": "attn_norm.weight", "self_attn.q_proj.weight": "attn_q.weight",
              "self_attn.k_proj.weight": "attn_k.weight", "self_attn.v_proj.weight": "attn_v.weight",
              "self_attn.o_proj.weight": "attn_output.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
              "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
              "mlp.down_proj.weight": "ffn_down.weight", "self_attn.q_proj.bias": "attn_q.bias",
              "self_attn.k_proj.bias": "attn_k.bias", "self_attn.v_proj.bias": "attn_v.bias"}


def gguf_name(hf_name):
    fixed = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    if hf_name in fixed:
        return fixed[hf_name]
    _, _, layer, rest = hf_name.split(".", 3)
    return f"blk.{layer}.{GGUF_BLOCK[rest]}"


class LlamaExport(OwfTestCase):
    def convert(self, spec, *flags, layout="safetensors", tokenizer="spm"):
        weights = make_folder(self.tmp / "model", spec, layout=layout, tokenizer=tokenizer)
        run_owf("convert", self.tmp / "model", self.tmp / "model.gguf", *flags, check=0)
        return weights

    def test_llama_tensors_are_renamed_and_q_k_unpermuted(self):
        spec = Spec("llama", heads=4, kv_heads=2)
        weights = self.convert(spec)
        tensors = gguf_tensors(self.tmp / "model.gguf", self.tmp)
        self.assertEqual(set(tensors), {gguf_name(name) for name in weights})
        for name, weight in weights.items():
            expected = weight
            if ".q_proj." in name:
                expected = permute_like_llama_cpp(weight, spec.heads)
            elif ".k_proj." in name:
                expected = permute_like_llama_cpp(weight, spec.kv_heads)
            dtype, actual = tensors[gguf_name(name)]
            self.assertEqual(dtype, "F32", name)
            self.assertTrue(torch.equal(actual, expected), name)

    def test_unpermuted_weights_give_hf_rotary_under_llama_cpp_rotary(self):
        # What the permutation is for: llama.cpp's interleaved rotary applied to the GGUF weights' output
        # equals HF's rotate-half rotary applied to the HF weights' output, reordered the same way.
        spec = Spec("llama", heads=4, kv_heads=2, layers=1)
        weights = self.convert(spec)
        tensors = gguf_tensors(self.tmp / "model.gguf", self.tmp)
        x = torch.randn(spec.dim, generator=torch.Generator().manual_seed(5))
        for hf, gguf, heads in (("q_proj", "attn_q", spec.heads), ("k_proj", "attn_k", spec.kv_heads)):
            hf_out = weights[f"model.layers.0.self_attn.{hf}.weight"] @ x
            gguf_out = tensors[f"blk.0.{gguf}.weight"][1] @ x
            for position in (1, 7):
                expected = permute_like_llama_cpp(rope_hf(hf_out, spec.head_dim, position), heads)
                actual = rope_interleaved(gguf_out, spec.head_dim, position)
                self.assertTrue(torch.allclose(actual, expected, atol=1e-5), (hf, position))
                # ...and the scores q.k of HF and llama.cpp agree.

    def test_llama_keys(self):
        spec = Spec("llama", heads=4, kv_heads=2, rope_theta=500000.0, rms_norm_eps=1e-6)
        self.convert(spec)
        kvs = gguf_kvs(self.tmp / "model.gguf")
        expected = {"general.architecture": ("string", "llama"), "general.file_type": ("u32", 0),
                    "general.name": ("string", "model"),
                    "llama.context_length": ("u32", 256), "llama.embedding_length": ("u32", 32),
                    "llama.block_count": ("u32", 2), "llama.feed_forward_length": ("u32", 48),
                    "llama.attention.head_count": ("u32", 4), "llama.attention.head_count_kv": ("u32", 2),
                    "llama.attention.layer_norm_rms_epsilon": ("f32", 1e-6),
                    "llama.rope.freq_base": ("f32", 500000.0), "llama.rope.dimension_count": ("u32", 8),
                    "llama.vocab_size": ("u32", 32000), "tokenizer.ggml.model": ("string", "llama"),
                    "tokenizer.ggml.bos_token_id": ("u32", 1), "tokenizer.ggml.eos_token_id": ("u32", 2)}
        for key, value in expected.items():
            self.assertEqual(kvs.get(key), value, key)

    def test_mistral_is_llama_architecture(self):
        spec = Spec("mistral", heads=4, kv_heads=1, sliding_window=4096)
        weights = self.convert(spec)
        kvs = gguf_kvs(self.tmp / "model.gguf")
        self.assertEqual(kvs["general.architecture"], ("string", "llama"))
        tensors = gguf_tensors(self.tmp / "model.gguf", self.tmp)
        self.assertTrue(torch.equal(tensors["blk.1.attn_k.weight"][1],
                                    permute_like_llama_cpp(weights["model.layers.1.self_attn.k_proj.weight"], 1)))

    def test_qwen2_keeps_hf_order_biases_and_tied_embeddings(self):
        spec = Spec("qwen2", vocab=151665, dim=32, heads=4, kv_heads=2, tied=True, dtype=torch.bfloat16,
                    rope_theta=1000000.0)
        weights = self.convert(spec, tokenizer="qwen2_5")
        tensors = gguf_tensors(self.tmp / "model.gguf", self.tmp)
        self.assertNotIn("output.weight", tensors)
        self.assertEqual(set(tensors), {gguf_name(name) for name in weights})
        for name, weight in weights.items():
            dtype, actual = tensors[gguf_name(name)]
            # Norms and biases (1-D) are widened to f32; matrices stay bf16; nothing is permuted.
            self.assertEqual(dtype, "F32" if weight.dim() == 1 else "BF16", name)
            self.assertTrue(torch.equal(actual, weight.to(torch.float32)), name)
        kvs = gguf_kvs(self.tmp / "model.gguf")
        self.assertEqual(kvs["general.architecture"], ("string", "qwen2"))
        self.assertEqual(kvs["general.file_type"], ("u32", 32))
        self.assertEqual(kvs["qwen2.rope.freq_base"], ("f32", 1000000.0))
        self.assertEqual(kvs["tokenizer.ggml.pre"], ("string", "qwen2"))

    def test_dtype_flags_keep_norms_f32_and_set_file_type(self):
        for flag, file_type, matrix in (("f16", 1, "F16"), ("bf16", 32, "BF16"), ("f32", 0, "F32"),
                                        ("q8_0", 7, None), ("q4_0", 2, None)):
            with self.subTest(flag):
                make_folder(self.tmp / flag, Spec("llama", dtype=torch.bfloat16))
                out = self.tmp / f"{flag}.gguf"
                run_owf("convert", self.tmp / flag, out, "--dtype", flag, check=0)
                self.assertEqual(gguf_kvs(out)["general.file_type"], ("u32", file_type))
                info = json.loads(run_owf("inspect", out, "--json", check=0).stdout)
                dtypes = {t["name"]: t["dtype"] for t in info["tensors"]}
                self.assertEqual(dtypes["blk.0.attn_norm.weight"], "f32")
                self.assertEqual(dtypes["output_norm.weight"], "f32")
                self.assertEqual(dtypes["blk.0.ffn_up.weight"], (matrix or flag).lower())

    def test_every_weight_layout_gives_the_same_gguf_tensors(self):
        spec = Spec("llama", vocab=32000, layers=2)
        results = {}
        for layout in ("safetensors", "safetensors-sharded", "bin", "bin-sharded"):
            make_folder(self.tmp / layout, spec, layout=layout)
            out = self.tmp / f"{layout}.gguf"
            run_owf("convert", self.tmp / layout, out, check=0)
            results[layout] = run_owf("hash", out, check=0).stdout.split()[0]
        self.assertEqual(len(set(results.values())), 1, results)

    def test_owf_made_from_a_folder_converts_without_the_folder(self):
        make_folder(self.tmp / "model", Spec("llama"))
        run_owf("convert", self.tmp / "model", self.tmp / "model.owf", check=0)
        run_owf("convert", self.tmp / "model", self.tmp / "direct.gguf", check=0)
        (self.tmp / "model" / "config.json").unlink()
        run_owf("convert", self.tmp / "model.owf", self.tmp / "via-owf.gguf", check=0)
        self.assertEqual(run_owf("hash", self.tmp / "direct.gguf", check=0).stdout.split()[0],
                         run_owf("hash", self.tmp / "via-owf.gguf", check=0).stdout.split()[0])
        direct, via = gguf_kvs(self.tmp / "direct.gguf"), gguf_kvs(self.tmp / "via-owf.gguf")
        for key in direct:
            if key.startswith(("tokenizer.", "llama.")):
                self.assertEqual(direct[key], via[key], key)

    def test_llama3_rope_scaling_adds_rope_freqs(self):
        scaling = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 64}
        spec = Spec("llama", dim=64, heads=2, kv_heads=2, rope_theta=500000.0, rope_scaling=scaling)
        self.convert(spec)
        _, freqs = gguf_tensors(self.tmp / "model.gguf", self.tmp)["rope_freqs.weight"]
        # The factors as transformers' _compute_llama3_parameters defines them, computed here in float64.
        head_dim = 32
        inv = 1 / 500000.0 ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
        wavelen = 2 * torch.pi / inv
        low, high = 64 / 1.0, 64 / 4.0
        smooth = (64 / wavelen - 1.0) / (4.0 - 1.0)
        factors = torch.where(wavelen > low, torch.full_like(inv, 8.0),
                              torch.where(wavelen < high, torch.ones_like(inv), 1 / ((1 - smooth) / 8.0 + smooth)))
        self.assertTrue(torch.allclose(freqs.double(), factors, rtol=1e-6))


class TokenizerExport(OwfTestCase):
    def test_sentencepiece_matches_python_sentencepiece(self):
        make_folder(self.tmp / "model", Spec("llama", layers=1))
        run_owf("convert", self.tmp / "model", self.tmp / "model.gguf", check=0)
        kvs = gguf_kvs(self.tmp / "model.gguf")
        processor = sentencepiece.SentencePieceProcessor(model_file=str(LLAMA2_TOKENIZER))
        n = processor.get_piece_size()
        self.assertEqual(kvs["tokenizer.ggml.tokens"][1], [processor.id_to_piece(i) for i in range(n)])
        self.assertEqual(kvs["tokenizer.ggml.scores"][1], [processor.get_score(i) for i in range(n)])

        def piece_type(i):
            for kind, test in ((2, processor.is_unknown), (3, processor.is_control), (5, processor.is_unused),
                               (6, processor.is_byte)):
                if test(i):
                    return kind
            return 1
        self.assertEqual(kvs["tokenizer.ggml.token_type"], ("array:i32", [piece_type(i) for i in range(n)]))
        self.assertEqual(kvs["tokenizer.ggml.unknown_token_id"], ("u32", processor.unk_id()))

    def test_bpe_tokenizers_match_tokenizer_json(self):
        for name, arch, pre, vocab in (("llama3", "llama", "llama-bpe", 128256), ("qwen2_5", "qwen2", "qwen2", 151936)):
            with self.subTest(name):
                folder = self.tmp / name
                make_folder(folder, Spec(arch, vocab=vocab, dim=16, heads=2, kv_heads=1, hidden=16, layers=1,
                                         tied=True), tokenizer=name)
                run_owf("convert", folder, self.tmp / f"{name}.gguf", check=0)
                kvs = gguf_kvs(self.tmp / f"{name}.gguf")
                tokenizer = json.loads((lenml_models(name) / "tokenizer.json").read_text())
                config = json.loads((lenml_models(name) / "tokenizer_config.json").read_text())
                by_id = {i: t for t, i in tokenizer["model"]["vocab"].items()}
                added = {t["id"]: t for t in tokenizer["added_tokens"]}
                by_id.update({i: t["content"] for i, t in added.items()})
                tokens = kvs["tokenizer.ggml.tokens"][1]
                types = kvs["tokenizer.ggml.token_type"][1]
                self.assertEqual(len(tokens), vocab)
                for i in range(vocab):
                    if i not in by_id:
                        self.assertEqual((tokens[i], types[i]), (f"[PAD{i}]", 5))
                    else:
                        self.assertEqual(tokens[i], by_id[i], i)
                        # gguf-py makes added tokens CONTROL when special or shaped like <|...|>.
                        looks_special = i in added and (added[i]["special"] or (
                            by_id[i].startswith("<|") and by_id[i].endswith("|>")))
                        self.assertEqual(types[i], (3 if looks_special else 4) if i in added else 1, i)
                merges = [m if isinstance(m, str) else " ".join(m) for m in tokenizer["model"]["merges"]]
                self.assertEqual(kvs["tokenizer.ggml.merges"][1], merges)
                self.assertEqual(kvs["tokenizer.ggml.model"], ("string", "gpt2"))
                self.assertEqual(kvs["tokenizer.ggml.pre"], ("string", pre))
                self.assertEqual(kvs["tokenizer.chat_template"], ("string", config["chat_template"]))
                content_id = {t: i for i, t in by_id.items()}
                self.assertEqual(kvs["tokenizer.ggml.eos_token_id"], ("u32", content_id[config["eos_token"]]))
                if config.get("bos_token"):
                    self.assertEqual(kvs["tokenizer.ggml.bos_token_id"], ("u32", content_id[config["bos_token"]]))
                if "add_bos_token" in config:
                    self.assertEqual(kvs["tokenizer.ggml.add_bos_token"], ("bool", config["add_bos_token"]))


class Refusals(OwfTestCase):
    def test_unsupported_architecture_is_named_with_the_supported_ones(self):
        make_folder(self.tmp / "model", Spec("llama", architectures=["GPTNeoXForCausalLM"]))
        result = run_owf("convert", self.tmp / "model", self.tmp / "out.gguf")
        self.assertRefused(result, "GPTNeoXForCausalLM", "LlamaForCausalLM", "MistralForCausalLM",
                           "Qwen2ForCausalLM")
        self.assertFalse((self.tmp / "out.gguf").exists())

    def test_missing_files_are_named(self):
        (self.tmp / "empty").mkdir()
        self.assertRefused(run_owf("inspect", self.tmp / "empty"), "config.json", "missing")
        make_folder(self.tmp / "noweights", Spec("llama"))
        (self.tmp / "noweights" / "model.safetensors").unlink()
        self.assertRefused(run_owf("inspect", self.tmp / "noweights"), "no weights", "model.safetensors")
        make_folder(self.tmp / "notok", Spec("llama"), tokenizer=None)
        self.assertRefused(run_owf("convert", self.tmp / "notok", self.tmp / "notok.gguf"),
                           "tokenizer.model or tokenizer.json")
        self.assertFalse((self.tmp / "notok.gguf").exists())

    def test_bad_config_and_unknown_tensor_are_named(self):
        make_folder(self.tmp / "m1", Spec("llama", hidden_size=None))
        self.assertRefused(run_owf("convert", self.tmp / "m1", self.tmp / "m1.gguf"), "config.json",
                           "'hidden_size'")
        make_folder(self.tmp / "m2", Spec("llama"))
        (self.tmp / "m2" / "config.json").write_text("{\"architectures\": [")
        self.assertRefused(run_owf("inspect", self.tmp / "m2"), "config.json", "invalid JSON at byte")
        make_folder(self.tmp / "m3", Spec("llama"))
        config = (self.tmp / "m3" / "config.json").read_text()
        (self.tmp / "m3" / "config.json").write_text(config.replace("{", "{\"rms_norm_eps\": 1e999, ", 1))
        self.assertRefused(run_owf("inspect", self.tmp / "m3"), "config.json", "number overflow parsing '1e999'")

    def test_pre_tokenizer_it_does_not_know_is_refused(self):
        folder = self.tmp / "model"
        make_folder(folder, Spec("llama", vocab=128256, dim=16, heads=2, kv_heads=1, hidden=16, layers=1),
                    tokenizer="llama3")
        tokenizer = json.loads((folder / "tokenizer.json").read_text())
        tokenizer["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\w+"
        (folder / "tokenizer.json").write_text(json.dumps(tokenizer))
        self.assertRefused(run_owf("convert", folder, self.tmp / "out.gguf"), "tokenizer.json",
                           "pre-tokenizer not recognised")


class FolderInput(OwfTestCase):
    def test_inspect_shows_architecture_and_hyperparameters(self):
        make_folder(self.tmp / "model", Spec("llama", heads=4, kv_heads=2))
        out = run_owf("inspect", self.tmp / "model", check=0).stdout
        self.assertIn("hf folder (safetensors)", out)
        self.assertIn("LlamaForCausalLM", out)
        for fragment in ("hidden_size", "num_hidden_layers", "num_key_value_heads"):
            self.assertIn(fragment, out)
        self.assertIn("model.layers.0.self_attn.q_proj.weight", out)

    def test_every_read_command_takes_a_folder(self):
        weights = make_folder(self.tmp / "model", Spec("llama", layers=1))
        run_owf("verify", self.tmp / "model", check=0)
        run_owf("convert", self.tmp / "model", self.tmp / "model.owf", check=0)
        self.assertEqual(run_owf("diff", self.tmp / "model", self.tmp / "model.owf").returncode, 0)
        self.assertEqual(run_owf("hash", self.tmp / "model", check=0).stdout.split()[0],
                         run_owf("hash", self.tmp / "model.owf", check=0).stdout.split()[0])
        metadata = json.loads(run_owf("meta", self.tmp / "model.owf", check=0).stdout)
        self.assertEqual(metadata["hf"]["config"]["hidden_size"], 32)
        self.assertEqual(metadata["hf"]["weights"], "model.safetensors")
        self.assertEqual(len(weights), len(json.loads(run_owf("inspect", self.tmp / "model", "--json",
                                                                  check=0).stdout)["tensors"]))


if __name__ == "__main__":
    unittest.main()
