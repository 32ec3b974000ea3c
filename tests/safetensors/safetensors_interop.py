"""safetensors interop through the owf CLI. Files owf writes (single and
sharded) are read back by a small pure-Python safetensors reader written here
from the format description, and compared with numpy's view of the same
weights; bf16 values come from torch; bad inputs are refused with one line."""
import json
import struct
import unittest

import numpy as np

from owftest import CORPUS, OwfTestCase, run_owf

NUMPY_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
                "I8": "i1", "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?", "BF16": "<u2"}


def read_safetensors(path):
    """(metadata, {name: array}) of a safetensors file, checking its layout."""
    data = path.read_bytes()
    (header_size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_size])
    assert (8 + header_size) % 8 == 0, "data section is not 8-byte aligned"
    body = data[8 + header_size:]
    metadata = header.pop("__metadata__", None) or {}
    tensors, end = {}, 0
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"]):
        begin, stop = entry["data_offsets"]
        assert begin == end, f"{name}: offsets {begin}..{stop} do not follow {end}"
        array = np.frombuffer(body[begin:stop], dtype=NUMPY_DTYPES[entry["dtype"]])
        tensors[name] = array.reshape(entry["shape"])
        end = stop
    assert end == len(body), "data section not covered exactly"
    return metadata, tensors


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: (dtype, shape, bytes)} as the reference implementation lays it out."""
    header, offset, body = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        body += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + body)


class SafetensorsInterop(OwfTestCase):
    def convert(self, source, target, *flags):
        run_owf("convert", source, target, *flags, check=0)

    def assertSameTensors(self, expected, actual):
        self.assertEqual(sorted(actual), sorted(expected))
        for name, array in expected.items():
            self.assertEqual(actual[name].shape, array.shape, name)
            self.assertTrue(np.array_equal(actual[name], array), name)

    def test_corpus_files_convert_and_read_back_by_an_independent_reader(self):
        for path in sorted((CORPUS / "safetensors").glob("*.safetensors")):
            with self.subTest(path.name):
                _, original = read_safetensors(path)
                target = self.tmp / path.name
                self.convert(path, self.tmp / (path.stem + ".owf"))
                self.convert(self.tmp / (path.stem + ".owf"), target)
                metadata, converted = read_safetensors(target)
                self.assertSameTensors(original, converted)
                self.assertEqual(metadata["format"], "pt")
                # numpy sees the same values through .npz.
                self.convert(path, self.tmp / (path.stem + ".npz"))
                with np.load(self.tmp / (path.stem + ".npz")) as archive:
                    self.assertSameTensors(original, {name: archive[name] for name in archive.files})
                hashes = {run_owf("hash", p, check=0).stdout.split()[0]
                          for p in (path, target, self.tmp / (path.stem + ".npz"))}
                self.assertEqual(len(hashes), 1)

    def test_sharded_output_follows_hugging_face_naming_and_reads_back(self):
        source = CORPUS / "npz" / "g2p_en-checkpoint20.npz"
        self.convert(source, self.tmp / "model.safetensors", "--max-shard-size", "1MiB")
        index = json.loads((self.tmp / "model.safetensors.index.json").read_text())
        shards = sorted({shard for shard in index["weight_map"].values()})
        count = len(shards)
        self.assertGreater(count, 2)
        self.assertEqual(shards, [f"model-{k:05d}-of-{count:05d}.safetensors" for k in range(1, count + 1)])
        self.assertFalse((self.tmp / "model.safetensors").exists())
        with np.load(source) as archive:
            expected = {name: archive[name] for name in archive.files}
        found = {}
        for shard in shards:
            metadata, tensors = read_safetensors(self.tmp / shard)
            self.assertLessEqual(sum(a.nbytes for a in tensors.values()), 1 << 20)
            self.assertEqual(metadata["format"], "pt")
            for name in tensors:
                self.assertEqual(index["weight_map"][name], shard)
            found.update(tensors)
        self.assertSameTensors(expected, found)
        self.assertEqual(index["metadata"]["total_size"], sum(a.nbytes for a in expected.values()))
        # The index reads back as one model.
        self.convert(self.tmp / "model.safetensors.index.json", self.tmp / "joined.npz")
        with np.load(self.tmp / "joined.npz") as archive:
            self.assertSameTensors(expected, {name: archive[name] for name in archive.files})

    def test_bf16_from_torch_round_trips_and_is_refused_by_npz(self):
        import torch
        values = torch.tensor([[1.5, -2.25, 3.0e-3], [65504.0, -0.0, 1.0e30]], dtype=torch.bfloat16)
        raw = values.view(torch.int16).numpy().astype("<i2").tobytes()
        source = self.tmp / "bf16.safetensors"
        write_safetensors(source, {"w": ("BF16", values.shape, raw)}, {"format": "pt", "note": "from torch"})
        self.convert(source, self.tmp / "bf16.owf")
        self.convert(self.tmp / "bf16.owf", self.tmp / "back.safetensors")
        metadata, tensors = read_safetensors(self.tmp / "back.safetensors")
        self.assertEqual(tensors["w"].tobytes(), raw)
        self.assertEqual(metadata["note"], "from torch")
        result = run_owf("convert", source, self.tmp / "bf16.npz")
        self.assertRefused(result, "bf16.npz", "tensor 'w': NumPy has no dtype bf16")

    def test_metadata_survives_safetensors_owf_safetensors(self):
        source = self.tmp / "meta.safetensors"
        write_safetensors(source, {"w": ("F32", (2,), np.ones(2, "<f4").tobytes())},
                          {"format": "pt", "quote": "a \"quoted\" {text}"})
        self.convert(source, self.tmp / "meta.owf", "--set", 'training={"epochs":3}')
        meta = json.loads(run_owf("meta", self.tmp / "meta.owf", check=0).stdout)
        self.assertEqual(meta["quote"], "a \"quoted\" {text}")
        self.convert(self.tmp / "meta.owf", self.tmp / "back.safetensors")
        metadata, _ = read_safetensors(self.tmp / "back.safetensors")
        self.assertEqual(metadata["quote"], "a \"quoted\" {text}")
        self.assertEqual(json.loads(metadata["training"]), {"epochs": 3})
        self.assertIn("training", json.loads(metadata["owf.json_keys"]))

    def test_bad_inputs_are_refused_with_one_line_naming_file_and_problem(self):
        good = self.tmp / "good.safetensors"
        write_safetensors(good, {"w": ("F32", (2, 2), bytes(16))})
        truncated = self.tmp / "truncated.safetensors"
        truncated.write_bytes(good.read_bytes()[:-4])
        negative = self.tmp / "negative.safetensors"
        write_safetensors(negative, {"w": ("F32", (-2, 2), bytes(16))})
        unknown = self.tmp / "unknown.safetensors"
        write_safetensors(unknown, {"w": ("F128", (1,), bytes(16))})
        duplicate = self.tmp / "duplicate.safetensors"
        text = b'{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}'
        duplicate.write_bytes(struct.pack("<Q", len(text)) + text + b"\0\0")
        cases = [
            (truncated, "data offsets 0..16 exceed the 12 bytes of data"),
            (negative, "tensor 'w': negative dimension -2"),
            (unknown, "tensor 'w': unknown dtype 'F128'"),
            (duplicate, "duplicate key 'w'"),
        ]
        for path, fragment in cases:
            with self.subTest(path.name):
                result = run_owf("convert", path, self.tmp / "out.npz")
                self.assertRefused(result, path.name, fragment)
                self.assertFalse((self.tmp / "out.npz").exists())
        # Quantized weights have no safetensors dtype: the message says what to do.
        self.convert(CORPUS / "npy" / "g2p_en-enc_w_hh.npy", self.tmp / "q.owf", "--dtype", "q4_0")
        result = run_owf("convert", self.tmp / "q.owf", self.tmp / "q.safetensors")
        self.assertRefused(result, "q.safetensors", "safetensors has no dtype q4_0; convert with --dtype f16")


if __name__ == "__main__":
    unittest.main()
