"""owf over HTTP: Debian's nginx on a loopback port serves corpus files (and .owf files made from
them); every read command, the C API (examples/c/owf_list.c) and the Python module give over a URL
what they give for the local file, within the request budget of issue 12 (counted in nginx's access
log). Faults come from a small http.server."""
import contextlib
import http.server
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import numpy

from owftest import CORPUS, OwfTestCase, content_digest, read_safetensors, run_owf, write_safetensors

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
OWF_LIST = os.environ.get("OWF_LIST")  # set by ctest when the C example is built
FILES = [
    "safetensors/silero_vad_16k.safetensors",
    "safetensors/ollama-discollama-adapters.safetensors",
    "gguf/ggml-mnist-fc-f32.gguf",
    "gguf/ollama-llama-2-tiny-random.gguf",
    "npy/g2p_en-enc_w_hh.npy",
    "npz/g2p_en-checkpoint20.npz",
    "pytorch/stories260K-bf16.pt",
    "pytorch/ggml-mnist_model.state_dict",
    "pytorch/facenet-mtcnn-pnet.pt",  # legacy torch.save: fetched whole
    "onnx/silero_vad_16k_op15.onnx",
    "onnx/external/silero.onnx",  # its initializers in silero.onnx.data beside it
    "hf/single/",  # config.json and model.safetensors
    "hf/sharded/",  # config.json, model.safetensors.index.json and two shards
    "owf/silero.owf",
    "owf/silero-zstd.owf",
]
# The files a Hugging Face folder may carry besides config.json (format/hf/hf_folder.h), each one
# request of a folder URL even when absent.
HF_CARRIED_OTHERS = 5


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
            if (CORPUS / name).is_file():
                shutil.copy(CORPUS / name, cls.root / name)
        source = CORPUS / "safetensors/silero_vad_16k.safetensors"
        run_owf("convert", source, cls.root / "owf/silero.owf", check=0)
        run_owf("convert", "--compress", source, cls.root / "owf/silero-zstd.owf", check=0)
        cls.make_large_zips(cls.root / "large")
        cls.make_external_onnx(cls.root / "onnx/external")
        cls.make_hf_folders(cls.root / "hf")
        cls.make_far_tables(cls.root / "owf")
        cls.log = pathlib.Path(cls._dir.name) / "access.log"
        cls.port = free_port()
        conf = pathlib.Path(cls._dir.name) / "nginx.conf"
        temp = pathlib.Path(cls._dir.name)
        conf.write_text(f"""daemon off;
pid {temp}/nginx.pid;
error_log {temp}/error.log;
worker_processes 1;
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

    # Zip archives far larger than the first request's 1 MiB, each member larger than that too.
    LARGE_MEMBERS = 6
    LARGE_MEMBER_BYTES = 8 << 20

    @classmethod
    def make_large_zips(cls, folder):
        import numpy as np
        import torch
        folder.mkdir()
        rng = np.random.default_rng(12)
        arrays = {f"w{i}": rng.standard_normal(cls.LARGE_MEMBER_BYTES // 4, dtype=np.float32).reshape(-1, 256)
                  for i in range(cls.LARGE_MEMBERS)}
        np.savez(folder / "large.npz", **arrays)
        torch.save({name: torch.from_numpy(array) for name, array in arrays.items()}, folder / "large.pt")

    FAR_TABLES = 30

    @classmethod
    def make_far_tables(cls, folder):
        """A compressed .owf whose chunk tables lie beyond the first request's 1 MiB: a 3 MiB tensor
        first, then small ones, each table at the start of its tensor's stored bytes."""
        import numpy as np
        rng = np.random.default_rng(5)
        tensors = {"big": rng.standard_normal(3 << 18, dtype=np.float32)}
        tensors.update({f"small.{i}": rng.standard_normal(16 << 10, dtype=np.float32) for i in range(cls.FAR_TABLES)})
        source = folder / "far-tables.safetensors"
        write_safetensors(source, tensors)
        run_owf("convert", "--compress", source, folder / "far-tables.owf", check=0)

    @staticmethod
    def make_external_onnx(folder):
        import onnx
        model = onnx.load(str(CORPUS / "onnx/silero_vad_16k_op15.onnx"))
        onnx.save_model(model, str(folder / "silero.onnx"), save_as_external_data=True,
                        all_tensors_to_one_file=True, location="silero.onnx.data", size_threshold=0)

    @staticmethod
    def make_hf_folders(folder):
        tensors, _ = read_safetensors(CORPUS / "safetensors/silero_vad_16k.safetensors")
        config = json.dumps({"model_type": "silero_vad", "architectures": ["SileroVAD"]})
        for name in ("single", "sharded"):
            (folder / name).mkdir(parents=True, exist_ok=True)
            (folder / name / "config.json").write_text(config)
        write_safetensors(folder / "single/model.safetensors", tensors)
        names = list(tensors)
        halves = {"model-00001-of-00002.safetensors": names[:len(names) // 2],
                  "model-00002-of-00002.safetensors": names[len(names) // 2:]}
        for shard, members in halves.items():
            write_safetensors(folder / "sharded" / shard, {n: tensors[n] for n in members})
        weight_map = {n: shard for shard, members in halves.items() for n in members}
        (folder / "sharded/model.safetensors.index.json").write_text(
            json.dumps({"metadata": {}, "weight_map": weight_map}))

    @classmethod
    def tearDownClass(cls):
        cls.nginx.terminate()
        cls.nginx.wait(timeout=10)
        cls._dir.cleanup()

    def url(self, name):
        return f"http://127.0.0.1:{self.port}/{name}"

    def log_lines(self):
        return self.log.read_text().count("\n") if self.log.exists() else 0

    def requests_since(self, before):
        """The requests nginx logged after its log had `before` lines."""
        # nginx logs a request after its response, so a sleep can lose lines on a loaded machine.
        # Its one worker logs in completion order: once a marker request is logged, so is ours.
        marker = f"/owf-log-marker-{time.monotonic_ns()}"
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{self.port}{marker}", timeout=10).close()
        for _ in range(200):
            lines = self.log.read_text().splitlines()
            if any(marker in line for line in lines[before:]):
                return len(lines) - before - 1
            time.sleep(0.05)
        self.fail(f"nginx did not log {marker}")

    def requests(self, *args):
        """Runs owf and returns (result, the requests nginx logged for it)."""
        before = self.log_lines()
        result = run_owf(*args)
        return result, self.requests_since(before)

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
                out = self.tmp / (name.strip("/").replace("/", "-") + ".owf")
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

    def test_zip_archives_read_central_directory_first(self):
        """An .npz or PyTorch zip over a URL: its tail and central directory, then only the members
        needed (an .npz member's header with its local header, one request each); never the whole
        file. The budget does not grow with the members' sizes."""
        size = self.LARGE_MEMBERS * self.LARGE_MEMBER_BYTES
        for name, budget in (("large/large.npz", 2 + self.LARGE_MEMBERS), ("large/large.pt", 2)):
            with self.subTest(name):
                url, local = self.url(name), self.root / name
                result, requests = self.requests("-v", "inspect", url)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertLessEqual(requests, budget)
                fetched = int(re.search(r"(\d+) bytes fetched", result.stderr).group(1))
                self.assertLess(fetched, size // 10)
                self.assertEqual(without_file_line(result.stdout),
                                 without_file_line(run_owf("inspect", local, check=0).stdout))
                self.check_one_tensor_read(url, local, "w3", budget + 2)
                self.assertEqual(run_owf("hash", url, check=0).stdout.split()[0],
                                 run_owf("hash", local, check=0).stdout.split()[0])
                run_owf("verify", url, check=0)

    def check_one_tensor_read(self, url, local, name, budget):
        """Opening `url` and reading tensor `name` through the Python module (one read call) costs at
        most `budget` requests: the open's, the tensor's data, and for a PyTorch zip its record's
        local header."""
        try:
            import numpy as np
            import owf
        except ImportError as error:
            self.skipTest(f"the Python module is not built: {error}")
        before = self.log_lines()
        with owf.safe_open(url) as remote:
            tensor = remote.get_tensor(name)
        self.assertLessEqual(self.requests_since(before), budget)
        with owf.safe_open(str(local)) as model:
            self.assertTrue(np.array_equal(tensor, model.get_tensor(name)))

    def test_onnx_external_data_and_hf_folder_budget(self):
        # The .onnx fetched whole (it holds no weights), its data file's first bytes.
        result, requests = self.requests("inspect", self.url("onnx/external/silero.onnx"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertLessEqual(requests, 2)
        # config.json, the index (a 404 for the single file), the weights, the carried files.
        for name, weight_requests in (("hf/single/", 2), ("hf/sharded/", 3)):
            with self.subTest(name):
                result, requests = self.requests("inspect", self.url(name))
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn("hf folder (safetensors", result.stdout)
                self.assertLessEqual(requests, 1 + weight_requests + HF_CARRIED_OTHERS)

    def test_hf_folder_url_without_config_is_refused(self):
        result = run_owf("inspect", self.url("owf/"))
        self.assertRefused(result, self.url("owf/config.json"), "missing")

    def test_compressed_owf_chunk_tables_in_few_requests(self):
        """The first request, the header at the end of the file, and one for all the chunk tables
        beyond the first 1 MiB (not one or two for each of the 30)."""
        url, local = self.url("owf/far-tables.owf"), self.root / "owf/far-tables.owf"
        self.assertGreater(local.stat().st_size, 4 << 20)
        result, requests = self.requests("inspect", url)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("zstd", result.stdout)
        self.assertLessEqual(requests, 3)
        self.assertEqual(without_file_line(result.stdout), without_file_line(run_owf("inspect", local, check=0).stdout))
        self.assertEqual(run_owf("hash", "--tensors", url, check=0).stdout.replace(url, "F"),
                         run_owf("hash", "--tensors", local, check=0).stdout.replace(str(local), "F"))

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

    def served_weights(self, folder, seed):
        """Four random 2 MiB tensors served as FOLDER/weights.safetensors: (tensors, URL, file size)."""
        rng = numpy.random.default_rng(seed)
        tensors = {f"w{i}": rng.standard_normal((512, 1024), dtype=numpy.float32) for i in range(4)}
        source = self.root / folder / "weights.safetensors"
        source.parent.mkdir(exist_ok=True)
        write_safetensors(source, tensors)
        return tensors, self.url(f"{folder}/weights.safetensors"), source.stat().st_size

    def bytes_fetched_converting(self, *args):
        result = run_owf("-v", "convert", *args)
        self.assertEqual(result.returncode, 0, result.stderr)
        return int(re.search(r"(\d+) bytes fetched", result.stderr).group(1))

    def assert_parent_digest(self, outputs, tensors):
        for out in outputs:
            metadata = json.loads(run_owf("inspect", "--json", self.tmp / out, check=0).stdout)["metadata"]
            self.assertEqual(metadata["provenance"]["parents"][0]["digest"], content_digest(tensors), out)

    def test_convert_fetches_the_input_once(self):
        # Writers take the provenance digest from the bytes they stream (OutputMetadata), so converting
        # a URL into any format fetches each byte once, not once more for the digest.
        tensors, url, size = self.served_weights("big", 7)
        for out, flags in (("once.owf", []), ("once.safetensors", ["--dtype", "f16"]), ("once.gguf", []),
                           ("shards.safetensors", ["--max-shard-size", "3MiB"])):
            with self.subTest(out):
                fetched = self.bytes_fetched_converting(*flags, url, self.tmp / out)
                self.assertGreaterEqual(fetched, size)
                self.assertLess(fetched, size * 1.2)
        self.assert_parent_digest(("once.owf", "once.safetensors", "shards.safetensors.index.json"), tensors)

    def test_the_input_is_digested_only_for_outputs_that_keep_the_digest(self):
        # A tensor that --exclude drops is read only for the provenance digest. GGUF and PyTorch files
        # keep no content digest, so converting into them fetches the kept tensors alone; the formats
        # that keep one record the input's content digest, the dropped tensor included.
        tensors, url, size = self.served_weights("drop", 8)
        for out, flags, keeps_digest in (("drop.gguf", [], False), ("drop.pt", [], False),
                                          ("drop.owf", ["--dtype", "f16"], True), ("drop.safetensors", [], True),
                                          ("drop-shards.safetensors", ["--max-shard-size", "3MiB"], True)):
            with self.subTest(out):
                fetched = self.bytes_fetched_converting("--exclude", "^w3$", *flags, url, self.tmp / out)
                if keeps_digest:
                    self.assertGreaterEqual(fetched, size)
                else:
                    self.assertLess(fetched, size * 0.8)
        self.assert_parent_digest(("drop.owf", "drop.safetensors", "drop-shards.safetensors.index.json"), tensors)

    def test_threads_fetch_large_reads_in_parallel_ranges(self):
        # A 24 MiB tensor is written from 8 MiB reads: one request each with --threads 1, split into
        # ranges of 4 MiB with --threads 2 (HttpOptions::connections); the output is the same.
        rng = numpy.random.default_rng(8)
        source = self.root / "big" / "one-large.safetensors"
        source.parent.mkdir(exist_ok=True)
        write_safetensors(source, {"w": rng.standard_normal((6 << 10, 1 << 10), dtype=numpy.float32)})
        counts = {}
        for threads in (1, 2):
            out = self.tmp / f"threads{threads}.owf"
            result, counts[threads] = self.requests("--threads", str(threads), "convert",
                                                    self.url("big/one-large.safetensors"), out)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(run_owf("diff", "-q", out, source).returncode, 0)
        self.assertLessEqual(counts[1], 1 + 4)  # the open's first MiB, then one per read (4: pieces end on blocks)
        self.assertGreaterEqual(counts[2], counts[1] + 2)  # at least two of the reads in two ranges
        self.assertEqual((self.tmp / "threads1.owf").read_bytes(), (self.tmp / "threads2.owf").read_bytes())
        # hash reads in the pieces of owf::for_each_piece (kReadPieceBytes, 8 MiB): the same split.
        digests = {}
        for threads in (1, 2):
            result, counts[threads] = self.requests("--threads", str(threads), "hash", self.url("big/one-large.safetensors"))
            self.assertEqual(result.returncode, 0, result.stderr)
            digests[threads] = result.stdout
        self.assertLessEqual(counts[1], 1 + 3)
        self.assertGreaterEqual(counts[2], counts[1] + 2)
        self.assertEqual(digests[1], digests[2])

    def test_values_read_in_few_requests(self):
        # inspect --stats and convert --dtype decode runs of 64Ki elements, read 8 MiB at a time
        # (owf::kReadPieceBytes): 24 MiB cost three requests besides the open's, not 96.
        rng = numpy.random.default_rng(9)
        source = self.root / "big" / "values.safetensors"
        source.parent.mkdir(exist_ok=True)
        write_safetensors(source, {"w": rng.standard_normal((6 << 10, 1 << 10), dtype=numpy.float32)})
        url = self.url("big/values.safetensors")
        result, requests = self.requests("--threads", "1", "inspect", "--stats", url)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertLessEqual(requests, 1 + 3)
        self.assertEqual(without_file_line(result.stdout),
                         without_file_line(run_owf("inspect", "--stats", source, check=0).stdout))
        out = self.tmp / "values-f16.safetensors"
        result, requests = self.requests("--threads", "1", "convert", "--dtype", "f16", url, out)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertLessEqual(requests, 1 + 3)

    def test_messages_name_urls_without_query(self):
        # Signed URLs carry their secret in the query: detection by extension ignores it, and messages
        # name the file without it.
        folder = self.root / "signed"
        folder.mkdir(exist_ok=True)
        (folder / "bad.npy").write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': 'broken")
        result = run_owf("inspect", self.url("signed/bad.npy?X-Signature=SECRET/part"))
        self.assertRefused(result, "bad.npy")
        self.assertNotIn("SECRET", result.stderr)
        result = run_owf("inspect", self.url("safetensors/silero_vad_16k.safetensors?X-Signature=SECRET"), check=0)
        self.assertNotIn("SECRET", result.stdout)

    def test_missing_file_is_404(self):
        result = run_owf("inspect", self.url("nothing.safetensors"))
        self.assertRefused(result, "nothing.safetensors", "404")

    @unittest.skipUnless(OWF_LIST, "the C example (owf_list_c) is not built")
    def test_c_api_reads_urls_as_local_files(self):
        for name in FILES:
            with self.subTest(name):
                remote = subprocess.run([OWF_LIST, self.url(name)], capture_output=True, text=True, timeout=120)
                local = subprocess.run([OWF_LIST, self.root / name], capture_output=True, text=True, timeout=120)
                self.assertEqual(remote.returncode, 0, remote.stderr)
                self.assertEqual(local.returncode, 0, local.stderr)
                # Every tensor read three ways, its first value, and the content digest.
                self.assertEqual(remote.stdout, local.stdout)
        missing = self.url("nothing.safetensors")
        result = subprocess.run([OWF_LIST, missing], capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 2, result.stdout)
        self.assertIn(missing, result.stderr)
        self.assertIn("404", result.stderr)

    def test_python_module_reads_urls_as_local_files(self):
        try:
            import numpy as np
            import owf
        except ImportError as error:
            self.skipTest(f"the Python module is not built: {error}")
        for name in FILES:
            with self.subTest(name):
                with owf.safe_open(self.url(name)) as remote, owf.safe_open(str(self.root / name)) as local:
                    self.assertEqual(remote.keys(), local.keys())
                    self.assertEqual(remote.metadata(), local.metadata())
                    for key in local.keys():
                        self.assertTrue(np.array_equal(remote.get_tensor(key), local.get_tensor(key)), key)
                        if len(local.get_slice(key).get_shape()) > 0:
                            self.assertTrue(np.array_equal(remote.get_slice(key)[1:3], local.get_slice(key)[1:3]))
                self.assertEqual(owf.content_digest(self.url(name)), owf.content_digest(str(self.root / name)))
        missing = self.url("nothing.safetensors")
        with self.assertRaises(owf.OwfError) as raised:
            owf.safe_open(missing)
        self.assertIn(missing, str(raised.exception))
        self.assertIn("404", str(raised.exception))

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
