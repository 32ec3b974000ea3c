"""Benchmark: convert safetensors -> owf (raw) against `cp` of the same file, with peak RSS.

Builds synthetic llama-shaped safetensors models of growing size (written with numpy, not owf),
then for each size times, best of --repeat runs on a warm page cache:
  - `cp` of the file followed by `sync` of the copy (owf convert fsyncs its output before it
    renames it into place, so the fair baseline includes the flush), and `cp` alone for reference;
  - `owf convert model.safetensors model.owf` (raw encoding),
and the peak resident set size of `owf convert` (GNU time's %M). Prints a Markdown report and
writes it to --report. Timings never feed pass/fail tests; this is run by hand:

  /usr/bin/python3 bench/convert_bench.py --owf build/tools/owf
"""
import argparse
import json
import os
import pathlib
import shutil
import statistics
import struct
import subprocess
import tempfile
import time

import numpy as np

GIB = 1 << 30
MIB = 1 << 20


def write_model(path, target_bytes, hidden=2048):
    """A llama-like layout (attention + MLP matrices, norms) in f16, repeated until target_bytes."""
    layer = [("attn_q", (hidden, hidden)), ("attn_k", (hidden, hidden)), ("attn_v", (hidden, hidden)),
             ("attn_o", (hidden, hidden)), ("ffn_up", (4 * hidden, hidden)),
             ("ffn_down", (hidden, 4 * hidden)), ("attn_norm", (hidden,)), ("ffn_norm", (hidden,))]
    layer_bytes = sum(2 * int(np.prod(shape)) for _, shape in layer)
    layers = max(1, round(target_bytes / layer_bytes))
    header, offset, plan = {}, 0, []
    for index in range(layers):
        for name, shape in layer:
            size = 2 * int(np.prod(shape))
            full = f"layers.{index}.{name}.weight"
            header[full] = {"dtype": "F16", "shape": list(shape), "data_offsets": [offset, offset + size]}
            plan.append(size)
            offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    rng = np.random.default_rng(0)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text)
        for size in plan:
            out.write(rng.standard_normal(size // 2, dtype=np.float32).astype(np.float16).tobytes())
    return offset


def timed(command):
    """Wall seconds and peak RSS (KiB) of one run of `command`."""
    start = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-f", "%M", *command], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {result.stderr}")
    return elapsed, int(result.stderr.strip().splitlines()[-1])


def best_of(repeat, command, output):
    runs = []
    for _ in range(repeat):
        if output.exists():
            output.unlink()
        runs.append(timed(command))
    return min(r[0] for r in runs), max(r[1] for r in runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--owf", default="build/tools/owf")
    parser.add_argument("--sizes-gib", default="0.5,1.5,3", help="model sizes to build, in GiB")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", help="work directory (default: a temporary one beside the repo)")
    parser.add_argument("--report", default="build/bench-report.md")
    args = parser.parse_args()
    owf = str(pathlib.Path(args.owf).resolve())
    work = pathlib.Path(args.dir or tempfile.mkdtemp(prefix="owf-bench-", dir=pathlib.Path.cwd()))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for size_gib in (float(s) for s in args.sizes_gib.split(",")):
            source = work / "model.safetensors"
            data_bytes = write_model(source, int(size_gib * GIB))
            file_bytes = source.stat().st_size
            copy, converted = work / "copy.safetensors", work / "model.owf"
            subprocess.run(["cat", str(source)], stdout=subprocess.DEVNULL, check=True)  # warm the cache
            cp_sync, _ = best_of(args.repeat, ["sh", "-c", f'cp "{source}" "{copy}" && sync "{copy}"'], copy)
            cp_only, _ = best_of(args.repeat, ["cp", str(source), str(copy)], copy)
            convert, rss_kib = best_of(args.repeat, [owf, "convert", str(source), str(converted)], converted)
            rows.append((file_bytes, data_bytes, cp_sync, cp_only, convert, rss_kib))
            for path in (source, copy, converted):
                path.unlink(missing_ok=True)
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)

    lines = [
        "# convert safetensors -> owf (raw) vs cp",
        "",
        f"Machine: {os.cpu_count()} cores; best of {args.repeat} runs each, warm page cache.",
        "Speed ratio = (cp + sync) time / owf convert time (>= 1 means owf is as fast or faster).",
        "",
        "| model | cp + sync | cp alone | owf convert | ratio vs cp+sync | ratio vs cp alone | owf peak RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    for file_bytes, _, cp_sync, cp_only, convert, rss_kib in rows:
        lines.append(f"| {file_bytes / GIB:.2f} GiB | {cp_sync:.2f} s | {cp_only:.2f} s | {convert:.2f} s | "
                     f"{cp_sync / convert:.2f}x | {cp_only / convert:.2f}x | {rss_kib / 1024:.1f} MiB |")
    report = "\n".join(lines) + "\n"
    print(report)
    pathlib.Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.report).write_text(report)


if __name__ == "__main__":
    main()
