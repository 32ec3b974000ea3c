"""Interop: GGUF files written by `owf convert` are read by npm's @huggingface/gguf.

tests/gguf/js/dump_gguf.mjs parses a file with that library (its local-file API) and prints the
tensor names, dims, ggml types, data offsets and key-values it sees. Each test converts corpus
files (safetensors, npz, GGUF) or models built here to GGUF and checks what node sees against the
source (built here or read with Python) and against what owf reads back from the same file.
The node modules come from `npm ci --prefix tests/gguf/js` (the project's setup runs it).
"""
import json
import math
import struct
import subprocess
import unittest

import numpy as np

import owftest
from owftest import CORPUS, SOURCE, run_owf

JS_DIR = SOURCE / "tests" / "gguf" / "js"
NODE = "/usr/bin/node"

# ggml tensor types and GGUF value types (ggml docs/gguf.md).
GGML_TYPE = {"f32": 0, "f16": 1, "q4_0": 2, "q8_0": 8, "q4_k": 12, "i8": 24, "i16": 25, "i32": 26,
             "i64": 27, "f64": 28, "bf16": 30}
VALUE_TYPE = {"u8": 0, "i8": 1, "u16": 2, "i16": 3, "u32": 4, "i32": 5, "f32": 6, "bool": 7,
              "string": 8, "array": 9, "u64": 10, "i64": 11, "f64": 12}
STRUCT_CODE = {"u8": "B", "i8": "b", "u16": "H", "i16": "h", "u32": "I", "i32": "i", "f32": "f",
               "bool": "?", "u64": "Q", "i64": "q", "f64": "d"}
SAFETENSORS_DTYPE = {"F32": "f32", "F16": "f16", "BF16": "bf16", "F64": "f64", "I8": "i8",
                     "I16": "i16", "I32": "i32", "I64": "i64"}


def node_dump(path):
    """What @huggingface/gguf reads from `path`."""
    result = subprocess.run([NODE, str(JS_DIR / "dump_gguf.mjs"), str(path)], capture_output=True,
                            text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"node could not parse {path}:\n{result.stderr}")
    return json.loads(result.stdout)


def owf_inspect(path):
    return json.loads(run_owf("inspect", "--json", path, check=0).stdout)


def f32_bits(value):
    return struct.pack("<f", value)


def same_value(value_type, node_value, owf_value):
    """Compares one scalar as node prints it with the same scalar as owf's metadata holds it."""
    if value_type in ("f32", "f64"):
        if isinstance(owf_value, str):  # "inf", "-inf", "nan", "nan:0x<bits>"
            return node_value == owf_value.split(":")[0]
        node_value = float(node_value)  # dump_gguf.mjs prints negative zero as "-0"
        if value_type == "f32":
            return f32_bits(node_value) == f32_bits(owf_value)
        return node_value == owf_value and math.copysign(1, node_value) == math.copysign(1, owf_value)
    if value_type in ("u64", "i64"):
        return int(node_value) == owf_value
    if value_type == "string":
        text = bytes.fromhex(owf_value["hex"]).decode("utf-8", "replace") if isinstance(owf_value, dict) else owf_value
        # The library decodes with TextDecoder, which drops a leading byte order mark (llama's
        # vocabulary has a token that is just U+FEFF).
        return node_value == (text[1:] if text.startswith("\ufeff") else text)
    return node_value == owf_value


def write_safetensors(path, tensors):
    """A safetensors file from [(name, dtype, shape, raw bytes)], written here byte by byte."""
    header, offset = {}, 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(t[3] for t in tensors))


def read_safetensors_header(path):
    data = path.read_bytes()
    (length,) = struct.unpack_from("<Q", data)
    header = json.loads(data[8:8 + length])
    header.pop("__metadata__", None)
    return header


