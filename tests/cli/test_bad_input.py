"""Named bad inputs through the CLI. Each must be refused by `inspect` and by `convert` with exit 2 and
exactly one stderr line naming the file and the problem, without a crash or a hang, and `convert` must
leave no output (nor temporary file) behind."""
import json
import struct
import unittest

import numpy

from owftest import CORPUS, OwfTestCase, owf_bytes, run_owf, safetensors_bytes

def f32(count):
    return numpy.arange(count, dtype="<f4").tobytes()


def st_entry(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


def deep_json(levels):
    return b'{"a": ' + b"[" * levels + b"]" * levels + b"}"


def object_npy():
    header = repr({"descr": "|O", "fortran_order": False, "shape": (2,)}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + bytes(16)


def valid_owf():
    return owf_bytes([(b"first", f32(4), [4]), (b"second", f32(2), [2])])


# name -> (file name, bytes, fragments the one error line must contain besides the file name)
CASES = {
    "empty file": ("empty.owf", b"", ["empty file"]),
    "truncated owf": ("truncated.owf", valid_owf()[:-20], ["header at offset"]),
    "truncated safetensors": ("truncated.safetensors",
                              safetensors_bytes({"w": st_entry(shape=[4], offsets=[0, 16])}, f32(4))[:-3],
                              ["'w'", "exceed"]),
    "owf header length beyond the file": (
        "long_header.owf", owf_bytes([(b"w", f32(2), [2])], preamble={"header_length": 10**6,
                                                                        "header_capacity": 10**6}),
        ["header at offset"]),
    "safetensors header length beyond the file": (
        "long_header.safetensors", struct.pack("<Q", 1000) + b'{"a": 1}', ["header length 1000", "past the end"]),
    "shape product overflow": ("overflow.owf", owf_bytes([(b"huge", f32(4), [2**32, 2**32, 2])]), ["'huge'"]),
    "negative dims": ("negative.safetensors", safetensors_bytes({"w": st_entry(shape=[-1, 2])}, f32(2)),
                      ["'w'", "negative dimension"]),
    "overlapping offsets (owf)": ("overlap.owf", owf_bytes(
        [(b"first", f32(4), [4]), (b"second", f32(2), [2])], records={1: {"offset": 64}}), ["'second'", "offset 64"]),
    "overlapping offsets (safetensors)": ("overlap.safetensors", safetensors_bytes(
        {"a": st_entry(), "b": st_entry(offsets=[4, 12])}, f32(3)), ["'b'", "overlap", "'a'"]),
    "out of file offsets (owf)": ("outside.owf", owf_bytes(
        [(b"w", f32(2), [2])], records={0: {"offset": 1 << 40}}), ["'w'", "offset 1099511627776"]),
    "out of file offsets (safetensors)": ("outside.safetensors", safetensors_bytes(
        {"w": st_entry(shape=[4], offsets=[0, 16])}, f32(2)), ["'w'", "0..16", "exceed"]),
    "size mismatch (owf)": ("size.owf", owf_bytes(
        [(b"w", f32(2), [2])], records={0: {"shape": [3]}}), ["'w'", "stored length"]),
    "size mismatch (safetensors)": ("size.safetensors", safetensors_bytes(
        {"w": st_entry(shape=[3])}, f32(2)), ["'w'", "needs 12"]),
    "invalid UTF-8 name (owf)": ("utf8.owf", owf_bytes([(b"w\xff", f32(2), [2])]), ["not valid UTF-8"]),
    "invalid UTF-8 name (safetensors)": ("utf8.safetensors", safetensors_bytes(
        b'{"w\xff": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}', f32(2)), ["UTF-8"]),
    "duplicate names (owf)": ("duplicate.owf", owf_bytes(
        [(b"w", f32(2), [2]), (b"w", f32(2), [2])]), ["'w'", "duplicate name"]),
    "duplicate names (safetensors)": ("duplicate.safetensors", safetensors_bytes(
        b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
        b'"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', f32(2)), ["duplicate", "'w'"]),
    "unknown dtype (owf)": ("dtype.owf", owf_bytes([(b"w", f32(2), [2])], records={0: {"dtype": 99}}),
                            ["'w'", "unknown dtype id 99"]),
    "unknown dtype (safetensors)": ("dtype.safetensors", safetensors_bytes(
        {"w": st_entry(dtype="F99")}, f32(2)), ["'w'", "unknown dtype 'F99'"]),
    "bad alignment": ("alignment.owf", owf_bytes([(b"w", f32(2), [2])], alignment=64, preamble={"alignment": 48}),
                      ["alignment 48"]),
    "deeply nested JSON (owf metadata)": ("deep.owf", owf_bytes([], metadata=deep_json(100000)), ["deep"]),
    "deeply nested JSON (safetensors header)": (
        "deep.safetensors", safetensors_bytes(b'{"__metadata__": ' + deep_json(100000) + b"}"), ["deep"]),
    "object arrays in npy": ("object.npy", object_npy(), ["'|O'", "object"]),
    "not a model at all": ("notes.txt", b"just some text\n", ["unrecognized format"]),
}


class BadInputTest(OwfTestCase):
    def check_refused(self, name, data, fragments):
        path = self.tmp / name
        path.write_bytes(data)
        self.assertRefused(run_owf("inspect", path, timeout=60), name, *fragments)
        out = self.tmp / "out.owf"
        self.assertRefused(run_owf("convert", path, out, timeout=60), name, *fragments)
        self.assertEqual(sorted(p.name for p in self.tmp.iterdir()), [name])  # nothing left behind
        path.unlink()

    def test_named_cases(self):
        for case, (name, data, fragments) in CASES.items():
            with self.subTest(case=case):
                self.check_refused(name, data, fragments)

    def test_the_builder_makes_valid_files(self):
        # So each case above fails for its own damage and nothing else.
        path = self.tmp / "valid.owf"
        path.write_bytes(valid_owf())
        self.assertIn("valid.owf: valid", run_owf("verify", path, check=0).stdout)
        report = json.loads(run_owf("inspect", "--json", path, check=0).stdout)
        self.assertEqual([t["name"] for t in report["tensors"]], ["first", "second"])

    def test_regexes_refuse_very_long_names(self):
        # std::regex recurses per character: a 100 kB name from a file must not reach it.
        path = self.tmp / "long.owf"
        path.write_bytes(owf_bytes([(b"a" * 100_000, f32(2), [2])]))
        run_owf("inspect", path, check=0)  # fine without a regex
        for args in (["inspect", "--filter", "a.*b", path], ["convert", "--include", "(a|b)*c", path, self.tmp / "o.owf"],
                     ["convert", "--rename", "s/a/b/", path, self.tmp / "o.owf"],
                     ["convert", "--dtype-rule", "a.*=f16", path, self.tmp / "o.owf"]):
            with self.subTest(args=args[:3]):
                self.assertRefused(run_owf(*args, timeout=60), "long.owf", "100000 bytes is too long")
        self.assertFalse((self.tmp / "o.owf").exists())

    def test_corpus_files_that_must_be_refused(self):
        for name in ("other/stories260K.bin", "other/whisper.cpp-for-tests-silero-v6.2.0-ggml.bin"):
            with self.subTest(name=name):
                self.assertRefused(run_owf("inspect", CORPUS / name, timeout=60), name.split("/")[1])


if __name__ == "__main__":
    unittest.main()
