"""Small Hugging Face model folders for the llama.cpp tests, and the reference forward pass.

make_folder() writes what transformers' save_pretrained writes for LlamaForCausalLM,
MistralForCausalLM and Qwen2ForCausalLM: config.json, model.safetensors (or shards with
model.safetensors.index.json) and tokenizer files. forward() is a reference written here from the
HF modelling code's definition of those architectures (no transformers in Debian): RMSNorm,
rotary embedding in HF's layout (rotate_half over the two halves of each head), grouped-query
attention, SwiGLU MLP, and qwen2's q/k/v biases. It computes in float64 from the folder's own
tensors, so the only differences from llama.cpp are llama.cpp's rounding.
"""
import json
import math
import pathlib

import torch

from owftest import torch_safetensors_bytes

ARCHITECTURES = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM"}


class Config:
    def __init__(self, arch, vocab, dim, layers, heads, kv_heads, hidden, rope_theta=10000.0, eps=1e-5,
                 tied=False, context=512, bos=1, eos=2):
        self.arch, self.vocab, self.dim, self.layers = arch, vocab, dim, layers
        self.heads, self.kv_heads, self.hidden = heads, kv_heads, hidden
        self.rope_theta, self.eps, self.tied, self.context = rope_theta, eps, tied, context
        self.bos, self.eos = bos, eos
        self.head_dim = dim // heads

    def to_json(self, torch_dtype):
        config = {
            "architectures": [ARCHITECTURES[self.arch]], "model_type": self.arch,
            "vocab_size": self.vocab, "hidden_size": self.dim, "intermediate_size": self.hidden,
            "num_hidden_layers": self.layers, "num_attention_heads": self.heads,
            "num_key_value_heads": self.kv_heads, "max_position_embeddings": self.context,
            "rms_norm_eps": self.eps, "rope_theta": self.rope_theta, "hidden_act": "silu",
            "tie_word_embeddings": self.tied, "bos_token_id": self.bos, "eos_token_id": self.eos,
            "torch_dtype": {torch.float32: "float32", torch.bfloat16: "bfloat16"}[torch_dtype],
            "transformers_version": "4.44.0",
        }
        if self.arch == "mistral":
            config["sliding_window"] = None
        return config


def random_weights(config, seed, candidates):
    """HF-named tensors (float32) drawn so that each layer's output is O(1) and the logits of the
    `candidates` (token ids) spread widely. Every other token has a zero lm_head row, so it never wins
    the argmax; with tied embeddings its row is scaled down instead (it is also an input), and all
    embeddings are small next to the layers' outputs, or each token would mostly predict itself."""
    g = torch.Generator().manual_seed(seed)

    def normal(*shape, std=1.0):
        return torch.randn(*shape, generator=g, dtype=torch.float64) * std

    c = config
    kv_dim = c.kv_heads * c.head_dim
    w = {"model.embed_tokens.weight": normal(c.vocab, c.dim)}
    for i in range(c.layers):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + normal(c.dim, std=0.1)
        w[p + "self_attn.q_proj.weight"] = normal(c.dim, c.dim, std=1.5 / math.sqrt(c.dim))
        w[p + "self_attn.k_proj.weight"] = normal(kv_dim, c.dim, std=1.5 / math.sqrt(c.dim))
        w[p + "self_attn.v_proj.weight"] = normal(kv_dim, c.dim, std=1 / math.sqrt(c.dim))
        w[p + "self_attn.o_proj.weight"] = normal(c.dim, c.dim, std=1 / math.sqrt(c.dim))
        if c.arch == "qwen2":
            w[p + "self_attn.q_proj.bias"] = normal(c.dim, std=0.5)
            w[p + "self_attn.k_proj.bias"] = normal(kv_dim, std=0.5)
            w[p + "self_attn.v_proj.bias"] = normal(kv_dim, std=0.5)
        w[p + "post_attention_layernorm.weight"] = 1 + normal(c.dim, std=0.1)
        w[p + "mlp.gate_proj.weight"] = normal(c.hidden, c.dim, std=1 / math.sqrt(c.dim))
        w[p + "mlp.up_proj.weight"] = normal(c.hidden, c.dim, std=1 / math.sqrt(c.dim))
        w[p + "mlp.down_proj.weight"] = normal(c.dim, c.hidden, std=1 / math.sqrt(c.hidden))
    w["model.norm.weight"] = 1 + normal(c.dim, std=0.1)
    others = torch.ones(c.vocab, dtype=torch.bool)
    others[list(candidates)] = False
    if c.tied:
        w["model.embed_tokens.weight"] *= 0.1
        w["model.embed_tokens.weight"][others] *= 0.01
    else:
        w["lm_head.weight"] = normal(c.vocab, c.dim)
        w["lm_head.weight"][others] = 0
    return {name: t.to(torch.float32) for name, t in w.items()}


