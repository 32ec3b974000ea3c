"""Benchmark (not a test): loading every tensor of a >= 1 GiB model into NumPy with owf.load_file,
against np.load(mmap_mode="r") of the same weights as .npy files (one per tensor) and torch.load of
the same weights as a .pt file. Each figure is the best of --runs runs, each in a fresh interpreter,
with the files in the page cache; timed from just before the load call, so imports do not count.

Two figures per reader: "load" (every tensor is an array; mapped readers touch no data yet) and
"load + read" (then every byte is summed, so each reader has really delivered the weights).

    PYTHONPATH=build/python nice /usr/bin/python3 bench/load_bench.py --dir /tmp/bench --size-gib 1.5
"""
import argparse
import json
import pathlib
import shutil
import subprocess
import sys
import textwrap

import numpy as np

LOADERS = {
    "owf": "import owf\ntensors = owf.load_file(PATH / 'model.owf')",
    "owf (zstd)": "import owf\ntensors = owf.load_file(PATH / 'model-zstd.owf')",
    "numpy mmap": "import numpy as np\n"
                  "tensors = {p.stem: np.load(p, mmap_mode='r') for p in sorted((PATH / 'npy').iterdir())}",
    "torch": "import torch\ntensors = {k: v.numpy() for k, v in torch.load(PATH / 'model.pt').items()}",
}

RUNNER = textwrap.dedent("""
    import json, pathlib, sys, time
    import numpy as np
    PATH = pathlib.Path(sys.argv[1])
    start = time.perf_counter()
    exec(sys.argv[2])
    loaded = time.perf_counter()
    total = sum(float(np.asarray(t).sum(dtype=np.float64)) for t in tensors.values())
    done = time.perf_counter()
    print(json.dumps({"load": loaded - start, "read": done - start, "count": len(tensors), "sum": total}))
""")


def make_model(directory, size_gib):
    """Writes the same weights as model.owf, model-zstd.owf, npy/<name>.npy and model.pt."""
    import owf
    import torch
    rng = np.random.default_rng(0)
    tensor_elements = 4096 * 4096  # 64 MiB of float32 each
    count = max(1, round(size_gib * (1 << 30) / (4 * tensor_elements)))
    # Weights of a trained model are not random bytes: small values that compress a little.
    tensors = {f"blk.{i}.weight": (rng.standard_normal((4096, 4096), dtype=np.float32) * 0.02)
               for i in range(count)}
    owf.save_file(tensors, directory / "model.owf")
    owf.save_file(tensors, directory / "model-zstd.owf", compress=True)
    (directory / "npy").mkdir()
    for name, value in tensors.items():
        np.save(directory / "npy" / f"{name}.npy", value)
    torch.save({name: torch.from_numpy(value) for name, value in tensors.items()}, directory / "model.pt")
    return sum(value.nbytes for value in tensors.values()), count


def measure(directory, code, runs):
    best = None
    for _ in range(runs):
        result = subprocess.run([sys.executable, "-c", RUNNER, str(directory), code], capture_output=True,
                                text=True, check=True)
        figures = json.loads(result.stdout)
        best = figures if best is None else {k: min(best[k], figures[k]) if k in ("load", "read") else figures[k]
                                             for k in figures}
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=pathlib.Path, required=True, help="scratch directory (deleted after)")
    parser.add_argument("--size-gib", type=float, default=1.5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=False)
    try:
        nbytes, count = make_model(args.dir, args.size_gib)
        results = {name: measure(args.dir, code, args.runs) for name, code in LOADERS.items()}
    finally:
        shutil.rmtree(args.dir)
    sums = {round(r["sum"], 3) for r in results.values()}
    if len(sums) != 1:
        sys.exit(f"load_bench: the readers disagree on the weights: {results}")
    owf_figures = results["owf"]
    print(f"{count} float32 tensors, {nbytes / (1 << 30):.2f} GiB; best of {args.runs} runs, warm page cache\n")
    print("| reader | load | load + read | load, ÷ owf's | load + read, ÷ owf's |")
    print("|---|---|---|---|---|")
    for name, figures in results.items():
        print(f"| {name} | {figures['load'] * 1000:.1f} ms | {figures['read'] * 1000:.0f} ms "
              f"| {figures['load'] / owf_figures['load']:.2f}x | {figures['read'] / owf_figures['read']:.2f}x |")


if __name__ == "__main__":
    main()