class GgufBuilder:
    """A GGUF v3 file assembled with struct, independently of owf."""

    def __init__(self, alignment=32):
        self.alignment = alignment
        self.kvs = []       # (key, type, element_type, values)
        self.tensors = []   # (name, dims innermost first, ggml type, data)

    def kv(self, key, value_type, value, element_type=None):
        self.kvs.append((key, value_type, element_type, value))

    def tensor(self, name, dims, ggml_type, data):
        self.tensors.append((name, dims, ggml_type, data))

    @staticmethod
    def _string(text):
        raw = text if isinstance(text, bytes) else text.encode()
        return struct.pack("<Q", len(raw)) + raw

    def _scalar(self, value_type, value):
        if value_type == "string":
            return self._string(value)
        return struct.pack("<" + STRUCT_CODE[value_type], value)

    def _pad(self, size):
        return b"\0" * (-size % self.alignment)

    def build(self):
        out = b"GGUF" + struct.pack("<IQQ", 3, len(self.tensors), len(self.kvs))
        for key, value_type, element_type, value in self.kvs:
            out += self._string(key) + struct.pack("<I", VALUE_TYPE[value_type])
            if value_type == "array":
                out += struct.pack("<IQ", VALUE_TYPE[element_type], len(value))
                out += b"".join(self._scalar(element_type, item) for item in value)
            else:
                out += self._scalar(value_type, value)
        offset = 0
        for name, dims, ggml_type, data in self.tensors:
            out += self._string(name) + struct.pack(f"<I{len(dims)}QIQ", len(dims), *dims, ggml_type, offset)
            offset += len(data) + len(self._pad(len(data)))
        out += self._pad(len(out))
        for _, _, _, data in self.tensors:
            out += data + self._pad(len(data))
        return out


