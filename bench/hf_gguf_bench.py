"""Benchmark: Hugging Face folder -> GGUF f16 (`owf convert DIR out.gguf --dtype f16`) against `cp` of the
weights, with peak RSS.

Builds synthetic llama folders (TinyLlama's shape: hidden 2048, MLP 5632, 32 heads on 4 KV heads,
vocab 32000; as many layers as the size needs) in bf16, sharded at 1 GiB per file as save_pretrained
does, with Llama 2's tokenizer.model from the corpus; weights are random (numpy), not written by owf.
For each size, best of --repeat runs on a warm page cache:
  - `cp` of the weight shards followed by `sync` of the copies (owf fsyncs its output before renaming
    it into place, so the fair baseline includes the flush), and `cp` alone for reference;
  - `owf convert DIR model.gguf --dtype f16`: bf16 -> f16 for every matrix (norms to f32), q/k rows
    un-permuted into llama.cpp's rotary order, tokenizer and hyperparameters into GGUF keys;
and the peak resident set size of owf (GNU time's %M). Prints a Markdown report and writes it to
--report. Timings never feed pass/fail tests; run by hand, niced:

  nice -n 19 /usr/bin/python3 bench/hf_gguf_bench.py --owf build/tools/owf [--owf another/owf]
"""
import argparse
import json
import math
import os
import pathlib
import shutil
import struct
import subprocess
import tempfile

import numpy as np

from bench import best_of, remove

GIB = 1 << 30
HIDDEN, MLP, HEADS, KV_HEADS, VOCAB = 2048, 5632, 32, 4, 32000


def layer_tensors(index):
    kv = HIDDEN // HEADS * KV_HEADS
    p = f"model.layers.{index}."
    return [(p + "self_attn.q_proj.weight", (HIDDEN, HIDDEN)), (p + "self_attn.k_proj.weight", (kv, HIDDEN)),
            (p + "self_attn.v_proj.weight", (kv, HIDDEN)), (p + "self_attn.o_proj.weight", (HIDDEN, HIDDEN)),
            (p + "mlp.gate_proj.weight", (MLP, HIDDEN)), (p + "mlp.up_proj.weight", (MLP, HIDDEN)),
            (p + "mlp.down_proj.weight", (HIDDEN, MLP)), (p + "input_layernorm.weight", (HIDDEN,)),
            (p + "post_attention_layernorm.weight", (HIDDEN,))]


def write_shard(path, tensors, rng):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in tensors:
        size = 2 * math.prod(shape)
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text)
        for _, shape in tensors:
            values = rng.standard_normal(math.prod(shape), dtype=np.float32) * 0.02
            out.write((values.view(np.uint32) >> 16).astype(np.uint16).tobytes())  # bf16 by truncation
    return offset


def write_folder(folder, target_bytes, tokenizer):
    """An HF llama folder of about target_bytes of bf16 weights; returns (weight files, layer count)."""
    layer_bytes = sum(2 * math.prod(shape) for _, shape in layer_tensors(0))
    layers = max(1, round((target_bytes - 4 * VOCAB * HIDDEN) / layer_bytes))
    tensors = [("model.embed_tokens.weight", (VOCAB, HIDDEN))]
    for index in range(layers):
        tensors += layer_tensors(index)
    tensors += [("model.norm.weight", (HIDDEN,)), ("lm_head.weight", (VOCAB, HIDDEN))]
    shards, current, size = [], [], 0
    for tensor in tensors:
        current.append(tensor)
        size += 2 * math.prod(tensor[1])
        if size >= GIB:
            shards.append(current)
            current, size = [], 0
    if current:
        shards.append(current)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    files, weight_map, total = [], {}, 0
    for number, shard in enumerate(shards, 1):
        name = f"model-{number:05d}-of-{len(shards):05d}.safetensors"
        total += write_shard(folder / name, shard, rng)
        weight_map.update({tensor: name for tensor, _ in shard})
        files.append(folder / name)
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))
    (folder / "config.json").write_text(json.dumps({
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": VOCAB, "hidden_size": HIDDEN,
        "intermediate_size": MLP, "num_hidden_layers": layers, "num_attention_heads": HEADS,
        "num_key_value_heads": KV_HEADS, "max_position_embeddings": 2048, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "hidden_act": "silu", "tie_word_embeddings": False, "bos_token_id": 1,
        "eos_token_id": 2, "torch_dtype": "bfloat16"}))
    shutil.copy(tokenizer, folder / "tokenizer.model")
    return files, layers


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--owf", action="append",
                        help="owf binary to time (repeatable: each gets a row, timed in the same run; "
                             "default build/tools/owf)")
    parser.add_argument("--sizes-gib", default="1,2", help="weight sizes to build, in GiB")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--tokenizer", default="../shared/corpus/hf/llama2-tokenizer.model")
    parser.add_argument("--dir", help="work directory (default: a temporary one beside the repo)")
    parser.add_argument("--report", default="build/bench-hf-gguf.md")
    args = parser.parse_args()
    binaries = [str(pathlib.Path(path).resolve()) for path in args.owf or ["build/tools/owf"]]
    work = pathlib.Path(args.dir or tempfile.mkdtemp(prefix="owf-bench-hf-", dir=pathlib.Path.cwd()))
    rows = []
    try:
        for size_gib in (float(s) for s in args.sizes_gib.split(",")):
            folder, copies, gguf = work / "model", work / "copies", work / "model.gguf"
            files, layers = write_folder(folder, int(size_gib * GIB), args.tokenizer)
            weight_bytes = sum(f.stat().st_size for f in files)
            subprocess.run(["cat", *map(str, files)], stdout=subprocess.DEVNULL, check=True)  # warm the cache
            copies.mkdir(exist_ok=True)
            names = " ".join(f'"{f}"' for f in files)
            copied = [copies / f.name for f in files]
            cp_sync, _ = best_of(args.repeat, ["sh", "-c", f'cp {names} "{copies}" && sync "{copies}"/*'],
                                 before=remove(*copied))
            cp_only, _ = best_of(args.repeat, ["sh", "-c", f'cp {names} "{copies}"'], before=remove(*copied))
            for owf in binaries:
                convert, rss_kib = best_of(args.repeat, [owf, "convert", str(folder), str(gguf), "--dtype", "f16"],
                                           before=remove(gguf))
                rows.append((weight_bytes, layers, cp_sync, cp_only, owf, convert, rss_kib))
            shutil.rmtree(folder)
            shutil.rmtree(copies)
            gguf.unlink()
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)

    lines = [
        "| weights (bf16) | layers | cp + sync | cp alone | owf | owf convert → GGUF f16 | ratio vs cp+sync | "
        "ratio vs cp alone | owf peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for weight_bytes, layers, cp_sync, cp_only, owf, convert, rss_kib in rows:
        lines.append(f"| {weight_bytes / GIB:.2f} GiB | {layers} | {cp_sync:.2f} s | {cp_only:.2f} s | {owf} | "
                     f"{convert:.2f} s | {cp_sync / convert:.2f}x | {cp_only / convert:.2f}x | "
                     f"{rss_kib / 1024:.1f} MiB |")
    report = "\n".join(lines) + "\n"
    print(report)
    pathlib.Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.report).write_text(report)


if __name__ == "__main__":
    main()
