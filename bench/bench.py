"""owf's benchmark suite: every row of issue 9's table, each against a peer timed in the same run.

Run through scripts/bench. Builds a Release owf, makes the inputs (synthetic gaussian f32/bf16
safetensors models, the trained float tensors of ../shared/corpus tiled to >= 400 MB as f32 and as
bf16, a model and two .npz of 65 536 tensors, owf's limit), times owf and its peers (cp, zstd, cmp,
openssl) best of --repeat runs on a warm page cache, and writes its section of bench/REPORT.md (between
the markers below, the rest of the file left as it is) with a PNG chart. Timings never feed tests.
"""
import argparse
import json
import math
import os
import pathlib
import platform
import shutil
import struct
import subprocess
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
GIB, MIB, MB = 1 << 30, 1 << 20, 1e6
# owf refuses files of more tensors, in every format (kMaxTensors in lib/include/owf/model.h, spec/owf-v1.md
# §9, spec/formats/numpy.md §6), so issue 9's 100 000-tensor file cannot be opened: the suite uses this many.
MAX_TENSORS = 65536
BEGIN = "<!-- bench.py: begin (scripts/bench replaces everything up to the end marker) -->"
END = "<!-- bench.py: end -->"


# ---- inputs

def write_safetensors(path, tensors):
    """tensors: list of (name, dtype string, shape, bytes-like). Written with numpy, not owf."""
    header, offset = {}, 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text)
        for *_, data in tensors:
            out.write(data)