class GgufNpmInteropTest(owftest.OwfTestCase):
    @classmethod
    def setUpClass(cls):
        if not (JS_DIR / "node_modules" / "@huggingface" / "gguf").is_dir():
            raise AssertionError("@huggingface/gguf is not installed: run `npm ci --prefix tests/gguf/js`")

    def convert(self, source, name, *flags):
        out = self.tmp / name
        run_owf("convert", source, out, *flags, check=0)
        return out

    def assert_node_agrees_with_owf(self, path):
        """node and owf read the same names, dims, types and key-values from `path`; returns node's view."""
        seen, info = node_dump(path), owf_inspect(path)
        self.assertTrue(seen["little_endian"])
        self.assertEqual(seen["version"], 3)
        self.assertEqual([t["name"] for t in seen["tensors"]], [t["name"] for t in info["tensors"]])
        for node_tensor, owf_tensor in zip(seen["tensors"], info["tensors"]):
            self.assertEqual([int(d) for d in node_tensor["dims"]], owf_tensor["shape"][::-1], owf_tensor["name"])
            self.assertEqual(node_tensor["type"], GGML_TYPE[owf_tensor["dtype"]], owf_tensor["name"])
        owf_kvs = info["metadata"]["gguf"]["kv"]
        self.assertEqual([kv["key"] for kv in seen["kv"]], [kv["key"] for kv in owf_kvs])
        for node_kv, owf_kv in zip(seen["kv"], owf_kvs):
            self.assertEqual(node_kv["type"], VALUE_TYPE[owf_kv["type"]], owf_kv["key"])
            if owf_kv["type"] == "array":
                self.assertEqual(node_kv["element_type"], VALUE_TYPE[owf_kv["element_type"]], owf_kv["key"])
                self.assertEqual(len(node_kv["value"]), len(owf_kv["value"]), owf_kv["key"])
                for node_item, owf_item in zip(node_kv["value"], owf_kv["value"]):
                    self.assertTrue(same_value(owf_kv["element_type"], node_item, owf_item), owf_kv["key"])
            else:
                self.assertTrue(same_value(owf_kv["type"], node_kv["value"], owf_kv["value"]), owf_kv["key"])
        return seen

    def tensor_bytes(self, path, seen, name):
        """The bytes of tensor `name` where node says they are (data offset + tensor offset)."""
        data = path.read_bytes()
        tensor = next(t for t in seen["tensors"] if t["name"] == name)
        start = int(seen["tensor_data_offset"]) + int(tensor["offset"])
        return data[start:]

    def test_corpus_safetensors_to_gguf(self):
        for name in ("silero_vad_16k.safetensors", "ollama-discollama-adapters.safetensors"):
            with self.subTest(name):
                source = CORPUS / "safetensors" / name
                out = self.convert(source, name.replace(".safetensors", ".gguf"))
                seen = self.assert_node_agrees_with_owf(out)
                header = read_safetensors_header(source)
                self.assertEqual(sorted(t["name"] for t in seen["tensors"]), sorted(header))
                raw = source.read_bytes()
                base = 8 + struct.unpack_from("<Q", raw)[0]
                for tensor in seen["tensors"]:
                    entry = header[tensor["name"]]
                    self.assertEqual([int(d) for d in tensor["dims"]], entry["shape"][::-1])
                    self.assertEqual(tensor["type"], GGML_TYPE[SAFETENSORS_DTYPE[entry["dtype"]]])
                    begin, end = entry["data_offsets"]
                    self.assertEqual(self.tensor_bytes(out, seen, tensor["name"])[:end - begin],
                                     raw[base + begin:base + end])

    def test_corpus_npz_to_gguf(self):
        source = CORPUS / "npz" / "g2p_en-checkpoint20.npz"
        out = self.convert(source, "g2p.gguf")
        seen = self.assert_node_agrees_with_owf(out)
        arrays = np.load(source)
        self.assertEqual(sorted(t["name"] for t in seen["tensors"]), sorted(arrays.files))
        for tensor in seen["tensors"]:
            array = arrays[tensor["name"]]
            self.assertEqual([int(d) for d in tensor["dims"]], list(array.shape)[::-1])
            self.assertEqual(tensor["type"], GGML_TYPE["f32"])
            self.assertEqual(self.tensor_bytes(out, seen, tensor["name"])[:array.nbytes],
                             array.astype("<f4").tobytes())

    def test_corpus_pytorch_to_gguf(self):
        import torch
        source = CORPUS / "pytorch" / "stories260K-bf16.pt"
        out = self.convert(source, "stories.gguf")
        seen = self.assert_node_agrees_with_owf(out)
        state = torch.load(source, map_location="cpu")
        self.assertEqual(sorted(t["name"] for t in seen["tensors"]), sorted(state))
        for tensor in seen["tensors"]:
            value = state[tensor["name"]]
            self.assertEqual([int(d) for d in tensor["dims"]], list(value.shape)[::-1], tensor["name"])
            self.assertEqual(tensor["type"], GGML_TYPE["bf16"], tensor["name"])
            raw = value.contiguous().view(torch.int16).numpy().astype("<i2").tobytes()
            self.assertEqual(self.tensor_bytes(out, seen, tensor["name"])[:len(raw)], raw, tensor["name"])

    def test_corpus_gguf_round_trips_byte_for_byte(self):
        for name in ("ggml-mnist-fc-f32.gguf", "ollama-llama-2-tiny-random.gguf"):
            with self.subTest(name):
                source = CORPUS / "gguf" / name
                middle = self.convert(source, name + ".owf")
                back = self.convert(middle, "back-" + name)
                self.assertEqual(back.read_bytes(), source.read_bytes())
                direct = self.convert(source, "direct-" + name)
                self.assertEqual(direct.read_bytes(), source.read_bytes())
                self.assertEqual(self.assert_node_agrees_with_owf(back), node_dump(source))

    def test_constructed_dtypes_and_ranks(self):
        rng = np.random.default_rng(7)
        tensors = [
            ("scalar", "F32", [], np.float32(1.5).tobytes()),
            ("vec.f16", "F16", [5], rng.standard_normal(5).astype("<f2").tobytes()),
            ("mat.bf16", "BF16", [3, 4], rng.integers(0, 65536, 12, dtype="<u2").tobytes()),
            ("cube.f64", "F64", [2, 3, 4], rng.standard_normal(24).tobytes()),
            ("r4.i8", "I8", [2, 1, 3, 2], rng.integers(-128, 128, 12, dtype="i1").tobytes()),
            ("i16", "I16", [7], rng.integers(-9, 9, 7, dtype="<i2").tobytes()),
            ("i32", "I32", [2, 2], rng.integers(-9, 9, 4, dtype="<i4").tobytes()),
            ("i64", "I64", [3], rng.integers(-9, 9, 3, dtype="<i8").tobytes()),
            ("empty", "F32", [0, 4], b""),
        ]
        source = self.tmp / "dtypes.safetensors"
        write_safetensors(source, tensors)
        out = self.convert(source, "dtypes.gguf", "--architecture", "test", "--license", "MIT")
        seen = self.assert_node_agrees_with_owf(out)
        by_name = {t["name"]: t for t in seen["tensors"]}
        for name, dtype, shape, data in tensors:
            with self.subTest(name):
                self.assertEqual([int(d) for d in by_name[name]["dims"]], shape[::-1])
                self.assertEqual(by_name[name]["type"], GGML_TYPE[SAFETENSORS_DTYPE[dtype]])
                self.assertEqual(self.tensor_bytes(out, seen, name)[:len(data)], data)
        keys = {kv["key"]: kv["value"] for kv in seen["kv"]}
        self.assertEqual(keys["general.architecture"], "test")
        self.assertEqual(keys["general.license"], "MIT")

    def test_every_key_value_type_and_block_types_round_trip(self):
        rng = np.random.default_rng(3)
        gguf = GgufBuilder(alignment=64)
        values = [
            ("general.architecture", "string", "llama"),
            ("general.alignment", "u32", 64),
            ("t.u8", "u8", 255), ("t.i8", "i8", -128), ("t.u16", "u16", 65535), ("t.i16", "i16", -2),
            ("t.u32", "u32", 4294967295), ("t.i32", "i32", -7), ("t.f32", "f32", 0.1),
            ("t.bool", "bool", False), ("t.string", "string", "naïve ✓"), ("t.u64", "u64", 2**64 - 1),
            ("t.i64", "i64", -2**63), ("t.f64", "f64", -1e300), ("general.quantization_version", "u32", 2),
        ]
        for key, value_type, value in values:
            gguf.kv(key, value_type, value)
        arrays = [("a.u8", "u8", [0, 255]), ("a.i16", "i16", [-32768, 32767]),
                  ("a.f32", "f32", [1e-5, -0.0, float("inf"), 3.0]), ("a.bool", "bool", [True, False]),
                  ("a.string", "string", ["<unk>", "", "▁the"]), ("a.u64", "u64", [2**63]),
                  ("a.i64", "i64", [-1]), ("a.f64", "f64", [float("-inf"), 2.5]), ("a.empty", "i32", [])]
        for key, element_type, items in arrays:
            gguf.kv(key, "array", items, element_type)
        gguf.tensor("blk.0.attn_q.weight", [64, 2], GGML_TYPE["q8_0"], rng.bytes(2 * 2 * 34))
        gguf.tensor("blk.0.ffn_up.weight", [32, 3], GGML_TYPE["q4_0"], rng.bytes(3 * 18))
        gguf.tensor("blk.0.ffn_down.weight", [256, 2], GGML_TYPE["q4_k"], rng.bytes(2 * 144))
        gguf.tensor("output_norm.weight", [5], GGML_TYPE["f32"], rng.bytes(20))
        source = self.tmp / "types.gguf"
        source.write_bytes(gguf.build())

        back = self.convert(self.convert(source, "types.owf"), "types-back.gguf")
        self.assertEqual(back.read_bytes(), source.read_bytes())
        seen = self.assert_node_agrees_with_owf(back)
        self.assertEqual([kv["key"] for kv in seen["kv"]], [k for k, _, _ in values] + [k for k, _, _ in arrays])
        for (key, value_type, value), node_kv in zip(values, seen["kv"]):
            self.assertEqual(node_kv["type"], VALUE_TYPE[value_type], key)
            self.assertTrue(same_value(value_type, node_kv["value"], value), key)
        for (key, element_type, items), node_kv in zip(arrays, seen["kv"][len(values):]):
            self.assertEqual(node_kv["element_type"], VALUE_TYPE[element_type], key)
            self.assertTrue(all(same_value(element_type, n, o) for n, o in zip(node_kv["value"], items)), key)
        self.assertEqual([(t["name"], t["type"]) for t in seen["tensors"]],
                         [(name, ggml_type) for name, _, ggml_type, _ in gguf.tensors])

    def test_quantized_output_is_read_by_node(self):
        out = self.convert(CORPUS / "safetensors" / "silero_vad_16k.safetensors", "q8.gguf", "--dtype", "q8_0")
        seen = self.assert_node_agrees_with_owf(out)
        types = {t["type"] for t in seen["tensors"]}
        self.assertIn(GGML_TYPE["q8_0"], types)
        keys = {kv["key"]: kv for kv in seen["kv"]}
        self.assertEqual(keys["general.quantization_version"]["value"], 2)  # required with quantized tensors
        for tensor in seen["tensors"]:
            if tensor["type"] == GGML_TYPE["q8_0"]:
                self.assertEqual(int(tensor["dims"][0]) % 32, 0, tensor["name"])
                self.assertGreaterEqual(len(tensor["dims"]), 2, tensor["name"])

    def test_what_gguf_cannot_hold_is_refused(self):
        source = self.tmp / "mask.safetensors"
        write_safetensors(source, [("mask", "U8", [4], b"\0\1\1\0")])
        result = run_owf("convert", source, self.tmp / "mask.gguf")
        self.assertRefused(result, "mask.gguf", "tensor 'mask': dtype u8 has no GGUF type")
        self.assertFalse((self.tmp / "mask.gguf").exists())
        legacy = CORPUS / "other" / "whisper.cpp-for-tests-silero-v6.2.0-ggml.bin"
        self.assertRefused(run_owf("convert", legacy, self.tmp / "x.gguf"),
                           "legacy ggml file ('lmgg' magic, pre-GGUF): not supported")


if __name__ == "__main__":
    unittest.main()
