"""Hostile inputs, bounded: each file below goes through inspect, convert, verify and diff, and every
command must exit 2 within 10 s and under 1 GiB peak RSS (the child's own, from wait4's rusage) with a
message naming the limit it hit. The files are built here, byte by byte or with zipfile/zlib."""
import os
import struct
import subprocess
import time
import unittest
import zipfile
import zlib

import owftest
from owftest import OWF, owf_bytes, safetensors_bytes

MAX_SECONDS = 10
MAX_RSS_KIB = 1 << 20


def npy_bytes(shape, descr="<f4"):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, repr(tuple(shape)))
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()


def torch_zip(pickle):
    """A torch.save-style zip whose data.pkl is `pickle`."""
    import io
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", pickle)
        archive.writestr("archive/version", "3\n")
    return out.getvalue()


def protobuf_len(field, payload):
    tag, length = (field << 3) | 2, len(payload)
    varint = b""
    while True:
        byte, length = length & 0x7F, length >> 7
        varint += bytes([byte | (0x80 if length else 0)])
        if not length:
            break
    return bytes([tag]) + varint + payload


class HostileInputTest(owftest.OwfTestCase):
    def run_bounded(self, *args):
        """Exit code, stderr, seconds and peak RSS (KiB, from wait4's rusage of the child) of one owf run."""
        start = time.monotonic()
        with open(self.tmp / "stdout", "wb") as out, open(self.tmp / "stderr", "wb") as err:
            child = subprocess.Popen([OWF, *map(str, args)], stdout=out, stderr=err)
        while True:
            pid, status, rusage = os.wait4(child.pid, os.WNOHANG)
            if pid == child.pid:
                break
            if time.monotonic() - start > 3 * MAX_SECONDS:
                child.kill()
                os.wait4(child.pid, 0)
                raise AssertionError(f"owf {' '.join(map(str, args))}: still running after {3 * MAX_SECONDS} s")
            time.sleep(0.02)
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        stderr = (self.tmp / "stderr").read_text(errors="replace")
        return child.returncode, stderr, time.monotonic() - start, rusage.ru_maxrss

    def assertBounded(self, path, *fragments):
        """inspect, convert, verify and diff of `path` each exit 2 in time and memory, naming the limit."""
        for command in (["inspect", path], ["convert", path, self.tmp / "out.owf"], ["verify", path],
                        ["diff", path, path]):
            with self.subTest(command=command[0]):
                code, stderr, elapsed, rss = self.run_bounded(*command)
                self.assertEqual(code, 2, stderr)
                for fragment in fragments:
                    self.assertIn(fragment, stderr)
                self.assertLess(elapsed, MAX_SECONDS, f"{command[0]}: {elapsed:.1f} s")
                self.assertLess(rss, MAX_RSS_KIB, f"{command[0]}: {rss} KiB peak RSS")
                self.assertFalse((self.tmp / "out.owf").exists())

    def write(self, name, data):
        path = self.tmp / name
        path.write_bytes(data)
        return path

    def test_names_and_strings_from_files_never_reach_the_terminal_raw(self):
        import numpy as np
        from owftest import run_owf, write_safetensors
        hostile = "w\x1b[31mRED\u202e\x9b"
        a, b = self.tmp / "a.safetensors", self.tmp / "b.safetensors"
        write_safetensors(a, {hostile: np.zeros(2, np.float32), "only\x07a": np.ones(1, np.float32)},
                          metadata={"k\x1b]0;title\x07": "v\x7f\u2066"})
        write_safetensors(b, {hostile: np.ones(2, np.float32)}, metadata={})
        outputs = [run_owf("diff", a, b), run_owf("inspect", a), run_owf("inspect", "--json", a),
                   run_owf("hash", "--tensors", a), run_owf("meta", a), run_owf("diff", "--json", a, b)]
        for result in outputs:
            for stream in (result.stdout, result.stderr):
                for control in ("\x1b", "\x07", "\x7f", "\x9b", "\u202e", "\u2066"):
                    self.assertNotIn(control, stream, result.args)
        self.assertIn("'w\\x1b[31mRED\\xe2\\x80\\xae\\xc2\\x9b'", outputs[0].stdout)

    # --- NumPy ---
    def test_npz_member_that_inflates_to_gigabytes(self):
        body = npy_bytes([256])
        body += bytes(1024)
        deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
        compressed = deflate.compress(body)
        zeros = bytes(64 << 20)
        for _ in range(32):  # 2 GiB of zeros after the declared 1 KiB array
            compressed += deflate.compress(zeros)
        compressed += deflate.flush()
        name = b"w.npy"
        crc = zlib.crc32(body)
        local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(compressed), len(body),
                            len(name), 0) + name
        central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(compressed),
                              len(body), len(name), 0, 0, 0, 0, 0, 0) + name
        end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local) + len(compressed), 0)
        path = self.write("bomb.npz", local + compressed + central + end)
        self.assertBounded(path, "bomb.npz", "w.npy")

    def test_npz_with_100000_members(self):
        path = self.tmp / "many.npz"
        member = npy_bytes([1]) + bytes(4)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
            for i in range(100_000):
                archive.writestr(f"t{i}.npy", member)
        self.assertBounded(path, "many.npz", "100000 tensors", "65536")

    # --- safetensors ---
    def test_safetensors_header_of_a_million_tensors(self):
        entries = ",".join('"tensor.%07d":{"dtype":"F32","shape":[1],"data_offsets":[%d,%d]}' % (i, 4 * i, 4 * i + 4)
                           for i in range(1_000_000))
        header = ("{" + entries + "}").encode()
        header += b" " * (-len(header) % 8)
        self.assertLess(len(header), 100_000_000)
        path = self.write("million.safetensors", safetensors_bytes(header, bytes(4_000_000)))
        self.assertBounded(path, "million.safetensors", "65536")

    # --- GGUF ---
    def test_gguf_claiming_ten_million_key_values(self):
        path = self.write("kvs.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 10_000_000) + bytes(64))
        self.assertBounded(path, "kvs.gguf", "key-value count")

    def test_gguf_with_a_4_gb_string(self):
        key = b"general.name"
        data = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key
        data += struct.pack("<IQ", 8, 4 << 30) + b"x" * 64
        path = self.write("string.gguf", data)
        self.assertBounded(path, "string.gguf", "4294967296")

    # --- PyTorch ---
    def test_pickle_nested_100000_deep(self):
        pickle = b"\x80\x02}X\x01\x00\x00\x00k" + b"]" * 100_000 + b"a" * 99_999 + b"s."
        path = self.write("deep.pt", torch_zip(pickle))
        self.assertBounded(path, "deep.pt", "deeper than")

    def test_pickle_with_a_huge_memo_index(self):
        pickle = b"\x80\x02}r\xff\xff\xff\xffj\xfe\xff\xff\xff."  # put at 2^32-1, get 2^32-2
        path = self.write("memo.pt", torch_zip(pickle))
        self.assertBounded(path, "memo.pt", "memo")

    def test_pickle_binunicode_of_length_2_31(self):
        pickle = b"\x80\x02}X" + struct.pack("<I", 1 << 31) + b"abc"
        path = self.write("unicode.pt", torch_zip(pickle))
        self.assertBounded(path, "unicode.pt", "2147483648")

    def test_pickle_whose_root_is_none_is_refused(self):
        path = self.write("none.pt", torch_zip(b"\x80\x02N."))
        self.assertBounded(path, "none.pt", "holds None, not a mapping of tensors or a tensor")

    # --- .owf ---
    def test_owf_chunk_table_claiming_100000_chunks_of_64_mib(self):
        # A zstd-chunked record (encoding 1) whose chunk table claims 100 000 chunks of 64 MiB.
        count, chunk = 100_000, 64 << 20
        table = struct.pack("<IB3xQ", chunk, 0, count) + struct.pack("<Q", 16) * 8
        path = self.write("chunks.owf", owf_bytes([(b"w", table, [count * chunk // 4])], records={0: {"encoding": 1}}))
        self.assertBounded(path, "chunks.owf", "100000")

    # --- ONNX ---
    def test_onnx_subgraphs_nested_10000_deep(self):
        graph = b""
        for _ in range(10_000):
            attribute = protobuf_len(1, b"then_branch") + b"\xa0\x01\x05" + protobuf_len(6, graph)
            node = protobuf_len(4, b"If") + protobuf_len(5, attribute)
            graph = protobuf_len(1, node)
        path = self.write("deep.onnx", b"\x08\x08" + protobuf_len(7, graph))
        self.assertBounded(path, "deep.onnx", "nested more than 100 levels")

    def external_model(self, location):
        # One FLOAT[4] initializer whose data lives in `location`.
        tensor = b"\x08\x04\x10\x01" + protobuf_len(8, b"w") + protobuf_len(
            13, protobuf_len(1, b"location") + protobuf_len(2, location.encode())) + b"\x70\x01"
        return b"\x08\x08" + protobuf_len(7, protobuf_len(5, tensor))

    def test_onnx_external_data_at_dev_zero_a_fifo_and_through_a_symlink(self):
        folder = self.tmp / "model"
        folder.mkdir()
        os.mkfifo(folder / "fifo.bin")
        (folder / "escape.bin").symlink_to("/dev/zero")
        for location, fragment in (("/dev/zero", "/dev/zero"), ("../../../../../../dev/zero", "inside the model's folder"),
                                   ("fifo.bin", "not a regular file"), ("escape.bin", "outside")):
            with self.subTest(location=location):
                path = folder / "m.onnx"
                path.write_bytes(self.external_model(location))
                self.assertBounded(path, "m.onnx", fragment)


if __name__ == "__main__":
    unittest.main()