def to_bf16(f32):
    bits = f32.view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def gaussian_model(path, size, dtype, seed):
    """Llama-like 4096x4096 (f32: 64 MiB, bf16: 32 MiB) matrices of N(0, 0.02) until `size` bytes."""
    element = 4 if dtype == "F32" else 2
    rng = np.random.default_rng(seed)
    count = max(1, round(size / (4096 * 4096 * element)))
    header, offset = {}, 0
    for i in range(count):
        n = 4096 * 4096 * element
        header[f"layers.{i}.weight"] = {"dtype": dtype, "shape": [4096, 4096], "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text)
        for _ in range(count):
            values = rng.standard_normal(4096 * 4096, dtype=np.float32) * np.float32(0.02)
            out.write((values if dtype == "F32" else to_bf16(values)).tobytes())


def corpus_floats(owf, work, corpus):
    """Every float tensor of the corpus's trained models, as float32 arrays (read through owf)."""
    files = ["safetensors/silero_vad_16k.safetensors", "safetensors/ollama-discollama-adapters.safetensors",
             "pytorch/ggml-mnist_model.state_dict", "pytorch/stories260K-bf16.pt", "pytorch/facenet-mtcnn-pnet.pt",
             "pytorch/facenet-mtcnn-rnet.pt", "pytorch/facenet-mtcnn-onet.pt", "npz/g2p_en-checkpoint20.npz",
             "onnx/silero_vad_16k_op15.onnx", "gguf/ggml-mnist-fc-f32.gguf"]
    arrays, seen = [], set()
    for name in files:
        out = work / "corpus.safetensors"
        subprocess.run([owf, "--quiet", "convert", "--force", str(corpus / name), str(out)], check=True,
                       capture_output=True)
        blob = out.read_bytes()
        n = struct.unpack("<Q", blob[:8])[0]
        for key, entry in json.loads(blob[8:8 + n]).items():
            if key == "__metadata__" or entry["dtype"] not in ("F32", "BF16", "F16", "F64"):
                continue
            start, end = entry["data_offsets"]
            raw = blob[8 + n + start:8 + n + end]
            if not raw or raw in seen:  # stories260K shares one storage between two tensors
                continue
            seen.add(raw)
            if entry["dtype"] == "BF16":
                values = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
            else:
                values = np.frombuffer(raw, {"F32": np.float32, "F16": np.float16, "F64": np.float64}[entry["dtype"]])
            arrays.append(values.astype(np.float32))
        out.unlink()
    return arrays


def trained_models(arrays, work, target):
    """The corpus tensors tiled to >= target bytes, as f32 and bf16 safetensors. Each tile flips the
    lowest mantissa bits (bf16: 1, f32: 8) at random, so no tile repeats another (as in a real model,
    whose layers differ) while the statistics that matter for compression stay those of trained weights."""
    rng = np.random.default_rng(7)
    paths = {}
    for dtype, bits in (("F32", 8), ("BF16", 1)):
        base = [a.view(np.uint32) if dtype == "F32" else to_bf16(a) for a in arrays]
        tile_bytes = sum(b.nbytes for b in base)
        tensors = []
        for t in range(math.ceil(target / tile_bytes)):
            for i, b in enumerate(base):
                noise = rng.integers(0, 1 << bits, b.size, dtype=b.dtype)
                tensors.append((f"tile{t}.t{i}", dtype, [b.size], (b ^ noise).tobytes()))
        paths[dtype] = work / f"trained-{dtype.lower()}.safetensors"
        write_safetensors(paths[dtype], tensors)
    return paths, sum(a.size for a in arrays)


def many_tensors(path, count):
    write_safetensors(path, [(f"blk.{i}.w", "F32", [4], np.full(4, i, np.float32).tobytes()) for i in range(count)])


def many_npz_pair(a, b, count):
    """Two .npz of `count` small tensors, equal but for one."""
    arrays = {f"blk.{i}.w": np.full(4, i, np.float32) for i in range(count)}
    np.savez(a, **arrays)
    arrays["blk.7.w"] = np.full(4, -1, np.float32)
    np.savez(b, **arrays)


# ---- timing

def run(command, **kwargs):
    """Peak RSS (KiB) of one run; exit status 1 is fine for comparisons (they differ)."""
    result = subprocess.run(["/usr/bin/time", "-f", "%M", *command], stderr=subprocess.PIPE, **kwargs)
    compares = "diff" in map(str, command) or command[0] == "cmp"
    if result.returncode != 0 and not (compares and result.returncode == 1):
        raise SystemExit(f"{' '.join(map(str, command))} failed ({result.returncode}): {result.stderr[-2000:]}")
    return int(result.stderr.decode().strip().splitlines()[-1])


def best_of(repeat, command, before=None, stdout=None):
    """(best wall seconds, peak RSS in KiB) of `repeat` runs; `before` runs untimed before each."""
    best, rss = math.inf, 0
    for _ in range(repeat):
        if before:
            before()
        with open(stdout, "wb") if stdout else open(os.devnull, "wb") as out:
            start = time.perf_counter()
            kib = run(command, stdout=out)
            best = min(best, time.perf_counter() - start)
        rss = max(rss, kib)
    return best, rss


def remove(*paths):
    def go():
        for p in paths:
            pathlib.Path(p).unlink(missing_ok=True)
    return go


def warm(path):
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)


# ---- the suite

