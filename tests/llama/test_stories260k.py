"""Trained weights through owf into llama.cpp: the corpus's stories260K (llama2.c's TinyStories-260K,
saved by torch in llama2.c's layout with Meta's interleaved rotary order) written as an HF folder —
q and k permuted into HF's rotary layout, as llama2.c's HF export does — then `owf convert DIR
out.gguf`, then llama.cpp's greedy continuation.

The reference is hfmodel.py's forward pass over the HF folder; it is first checked against a
llama2.c-style forward pass over the original Meta-layout tensors (interleaved rotary, written here
from llama2.c's model.py), which proves the folder is the same model. The model's own tokenizer is
not in the corpus: a 512-piece SentencePiece model is trained here with python3-sentencepiece, and
only token ids are compared (its pieces mean nothing to the weights).

The f32 and f16 GGUFs must continue exactly as the reference. The q8_0 GGUF's top-1 agreement with
the reference is reported, not asserted: this trained 64-dim model has top-1 margins down to ~0.07
logits, which q8_0 rounding flips (67% was measured); the ≥ 90% requirement of issue 8 applies to
the synthetic models of test_llama_cpp.py, whose margins are chosen wide.
"""
import io
import json
import math
import random
import unittest

import sentencepiece
import torch

import hfmodel
import owftest
from llamatest import node
from owftest import CORPUS, run_owf
from test_llama_cpp import SPM_CONFIG
from vocab import Vocabulary

CHECKPOINT = CORPUS / "pytorch" / "stories260K-bf16.pt"
CONFIG = hfmodel.Config("llama", 512, 64, 5, 8, 4, 172, tied=True)
PROMPT = "Once upon a time, there was a little girl named Lily. She"
STEPS = 24

WORDS = {
    "name": ["Lily", "Tom", "Ben", "Sue", "Max", "Mia", "Sam", "Anna"],
    "adjective": ["little", "big", "happy", "sad", "red", "shiny", "kind", "brave", "small", "funny"],
    "noun": ["girl", "boy", "dog", "cat", "bird", "tree", "ball", "car", "cake", "box", "park", "sun"],
    "verb": ["play", "run", "jump", "look", "help", "share", "find", "sing", "walk", "smile"],
    "place": ["park", "garden", "house", "forest", "school", "river", "town", "room"],
}


def story_lines(count, seed=260):
    """Simple TinyStories-like sentences (deterministic), to train the tokenizer on."""
    rng = random.Random(seed)
    pick = lambda kind: rng.choice(WORDS[kind])  # noqa: E731
    templates = [
        lambda: f"Once upon a time, there was a {pick('adjective')} {pick('noun')} named {pick('name')}.",
        lambda: f"{pick('name')} liked to {pick('verb')} in the {pick('place')} with a {pick('noun')}.",
        lambda: f"One day, {pick('name')} saw a {pick('adjective')} {pick('noun')}. It was {rng.randint(1, 99)}!",
        lambda: f"\"Can I {pick('verb')} too?\" asked {pick('name')}. She said, \"Yes, let's {pick('verb')}.\"",
        lambda: f"They were very {pick('adjective')} and went to the {pick('place')} together.",
    ]
    return [rng.choice(templates)() for _ in range(count)]


def train_tokenizer():
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(story_lines(4000)), model_writer=model, vocab_size=512, model_type="bpe",
        byte_fallback=True, character_coverage=1.0, split_digits=True, num_threads=1,
        normalization_rule_name="identity", unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2)
    return model.getvalue()