def make_folder(path, config, weights, torch_dtype, shards=1, tokenizer_files=None):
    """Writes an HF folder: config.json, weights in `torch_dtype` (one file, or `shards` files with an
    index as save_pretrained names them), and {file name: bytes or str} tokenizer files."""
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps(config.to_json(torch_dtype), indent=2))
    tensors = {name: t.to(torch_dtype) for name, t in weights.items()}
    if shards == 1:
        (path / "model.safetensors").write_bytes(torch_safetensors_bytes(tensors, {"format": "pt"}))
    else:
        names = list(tensors)
        per_shard = math.ceil(len(names) / shards)
        weight_map, total = {}, 0
        for s in range(shards):
            file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = {n: tensors[n] for n in names[s * per_shard:(s + 1) * per_shard]}
            (path / file).write_bytes(torch_safetensors_bytes(part, {"format": "pt"}))
            weight_map.update({n: file for n in part})
            total += sum(t.numel() * t.element_size() for t in part.values())
        index = {"metadata": {"total_size": total}, "weight_map": weight_map}
        (path / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))
    for name, content in (tokenizer_files or {}).items():
        target = path / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    return {name: t.to(torch.float64) for name, t in tensors.items()}


def _rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def _rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def logits(config, w, ids, last_only=False):
    """Next-token logits (float64) after every position of `ids` (or only the last), from HF-named
    float64 tensors."""
    c = config
    n = len(ids)
    x = w["model.embed_tokens.weight"][torch.tensor(ids)]
    inv_freq = 1.0 / (c.rope_theta ** (torch.arange(0, c.head_dim, 2, dtype=torch.float64) / c.head_dim))
    angles = torch.outer(torch.arange(n, dtype=torch.float64), inv_freq)
    cos = torch.cat((angles, angles), -1).cos()
    sin = torch.cat((angles, angles), -1).sin()
    causal = torch.full((n, n), float("-inf"), dtype=torch.float64).triu(1)
    group = c.heads // c.kv_heads
    for i in range(c.layers):
        p = f"model.layers.{i}."
        h = _rms_norm(x, w[p + "input_layernorm.weight"], c.eps)
        q = h @ w[p + "self_attn.q_proj.weight"].T
        k = h @ w[p + "self_attn.k_proj.weight"].T
        v = h @ w[p + "self_attn.v_proj.weight"].T
        if c.arch == "qwen2":
            q = q + w[p + "self_attn.q_proj.bias"]
            k = k + w[p + "self_attn.k_proj.bias"]
            v = v + w[p + "self_attn.v_proj.bias"]
        q = q.view(n, c.heads, c.head_dim).transpose(0, 1)
        k = k.view(n, c.kv_heads, c.head_dim).transpose(0, 1)
        v = v.view(n, c.kv_heads, c.head_dim).transpose(0, 1)
        q = q * cos + _rotate_half(q) * sin
        k = k * cos + _rotate_half(k) * sin
        k = k.repeat_interleave(group, dim=0)
        v = v.repeat_interleave(group, dim=0)
        scores = q @ k.transpose(1, 2) / math.sqrt(c.head_dim) + causal
        attended = (scores.softmax(-1) @ v).transpose(0, 1).reshape(n, c.dim)
        x = x + attended @ w[p + "self_attn.o_proj.weight"].T
        h = _rms_norm(x, w[p + "post_attention_layernorm.weight"], c.eps)
        gate = h @ w[p + "mlp.gate_proj.weight"].T
        up = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(gate) * up) @ w[p + "mlp.down_proj.weight"].T
    if last_only:
        x = x[-1:]
    x = _rms_norm(x, w["model.norm.weight"], c.eps)
    head = w["model.embed_tokens.weight"] if c.tied else w["lm_head.weight"]
    return x @ head.T


def greedy(config, w, prompt_ids, count, banned=()):
    """The greedy continuation of `prompt_ids` (`count` ids, never one of `banned`), and the margin
    between the best and second-best logit at each step."""
    ids, margins = list(prompt_ids), []
    for _ in range(count):
        last = logits(config, w, ids, last_only=True)[-1]
        if banned:
            last[list(banned)] = float("-inf")
        top = torch.topk(last, 2)
        ids.append(int(top.indices[0]))
        margins.append(float(top.values[0] - top.values[1]))
    return ids[len(prompt_ids):], margins


def agreement(config, w, prompt_ids, continuation, banned=()):
    """The fraction of steps of `continuation` (generated elsewhere from `prompt_ids`) at which the
    reference's argmax, given the same preceding ids, is the id that was generated."""
    ids = list(prompt_ids) + list(continuation)
    all_logits = logits(config, w, ids)
    if banned:
        all_logits[:, list(banned)] = float("-inf")
    predicted = all_logits[len(prompt_ids) - 1:-1].argmax(-1).tolist()
    return sum(p == t for p, t in zip(predicted, continuation)) / len(continuation)