class Suite:
    def __init__(self, args, owf, work, disk):
        self.args, self.owf, self.work, self.disk = args, owf, work, disk
        self.rows, self.chart, self.notes = [], [], []

    def owf_cmd(self, *a, threads=None):
        return [self.owf, "--quiet"] + (["--threads", str(threads)] if threads else []) + [str(x) for x in a]

    def row(self, work, owf_text, peer_text, ratio, goal, rss_kib, peer_rss_kib=None):
        self.rows.append((work, owf_text, peer_text, ratio, goal, rss_kib, peer_rss_kib))
        print(f"  {work}: owf {owf_text}, peer {peer_text}, {ratio}", flush=True)

    def convert_rows(self, source, label, size_label, chart):
        r = self.args.repeat
        out, copy = self.work / "out.owf", self.work / "copy.safetensors"
        warm(source)
        size = source.stat().st_size
        cp, cp_rss = best_of(r, ["cp", source, copy], remove(copy))
        owf, rss = best_of(r, self.owf_cmd("convert", source, out), remove(out))
        self.row(f"safetensors → owf raw, {label} {size_label} (tmpfs)", f"{size / owf / MB:.0f} MB/s",
                 f"cp {size / cp / MB:.0f} MB/s", f"{cp / owf:.2f}× cp", "≥ 0.85×", rss, cp_rss)
        if chart is not None:
            chart.setdefault("owf convert", []).append((size / GIB, size / owf / MB))
            chart.setdefault("cp", []).append((size / GIB, size / cp / MB))
        remove(out, copy)()
        return size

    def codec_rows(self, source, label, chart=None, threads_row=False, ratio_rows=False):
        r = self.args.repeat
        packed, zst, back, unz = (self.work / n for n in ("c.owf", "c.zst", "back.safetensors", "back.raw"))
        warm(source)
        size = source.stat().st_size
        zstd_c, zstd_rss = best_of(r, ["zstd", "-q", "-f", "-3", "-T1", source, "-o", zst])
        owf_c, rss = best_of(r, self.owf_cmd("convert", "--compress", source, packed, threads=1), remove(packed))
        self.row(f"`--compress` {label}, 1 thread", f"{size / owf_c / MB:.0f} MB/s",
                 f"zstd -3 -T1 {size / zstd_c / MB:.0f} MB/s", f"{zstd_c / owf_c:.2f}× zstd -3", "≥ 1.5×", rss,
                 zstd_rss)
        zstd_d, zstd_d_rss = best_of(r, ["zstd", "-q", "-f", "-d", zst, "-o", unz])
        owf_d, d_rss = best_of(r, self.owf_cmd("convert", packed, back, threads=1), remove(back))
        self.row(f"decode {label} (.owf → .safetensors), 1 thread", f"{size / owf_d / MB:.0f} MB/s",
                 f"zstd -d {size / zstd_d / MB:.0f} MB/s", f"{zstd_d / owf_d:.2f}× zstd -d", "≥ 2×", d_rss,
                 zstd_d_rss)
        if threads_row:
            owf_c2, rss2 = best_of(r, self.owf_cmd("convert", "--compress", source, packed, threads=2), remove(packed))
            self.row(f"`--compress` {label}, 2 threads vs 1", f"{size / owf_c2 / MB:.0f} MB/s",
                     f"owf 1 thread {size / owf_c / MB:.0f} MB/s", f"{owf_c / owf_c2:.2f}×", "≥ 1.7×", rss2)
            owf_d2, _ = best_of(r, self.owf_cmd("convert", packed, back, threads=2), remove(back))
            self.notes.append(f"Decode of {label} with 2 threads: {size / owf_d2 / MB:.0f} MB/s "
                              f"({owf_d / owf_d2:.2f}× one thread).")
        if ratio_rows:
            ratio = packed.stat().st_size / size
            zratio = zst.stat().st_size / size
            self.row(f"compressed size, {label}", f"{ratio:.3f}", f"zstd -3 {zratio:.3f}",
                     f"{ratio / zratio:.2f}× zstd -3's size", "≤ 0.70 (bf16) / ≤ 0.845 (f32)", rss)
        if chart is not None:
            gib = size / GIB
            for name, seconds in (("owf --compress (1 thread)", owf_c), ("zstd -3 -T1", zstd_c),
                                  ("owf decode (1 thread)", owf_d), ("zstd -d", zstd_d)):
                chart.setdefault(name, []).append((gib, size / seconds / MB))
        remove(packed, zst, back, unz)()
        return owf_c, zstd_c

    def run_all(self):
        a = self.args
        owf = self.owf
        chart = {}
        sizes = [float(s) for s in a.sizes_gib.split(",")]
        mid = sizes[len(sizes) // 2]
        # Synthetic gaussian models: convert and codec by size.
        for dtype in ("F32", "BF16"):
            for gib in sizes:
                source = self.work / f"gauss-{dtype.lower()}.safetensors"
                print(f"gaussian {dtype} {gib} GiB", flush=True)
                gaussian_model(source, int(gib * GIB), dtype, seed=1)
                self.convert_rows(source, f"gaussian {dtype.lower()}", f"{gib:g} GiB",
                                  chart.setdefault(f"convert {dtype.lower()}", {}))
                self.codec_rows(source, f"gaussian {dtype.lower()} {gib:g} GiB",
                                chart=chart.setdefault(f"codec {dtype.lower()}", {}))
                if dtype == "F32" and gib == mid:
                    self.disk_and_whole_file_rows(source, gib)
                source.unlink()
        # Trained weights.
        print("trained weights", flush=True)
        arrays = corpus_floats(owf, self.work, pathlib.Path(a.corpus))
        paths, elements = trained_models(arrays, self.work, a.trained_mb * MB)
        self.notes.append(f"Trained weights: {len(arrays)} distinct float tensors ({elements} elements) of the "
                          f"corpus, tiled to {paths['F32'].stat().st_size / MB:.0f} MB (f32) and "
                          f"{paths['BF16'].stat().st_size / MB:.0f} MB (bf16).")
        self.codec_rows(paths["BF16"], "trained bf16", threads_row=True, ratio_rows=True)
        self.codec_rows(paths["F32"], "trained f32", ratio_rows=True)
        self.zstd19_row(paths["F32"])
        for p in paths.values():
            p.unlink()
        self.many_tensor_rows()
        return chart

    def disk_and_whole_file_rows(self, source, gib):
        r = self.args.repeat
        size = source.stat().st_size
        # To disk: owf fsyncs its output, so the peer is cp followed by sync of the copy.
        if self.disk:
            out, copy = self.disk / "out.owf", self.disk / "copy.safetensors"
            cp, cp_rss = best_of(r, ["sh", "-c", f'cp "{source}" "{copy}" && sync "{copy}"'], remove(copy))
            owf, rss = best_of(r, self.owf_cmd("convert", source, out), remove(out))
            self.row(f"safetensors → owf raw, {gib:g} GiB, to disk ({self.disk})", f"{size / owf / MB:.0f} MB/s",
                     f"cp && sync {size / cp / MB:.0f} MB/s", f"{cp / owf:.2f}× cp+sync", "≥ 0.95×", rss, cp_rss)
            remove(out, copy)()
        # diff -q of two equal files, hash.
        a_owf, b_owf = self.work / "a.owf", self.work / "b.owf"
        subprocess.run(self.owf_cmd("convert", source, a_owf), check=True)
        shutil.copyfile(a_owf, b_owf)
        warm(a_owf), warm(b_owf)
        cmp, cmp_rss = best_of(r, ["cmp", a_owf, b_owf])
        diff, rss = best_of(r, self.owf_cmd("diff", "-q", a_owf, b_owf))
        self.row(f"`owf diff -q` of two equal {gib:g} GiB files", f"{size / diff / MB:.0f} MB/s",
                 f"cmp {size / cmp / MB:.0f} MB/s", f"{cmp / diff:.2f}× cmp", "≥ 0.67×", rss, cmp_rss)
        sha, sha_rss = best_of(r, ["openssl", "dgst", "-sha256", a_owf])
        hashed, rss = best_of(r, self.owf_cmd("hash", a_owf))
        self.row(f"`owf hash` of {gib:g} GiB", f"{size / hashed / MB:.0f} MB/s",
                 f"openssl dgst -sha256 {size / sha / MB:.0f} MB/s", f"{sha / hashed:.2f}× openssl", "≥ 1.5×", rss,
                 sha_rss)
        # diff with every element different (statistics computed): a second model of another seed.
        other = self.work / "other.safetensors"
        gaussian_model(other, int(min(gib, 0.5) * GIB), "F32", seed=2)
        first = self.work / "first.safetensors"
        gaussian_model(first, int(min(gib, 0.5) * GIB), "F32", seed=1)
        n = first.stat().st_size
        diff_all, rss = best_of(r, self.owf_cmd("diff", "--ignore-metadata", first, other))
        cmp_all, cmp_rss = best_of(r, ["cmp", "-s", first, other])
        self.row(f"`owf diff` with every element different, {n / GIB:.2f} GiB f32 (statistics)",
                 f"{n / diff_all / MB:.0f} MB/s", f"cmp -s {n / cmp_all / MB:.0f} MB/s (stops at the first byte)",
                 f"{n / diff_all / MB / 300:.2f}× the 300 MB/s goal", "≥ 300 MB/s", rss, cmp_rss)
        remove(a_owf, b_owf, other, first)()

    def zstd19_row(self, f32):
        # zstd -19 is the slow, strong peer for the f32 ratio: run on the first 100 MB (the tiles are
        # alike, so the ratio carries over) with every core (its size does not depend on -T).
        prefix, zst, packed = self.work / "prefix.raw", self.work / "t.zst", self.work / "t.owf"
        with open(f32, "rb") as src:
            prefix.write_bytes(src.read(100_000_000))
        subprocess.run(["zstd", "-q", "-f", "-19", "-T0", str(prefix), "-o", str(zst)], check=True)
        subprocess.run(self.owf_cmd("convert", "--compress", f32, packed), check=True)
        size = f32.stat().st_size
        ours, theirs = packed.stat().st_size / size, zst.stat().st_size / prefix.stat().st_size
        self.row("compressed size, trained f32 vs zstd -19 (zstd on the first 100 MB)", f"{ours:.3f}",
                 f"zstd -19 {theirs:.3f}", f"{ours / theirs:.2f}× zstd -19's size", "≤ 0.845", 0)
        remove(prefix, zst, packed)()

    def many_tensor_rows(self):
        r = self.args.repeat
        count = self.args.many
        st, owf_file = self.work / "many.safetensors", self.work / "many.owf"
        many_tensors(st, count)
        subprocess.run(self.owf_cmd("convert", st, owf_file), check=True)
        t_st, rss_st = best_of(r, self.owf_cmd("inspect", st))
        t_owf, rss = best_of(r, self.owf_cmd("inspect", owf_file))
        self.row(f"open + list of {count} tensors (`owf inspect`)", f".owf {t_owf:.2f} s",
                 f".safetensors {t_st:.2f} s", f"{t_st / t_owf:.2f}× faster", "≥ 3×", rss, rss_st)
        # Linear in the tensor count: the diff of half as many tensors, timed alike, takes half the time.
        npz_a, npz_b = self.work / "many_a.npz", self.work / "many_b.npz"
        times = {}
        for n in (count // 2, count):
            many_npz_pair(npz_a, npz_b, n)
            times[n], rss = best_of(1, self.owf_cmd("diff", "--ignore-metadata", npz_a, npz_b))
        cmp_t, cmp_rss = best_of(1, ["cmp", "-s", npz_a, npz_b])
        self.row(f"`owf diff` of two {count}-tensor .npz (one tensor differs)", f"{times[count]:.2f} s",
                 f"cmp -s {cmp_t:.3f} s", f"{times[count] / times[count // 2]:.2f}× the time of {count // 2} "
                 "tensors (linear: 2×)", "seconds, linear", rss, cmp_rss)
        remove(st, owf_file, npz_a, npz_b)()


def draw_chart(chart, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = [k for k in chart if chart[k]]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        for name, points in chart[panel].items():
            xs, ys = zip(*points)
            ax.plot(xs, ys, marker="o", linestyle="--" if not name.startswith("owf") else "-", label=name)
        ax.set_title(panel)
        ax.set_xlabel("model size (GiB)")
        ax.set_ylabel("MB/s")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def build_owf():
    build = ROOT / "build" / "bench-release"
    subprocess.run(["cmake", "-S", ROOT, "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release"], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", build, "--target", "owf_cli", "-j", str(os.cpu_count())], check=True,
                   stdout=subprocess.DEVNULL)
    return str(build / "tools" / "owf")


def pick_work_dir(needed):
    shm = pathlib.Path("/dev/shm")
    if shm.is_dir() and shutil.disk_usage(shm).free > needed:
        return shm / "owf-bench", "tmpfs /dev/shm"
    return pathlib.Path("/tmp/owf-bench"), "/tmp (disk; /dev/shm had less than " + f"{needed / GIB:.0f} GiB free)"


def replace_section(path, section):
    """Writes `section` between BEGIN and END in `path`, every byte outside them kept; appended when the
    markers are absent."""
    text = path.read_text() if path.exists() else ""
    block = f"{BEGIN}\n{section}{END}\n"
    start, end = text.find(BEGIN), text.find(END)
    if start >= 0 and end > start:
        text = text[:start] + block + text[end + len(END):].removeprefix("\n")
    else:
        text += ("" if not text else "\n" if text.endswith("\n") else "\n\n") + block
    path.write_text(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--owf", help="an owf binary (default: build a Release one in build/bench-release)")
    parser.add_argument("--sizes-gib", default="0.5,1.5,3")
    parser.add_argument("--trained-mb", type=float, default=400)
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"),
                        help="the corpus of trained models (default: ../shared/corpus of the checkout)")
    parser.add_argument("--many", type=int, default=MAX_TENSORS, help=f"at most {MAX_TENSORS} (owf's limit)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--disk-dir", default="/tmp/owf-bench-disk", help="for the to-disk row ('' to skip)")
    parser.add_argument("--report", default=str(ROOT / "bench" / "REPORT.md"))
    args = parser.parse_args()
    if not 2 <= args.many <= MAX_TENSORS:
        parser.error(f"--many {args.many}: owf opens files of 2 to {MAX_TENSORS} tensors here")
    owf = args.owf or build_owf()
    biggest = max(float(s) for s in args.sizes_gib.split(",")) * GIB
    work, where = pick_work_dir(3.5 * biggest)
    work.mkdir(parents=True, exist_ok=True)
    disk = pathlib.Path(args.disk_dir) if args.disk_dir else None
    if disk:
        disk.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    try:
        suite = Suite(args, owf, work, disk)
        chart = suite.run_all()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if disk:
            shutil.rmtree(disk, ignore_errors=True)
    report = pathlib.Path(args.report)
    report.parent.mkdir(parents=True, exist_ok=True)
    chart_path = report.with_name("throughput.png")
    draw_chart(chart, chart_path)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    binary = f"owf binary {owf}" if args.owf else "Release build"
    lines = [
        "# owf benchmark suite (scripts/bench, issue 9)",
        "",
        f"Written by `scripts/bench` on {started}: {os.cpu_count()} cores ({cpu}), Linux {platform.release()}, "
        f"{binary}. Files on {where}, page cache warm; each figure is the best of {args.repeat} runs "
        f"(the {args.many}-tensor diffs: one run). Every peer was timed in the same run as owf. "
        "Peak RSS from GNU time.",
        "",
        "| work | owf | peer (same run) | ratio | goal | owf peak RSS | peer peak RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    for work_, owf_t, peer_t, ratio, goal, rss, peer_rss in suite.rows:
        lines.append(f"| {work_} | {owf_t} | {peer_t} | {ratio} | {goal} | {rss / 1024:.0f} MiB | "
                     f"{'' if peer_rss is None else f'{peer_rss / 1024:.0f} MiB'} |")
    lines += ["", "![throughput by size](throughput.png)", ""]
    lines += [f"- {n}" for n in suite.notes]
    notes_file = ROOT / "bench" / "NOTES.md"
    if notes_file.exists():
        lines += ["", notes_file.read_text().rstrip()]
    section = "\n".join(lines) + "\n"
    replace_section(report, section)
    print(section)


if __name__ == "__main__":
    main()