def meta_to_hf(weight, heads):
    """llama2.c's export to HF: within each head, rows of the interleaved pairs (2i, 2i+1) become rows
    i and i + head_dim/2."""
    rows, columns = weight.shape
    return weight.view(heads, rows // heads // 2, 2, columns).transpose(1, 2).reshape(rows, columns)


def hf_tensors(checkpoint):
    c = CONFIG
    hf = {"model.embed_tokens.weight": checkpoint["tok_embeddings.weight"],
          "model.norm.weight": checkpoint["norm.weight"]}
    for i in range(c.layers):
        meta, p = f"layers.{i}.", f"model.layers.{i}."
        hf[p + "self_attn.q_proj.weight"] = meta_to_hf(checkpoint[meta + "attention.wq.weight"], c.heads)
        hf[p + "self_attn.k_proj.weight"] = meta_to_hf(checkpoint[meta + "attention.wk.weight"], c.kv_heads)
        hf[p + "self_attn.v_proj.weight"] = checkpoint[meta + "attention.wv.weight"]
        hf[p + "self_attn.o_proj.weight"] = checkpoint[meta + "attention.wo.weight"]
        hf[p + "mlp.gate_proj.weight"] = checkpoint[meta + "feed_forward.w1.weight"]
        hf[p + "mlp.down_proj.weight"] = checkpoint[meta + "feed_forward.w2.weight"]
        hf[p + "mlp.up_proj.weight"] = checkpoint[meta + "feed_forward.w3.weight"]
        hf[p + "input_layernorm.weight"] = checkpoint[meta + "attention_norm.weight"]
        hf[p + "post_attention_layernorm.weight"] = checkpoint[meta + "ffn_norm.weight"]
    return hf


def meta_logits(checkpoint, ids):
    """llama2.c's forward pass over its own tensors: rotary on interleaved pairs as complex numbers."""
    c = CONFIG
    w = {name: t.to(torch.float64) for name, t in checkpoint.items()}
    n = len(ids)
    x = w["tok_embeddings.weight"][torch.tensor(ids)]
    freqs = 1.0 / (10000.0 ** (torch.arange(0, c.head_dim, 2, dtype=torch.float64) / c.head_dim))
    rotation = torch.polar(torch.ones(n, c.head_dim // 2, dtype=torch.float64),
                           torch.outer(torch.arange(n, dtype=torch.float64), freqs))

    def rotate(t):
        pairs = torch.view_as_complex(t.reshape(*t.shape[:-1], -1, 2).contiguous())
        return torch.view_as_real(pairs * rotation[:, None, :]).flatten(-2)

    def norm(t, weight):
        return t * torch.rsqrt(t.pow(2).mean(-1, keepdim=True) + c.eps) * weight

    causal = torch.full((n, n), float("-inf"), dtype=torch.float64).triu(1)
    for i in range(c.layers):
        p = f"layers.{i}."
        h = norm(x, w[p + "attention_norm.weight"])
        q = rotate((h @ w[p + "attention.wq.weight"].T).view(n, c.heads, c.head_dim)).transpose(0, 1)
        k = rotate((h @ w[p + "attention.wk.weight"].T).view(n, c.kv_heads, c.head_dim)).transpose(0, 1)
        v = (h @ w[p + "attention.wv.weight"].T).view(n, c.kv_heads, c.head_dim).transpose(0, 1)
        k = k.repeat_interleave(c.heads // c.kv_heads, 0)
        v = v.repeat_interleave(c.heads // c.kv_heads, 0)
        scores = q @ k.transpose(1, 2) / math.sqrt(c.head_dim) + causal
        x = x + (scores.softmax(-1) @ v).transpose(0, 1).reshape(n, c.dim) @ w[p + "attention.wo.weight"].T
        h = norm(x, w[p + "ffn_norm.weight"])
        ffn = torch.nn.functional.silu(h @ w[p + "feed_forward.w1.weight"].T) * (h @ w[p + "feed_forward.w3.weight"].T)
        x = x + ffn @ w[p + "feed_forward.w2.weight"].T
    return norm(x, w["norm.weight"]) @ w["output.weight"].T


class Stories260KTest(owftest.OwfTestCase):
    def test_llama_cpp_continues_as_the_reference(self):
        checkpoint = torch.load(CHECKPOINT, map_location="cpu", weights_only=True)
        tokenizer = train_tokenizer()
        processor = sentencepiece.SentencePieceProcessor(model_proto=tokenizer)
        self.assertEqual(processor.get_piece_size(), 512)
        vocab = Vocabulary.from_sentencepiece(processor)

        folder = self.tmp / "stories260K"
        weights = hfmodel.make_folder(folder, CONFIG, hf_tensors(checkpoint), torch.bfloat16, 1, {
            "tokenizer.model": tokenizer, "tokenizer_config.json": json.dumps(SPM_CONFIG)})
        prompt_ids = [CONFIG.bos] + processor.encode(PROMPT)
        # The HF folder is the llama2.c model: same logits at every position.
        torch.testing.assert_close(hfmodel.logits(CONFIG, weights, prompt_ids), meta_logits(checkpoint, prompt_ids),
                                   rtol=1e-9, atol=1e-9)
        # llama.cpp ignores end-of-generation tokens here; so does the reference.
        continuation, margins = hfmodel.greedy(CONFIG, weights, prompt_ids, STEPS, banned=[CONFIG.eos])

        ggufs = {}
        for dtype in ("f32", "f16", "q8_0"):
            ggufs[dtype] = self.tmp / f"stories260K-{dtype}.gguf"
            run_owf("convert", folder, ggufs[dtype], "--dtype", dtype, check=0)
        answers = node("run_llama.mjs", {"runs": [
            {"model": str(path), "prompt": PROMPT, "n_predict": STEPS, "cache_type": "f32"} for path in ggufs.values()]})
        for dtype, answer in zip(ggufs, answers["runs"]):
            with self.subTest(dtype=dtype):
                self.assertEqual(answer["tokens"], prompt_ids[1:])
                self.assertEqual(answer["evaluated"] - (STEPS - 1), len(prompt_ids))
                pieces = [step["content"] for step in answer["steps"]]
                if dtype == "q8_0":
                    chosen = [vocab.pieces.index(piece) for piece in pieces]
                    figure = hfmodel.agreement(CONFIG, weights, prompt_ids, chosen, banned=[CONFIG.eos])
                    print(f"stories260K q8_0: top-1 agreement {figure:.0%} over {STEPS} steps (reported only)")
                else:
                    self.assertEqual(pieces, [vocab.pieces[i] for i in continuation],
                                     f"smallest reference margin {min(margins):.3f}")


if __name__ == "__main__":
    unittest.main()
