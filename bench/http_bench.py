"""Benchmark: `owf convert http://127.0.0.1:PORT/big.safetensors out.owf` against `curl -o` of the
same URL, both from Debian's nginx on a loopback port (issue 12's goal: at least 0.9x curl's speed).

Writes a synthetic gaussian f32 safetensors model (numpy, not owf) of --size-gib, serves it with
nginx (configured here, stopped at the end), and times best of --repeat runs, outputs on --out-dir
(the same filesystem for both):
  - `curl -s -o big.safetensors URL`, and the same followed by `sync` of the copy (owf fsyncs its
    output before renaming it into place, so that is the fair baseline);
  - `owf -v convert URL out.owf`, with its peak RSS (GNU time's %M) and the requests and bytes -v
    reports, and the requests nginx logged.
Prints a Markdown section (to --report too, when given). Timings never feed pass/fail tests; run by
hand, niced:

  nice -n 19 /usr/bin/python3 bench/http_bench.py --owf build/tools/owf
"""
import argparse
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import time

import numpy as np

from bench import GIB, MIB, best_of, remove, write_safetensors

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def make_model(path, size_gib):
    """Tensors of 64 MiB (as large language models' matrices are), gaussian f32."""
    rng = np.random.default_rng(12)
    piece = 16 << 20  # elements: 64 MiB
    count = max(1, round(size_gib * GIB / (piece * 4)))
    tensors = [(f"layers.{i}.weight", "F32", [piece // 4096, 4096],
                rng.standard_normal(piece, dtype=np.float32).tobytes()) for i in range(count)]
    write_safetensors(path, tensors)


def start_nginx(root, work):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = work / "nginx.conf"
    conf.write_text(f"""daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log;
events {{}}
http {{
  access_log {work}/access.log;
  client_body_temp_path {work}; proxy_temp_path {work}; fastcgi_temp_path {work};
  uwsgi_temp_path {work}; scgi_temp_path {work};
  server {{ listen 127.0.0.1:{port}; root {root}; }}
}}
""")
    nginx = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(work)], stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    return nginx, port


def log_lines(work):
    log = work / "access.log"
    return log.read_text().count("\n") if log.exists() else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--owf", default="build/tools/owf")
    parser.add_argument("--size-gib", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out-dir", default="/tmp", help="where both write their output")
    parser.add_argument("--report", help="append the Markdown section to this file")
    args = parser.parse_args()
    owf = str(pathlib.Path(args.owf).resolve())

    with tempfile.TemporaryDirectory(dir="/dev/shm") as served, \
            tempfile.TemporaryDirectory(dir=args.out_dir) as out_dir, tempfile.TemporaryDirectory() as work:
        served, out_dir, work = pathlib.Path(served), pathlib.Path(out_dir), pathlib.Path(work)
        served.chmod(0o755)  # nginx's workers run as nobody
        model = served / "big.safetensors"
        make_model(model, args.size_gib)
        size = model.stat().st_size
        nginx, port = start_nginx(served, work)
        try:
            url = f"http://127.0.0.1:{port}/big.safetensors"
            copy, converted = out_dir / "big.safetensors", out_dir / "out.owf"
            curl = ["curl", "-s", "-f", "-o", str(copy), url]
            curl_s, _ = best_of(args.repeat, curl, before=remove(copy))
            curl_sync_s, _ = best_of(args.repeat, ["sh", "-c", f'{" ".join(curl)} && sync "{copy}"'],
                                     before=remove(copy))
            remove(copy)()
            before = log_lines(work)
            convert = [owf, "-v", "convert", url, str(converted)]
            owf_s, rss_kib = best_of(args.repeat, convert, before=remove(converted))
            time.sleep(0.2)  # nginx writes its log line after the response
            logged = (log_lines(work) - before) / args.repeat
            verbose = subprocess.run(convert + ["--force"], capture_output=True, text=True, check=True).stderr
            counted = re.search(r"HTTP: (\d+) requests \((\d+) retried\), (\d+) bytes fetched", verbose)
            check = subprocess.run([owf, "diff", "-q", str(converted), str(model)])
            if check.returncode != 0:
                raise SystemExit("the converted model differs from the served one")
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)

    load = open("/proc/loadavg").read().split()[:3]
    mb = size / 1e6
    lines = [
        f"| model | curl -o | curl -o + sync | owf convert URL → .owf | ratio vs curl + sync | ratio vs curl "
        f"| owf peak RSS | requests (owf -v / nginx log) | bytes fetched |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {size / GIB:.2f} GiB f32, {size // (64 * MIB)} tensors | {curl_s:.2f} s ({mb / curl_s:.0f} MB/s) "
        f"| {curl_sync_s:.2f} s | {owf_s:.2f} s ({mb / owf_s:.0f} MB/s) | {curl_sync_s / owf_s:.2f}x "
        f"| {curl_s / owf_s:.2f}x | {rss_kib / 1024:.1f} MiB | {counted.group(1)} / {logged:.0f} "
        f"| {int(counted.group(3)) / size:.3f}× the file |",
        "",
        f"Best of {args.repeat} runs; served from /dev/shm by nginx on 127.0.0.1, outputs on {args.out_dir}; "
        f"load average {' '.join(load)} after the runs.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.report:
        with open(args.report, "a") as report:
            report.write("\n" + text + "\n")


if __name__ == "__main__":
    main()
