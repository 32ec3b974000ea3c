"""owf over HTTP: Debian's nginx on a loopback port serves corpus files (and .owf files made from
them); every read command gives over a URL what it gives for the local file, within the request
budget of issue 12 (counted in nginx's access log). Faults come from a small http.server."""
import http.server
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import json
import re
import unittest

import numpy

from owftest import CORPUS, OwfTestCase, content_digest, run_owf, write_safetensors

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
FILES = [
    "safetensors/silero_vad_16k.safetensors",
    "safetensors/ollama-discollama-adapters.safetensors",
    "gguf/ggml-mnist-fc-f32.gguf",
    "gguf/ollama-llama-2-tiny-random.gguf",
    "npy/g2p_en-enc_w_hh.npy",
    "npz/g2p_en-checkpoint20.npz",
    "owf/silero.owf",
    "owf/silero-zstd.owf",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def without_file_line(text):
    return [line for line in text.splitlines() if not line.startswith("file:")]


class NginxTest(OwfTestCase):
    @classmethod
    def setUpClass(cls):
        cls._dir = tempfile.TemporaryDirectory()
        cls.root = pathlib.Path(cls._dir.name) / "www"
        for name in FILES:
            (cls.root / name).parent.mkdir(parents=True, exist_ok=True)
            if not name.startswith("owf/"):
                shutil.copy(CORPUS / name, cls.root / name)
        source = CORPUS / "safetensors/silero_vad_16k.safetensors"
        run_owf("convert", source, cls.root / "owf/silero.owf", check=0)
        run_owf("convert", "--compress", source, cls.root / "owf/silero-zstd.owf", check=0)
        cls.log = pathlib.Path(cls._dir.name) / "access.log"
        cls.port = free_port()
        conf = pathlib.Path(cls._dir.name) / "nginx.conf"
        temp = pathlib.Path(cls._dir.name)
        conf.write_text(f"""daemon off;
pid {temp}/nginx.pid;
error_log {temp}/error.log;
events {{}}
http {{
  access_log {cls.log};
  client_body_temp_path {temp}; proxy_temp_path {temp}; fastcgi_temp_path {temp};
  uwsgi_temp_path {temp}; scgi_temp_path {temp};
  server {{ listen 127.0.0.1:{cls.port}; root {cls.root}; }}
}}
""")
        cls.nginx = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(temp)], stderr=subprocess.PIPE)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", cls.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        cls.nginx.terminate()
        cls.nginx.wait(timeout=10)
        cls._dir.cleanup()

    def url(self, name):
        return f"http://127.0.0.1:{self.port}/{name}"

    def requests(self, *args):
        """Runs owf and returns (result, the requests nginx logged for it)."""
        before = self.log.read_text().count("\n") if self.log.exists() else 0
        result = run_owf(*args)
        time.sleep(0.05)  # nginx writes its log line after the response
        return result, self.log.read_text().count("\n") - before

    def test_read_commands_match_local_files(self):
        for name in FILES:
            with self.subTest(name):
                url, local = self.url(name), self.root / name
                remote_inspect = run_owf("inspect", url, check=0).stdout
                self.assertEqual(without_file_line(remote_inspect), without_file_line(
                    run_owf("inspect", local, check=0).stdout))
                remote_hash = run_owf("hash", "--tensors", url, check=0).stdout.replace(url, "F")
                self.assertEqual(remote_hash, run_owf("hash", "--tensors", local, check=0).stdout.replace(str(local), "F"))
                run_owf("diff", url, local, check=0)
                run_owf("verify", url, check=0)
                out = self.tmp / (pathlib.Path(name).stem + ".owf")
                run_owf("convert", url, out, check=0)
                self.assertEqual(run_owf("hash", out, check=0).stdout.split()[0],
                                 run_owf("hash", url, check=0).stdout.split()[0])
                self.assertEqual(run_owf("diff", out, local, check=0).returncode, 0)

    def test_inspect_budget(self):
        for name in ("safetensors/silero_vad_16k.safetensors", "owf/silero.owf"):
            result, requests = self.requests("inspect", self.url(name))
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertLessEqual(requests, 2, name)
        # GGUF: the metadata of these files is under 2 MiB, so at most one more than the others.
        result, requests = self.requests("inspect", self.url("gguf/ollama-llama-2-tiny-random.gguf"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertLessEqual(requests, 3)

    def test_verbose_counts_requests_and_bytes(self):
        result, requests = self.requests("-v", "inspect", self.url("safetensors/silero_vad_16k.safetensors"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"HTTP: {requests} requests (0 retried)", result.stderr)
        self.assertIn("bytes fetched", result.stderr)

    def test_provenance_records_url_without_credentials_or_query(self):
        url = f"http://user:secret@127.0.0.1:{self.port}/safetensors/silero_vad_16k.safetensors?token=abc"
        out = self.tmp / "out.owf"
        run_owf("--header", "Authorization: Bearer hidden", "convert", url, out, check=0)
        metadata = run_owf("meta", "get", out, "provenance", check=0).stdout
        self.assertIn(f"http://127.0.0.1:{self.port}/safetensors/silero_vad_16k.safetensors", metadata)
        for secret in ("secret", "token", "abc", "hidden"):
            self.assertNotIn(secret, metadata)

    def test_convert_fetches_the_input_once(self):
        # Writers take the provenance digest from the bytes they stream (OutputMetadata), so converting
        # a URL into any format fetches each byte once, not once more for the digest.
        rng = numpy.random.default_rng(7)
        tensors = {f"w{i}": rng.standard_normal((512, 1024), dtype=numpy.float32) for i in range(4)}
        source = self.root / "big" / "weights.safetensors"
        source.parent.mkdir(exist_ok=True)
        write_safetensors(source, tensors)
        size = source.stat().st_size
        for out, flags in (("once.owf", []), ("once.safetensors", ["--dtype", "f16"]), ("once.gguf", []),
                           ("shards.safetensors", ["--max-shard-size", "3MiB"])):
            with self.subTest(out):
                result = run_owf("-v", "convert", *flags, self.url("big/weights.safetensors"), self.tmp / out)
                self.assertEqual(result.returncode, 0, result.stderr)
                fetched = int(re.search(r"(\d+) bytes fetched", result.stderr).group(1))
                self.assertGreaterEqual(fetched, size)
                self.assertLess(fetched, size * 1.2)
        for out in ("once.owf", "once.safetensors", "shards.safetensors.index.json"):
            metadata = json.loads(run_owf("inspect", "--json", self.tmp / out, check=0).stdout)["metadata"]
            self.assertEqual(metadata["provenance"]["parents"][0]["digest"], content_digest(tensors), out)

    def test_missing_file_is_404(self):
        result = run_owf("inspect", self.url("nothing.safetensors"))
        self.assertRefused(result, "nothing.safetensors", "404")

    def test_malformed_header_refused_without_printing_it(self):
        result = run_owf("--header", "no colon secret", "inspect", self.url(FILES[0]))
        self.assertRefused(result, "HTTP header 1")
        self.assertNotIn("secret", result.stderr)


class FaultServer(http.server.ThreadingHTTPServer):
    """Serves `body` with range support, broken the way `mode` says."""
    daemon_threads = True

    def __init__(self, body, mode):
        super().__init__(("127.0.0.1", 0), FaultHandler)
        self.body, self.mode, self.requests = body, mode, 0


class FaultHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        server, body = self.server, self.server.body
        server.requests += 1
        mode, count = server.mode, server.requests
        if mode == "404":
            self.send_error(404)
            return
        if mode == "500-then-ok" and count == 1:
            self.send_error(500)
            return
        first, last = self.headers["Range"].removeprefix("bytes=").split("-")
        first, last = int(first), min(int(last), len(body) - 1)
        piece = body[first:last + 1]
        if mode == "ignores-range":
            self.send_response(200)
            piece = body
        else:
            self.send_response(206)
            shown_first = first + 1 if mode == "wrong-content-range" and count > 1 else first
            self.send_header("Content-Range", f"bytes {shown_first}-{last}/{len(body)}")
        etag = '"v2"' if mode == "etag-changes" and count > 1 else '"v1"'
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(piece)))
        self.end_headers()
        if mode == "cut-short" and count == 2:
            self.wfile.write(piece[:len(piece) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(piece)


class FaultTest(OwfTestCase):
    # Larger than the first request's 1 MiB, so that tensor reads need more requests.
    SOURCE = CORPUS / "safetensors/silero_vad_16k.safetensors"

    def serve(self, mode):
        server = FaultServer(self.SOURCE.read_bytes(), mode)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        return server, f"http://127.0.0.1:{server.server_address[1]}/m.safetensors"

    def convert(self, url):
        out = self.tmp / "out.owf"
        return run_owf("convert", url, out), out

    def assertRefusedWithoutOutput(self, mode, *fragments):
        _, url = self.serve(mode)
        result, out = self.convert(url)
        self.assertRefused(result, "m.safetensors", *fragments)
        self.assertFalse(out.exists())
        self.assertEqual([p for p in self.tmp.iterdir()], [])

    def test_ignores_range(self):
        self.assertRefusedWithoutOutput("ignores-range", "does not support range requests")

    def test_wrong_content_range(self):
        self.assertRefusedWithoutOutput("wrong-content-range", "wrong Content-Range")

    def test_404(self):
        self.assertRefusedWithoutOutput("404", "HTTP 404")

    def test_etag_changes(self):
        self.assertRefusedWithoutOutput("etag-changes", "changed while being read", '"v1"', '"v2"')

    def test_500_then_success(self):
        _, url = self.serve("500-then-ok")
        result, out = self.convert(url)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(run_owf("diff", out, self.SOURCE).returncode, 0)

    def test_body_cut_short_resumes(self):
        server, url = self.serve("cut-short")
        result, out = self.convert(url)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(run_owf("diff", out, self.SOURCE).returncode, 0)
        self.assertGreater(server.requests, 2)


if __name__ == "__main__":
    unittest.main()
