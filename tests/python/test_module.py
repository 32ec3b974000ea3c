"""The Python module `owf` against Debian's numpy and torch: every corpus file, every dtype they have,
slices of raw and compressed tensors, save_file to every writable format read back by the peers."""
import gc
import json
import sys
import unittest
import zipfile

import numpy as np
import torch

import owf
from owftest import CORPUS, OwfTestCase, content_digest, read_safetensors, run_owf

# Every corpus file owf must read, and how a real peer reads the same weights (None: no Python peer).
def _numpy_npz(path):
    with np.load(path) as archive:
        return {name: archive[name] for name in archive.files}


def _torch_state(path):
    state = torch.load(path, map_location="cpu")
    return {name: value for name, value in state.items() if isinstance(value, torch.Tensor)}


def _onnx_initializers(path):
    """The graph's initializers only: owf also reads the tensors of Constant nodes."""
    import onnx
    from onnx import numpy_helper
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}


READABLE = {
    "gguf/ggml-mnist-fc-f32.gguf": None,
    "gguf/ollama-llama-2-tiny-random.gguf": None,
    "gguf/llama.cpp-vocab-llama-spm.gguf": None,
    "gguf/llama.cpp-vocab-bert-bge.gguf": None,
    "gguf/llama.cpp-vocab-phi-3.gguf": None,
    "safetensors/silero_vad_16k.safetensors": lambda p: read_safetensors(p)[0],
    "safetensors/ollama-discollama-adapters.safetensors": lambda p: read_safetensors(p)[0],
    "pytorch/ggml-mnist_model.state_dict": _torch_state,
    "pytorch/stories260K-bf16.pt": _torch_state,
    "pytorch/facenet-mtcnn-pnet.pt": _torch_state,
    "pytorch/facenet-mtcnn-rnet.pt": _torch_state,
    "pytorch/facenet-mtcnn-onet.pt": _torch_state,
    "npz/g2p_en-checkpoint20.npz": _numpy_npz,
    "npy/g2p_en-enc_w_hh.npy": lambda p: {"g2p_en-enc_w_hh": np.load(p)},
    "onnx/silero_vad_16k_op15.onnx": _onnx_initializers,
    "onnx/silero_vad_v6-repo.onnx": None,
}
REFUSED = [
    "gguf/ggml-vocab-llama-spm.gguf",
    "pytorch/silero_vad-torchscript.jit",
    "other/stories260K.bin",
    "other/whisper.cpp-for-tests-silero-v6.2.0-ggml.bin",
]

NUMPY_DTYPES = ["bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
                "float16", "float32", "float64", "complex64", "complex128"]
TORCH_DTYPES = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.float16,
                torch.bfloat16, torch.float32, torch.float64, torch.complex64, torch.complex128]


def sample(dtype, shape=(6, 5)):
    """Deterministic values of a NumPy dtype, not all equal."""
    values = np.arange(np.prod(shape)).reshape(shape) * 37 % 23 - 7
    if np.dtype(dtype).kind == "c":
        return (values + 1j * values[::-1]).astype(dtype)
    if np.dtype(dtype).kind == "u":
        values = np.abs(values)
    return values.astype(dtype)


def to_numpy(value):
    """A peer's tensor as a NumPy array (bf16 widened to float32, as torch does)."""
    if isinstance(value, torch.Tensor):
        return (value.float() if value.dtype == torch.bfloat16 else value).numpy()
    return np.asarray(value)


def as_float32(array):
    """An owf array as float32 values (raw bf16 bytes widened) for comparing with a peer."""
    if isinstance(array, owf.RawArray):
        assert array.owf_dtype == "bf16", array.owf_dtype
        words = np.frombuffer(array.tobytes(), dtype="<u2").astype(np.uint32) << 16
        return words.view(np.float32).reshape(array.owf_shape)
    return array


class CorpusTest(OwfTestCase):
    def test_every_readable_file_matches_its_peer_and_the_cli(self):
        for relative, peer in READABLE.items():
            path = CORPUS / relative
            with self.subTest(relative), owf.safe_open(path) as f:
                names = f.keys()
                cli = json.loads(run_owf("inspect", path, "--json", check=0).stdout)
                self.assertEqual(names, [t["name"] for t in cli["tensors"]])
                self.assertIsInstance(f.metadata(), dict)
                tensors = {name: f.get_tensor(name) for name in names}
                if peer is not None:
                    expected = peer(path)
                    if peer is _onnx_initializers:
                        self.assertLessEqual(set(expected), set(names))
                    else:
                        self.assertEqual(sorted(expected), sorted(names))
                    for name, value in expected.items():
                        np.testing.assert_array_equal(as_float32(tensors[name]), to_numpy(value), err_msg=name)
                self.assertEqual(owf.content_digest(path), run_owf("hash", path, check=0).stdout.split()[0])

    def test_pt_framework_gives_torch_tensors_equal_to_torch_load(self):
        path = CORPUS / "pytorch/stories260K-bf16.pt"
        expected = _torch_state(path)
        loaded = owf.load_file(path, framework="pt")
        self.assertEqual(list(loaded), list(expected))
        for name, value in expected.items():
            self.assertEqual(loaded[name].dtype, torch.bfloat16)
            self.assertTrue(torch.equal(loaded[name], value), name)

    def test_dequantize_gives_float32(self):
        path = CORPUS / "pytorch/stories260K-bf16.pt"
        expected = _torch_state(path)
        with owf.safe_open(path) as f:
            for name in f.keys():
                values = f.get_tensor(name, dequantize=True)
                self.assertEqual(values.dtype, np.float32)
                np.testing.assert_array_equal(values, expected[name].float().numpy())

    def test_refused_files_raise_owf_error_naming_the_file(self):
        for relative in REFUSED:
            with self.subTest(relative):
                with self.assertRaises(owf.OwfError) as caught:
                    owf.safe_open(CORPUS / relative)
                self.assertIn(relative.split("/")[-1], str(caught.exception))
                self.assertIsInstance(caught.exception, ValueError)


class ZeroCopyTest(OwfTestCase):
    def test_raw_tensors_share_the_map_read_only_and_outlive_the_handle(self):
        path = self.tmp / "m.owf"
        original = sample("float32", (64, 32))
        owf.save_file({"w": original}, path)
        f = owf.safe_open(path)
        first, second = f.get_tensor("w"), f.get_tensor("w")
        self.assertEqual(first.ctypes.data, second.ctypes.data)
        self.assertFalse(first.flags.writeable)
        with self.assertRaises(ValueError):
            first[0, 0] = 1
        with self.assertRaises(ValueError):
            first.flags.writeable = True
        f.close()
        del f, second
        gc.collect()
        np.testing.assert_array_equal(first, original)  # the map lives while the array does

    def test_compressed_tensors_are_decoded(self):
        path = self.tmp / "c.owf"
        original = sample("float32", (256, 64))
        owf.save_file({"w": original}, path, compress=True)
        with owf.safe_open(path) as f:
            self.assertNotEqual(f._tensor("w").encoding, "raw")
            np.testing.assert_array_equal(f.get_tensor("w"), original)


class DtypeTest(OwfTestCase):
    def test_every_numpy_dtype_round_trips(self):
        for dtype in NUMPY_DTYPES:
            for suffix in (".owf", ".safetensors"):
                with self.subTest(dtype=dtype, format=suffix):
                    if suffix == ".safetensors" and np.dtype(dtype).kind == "c":
                        continue  # safetensors has no complex dtype
                    path = self.tmp / f"{dtype}{suffix}"
                    original = sample(dtype)
                    owf.save_file({"t": original, "scalar": original[0, 0].reshape(())}, path)
                    loaded = owf.load_file(path)
                    self.assertEqual(loaded["t"].dtype, original.dtype)
                    np.testing.assert_array_equal(loaded["t"], original)
                    self.assertEqual(loaded["scalar"].shape, ())
                    self.assertEqual(owf.content_digest(path), content_digest({"t": original,
                                                                             "scalar": original[0, 0].reshape(())}))

    def test_big_endian_and_strided_arrays_are_written_as_their_values(self):
        path = self.tmp / "m.owf"
        big = sample("float64").astype(">f8")
        strided = sample("int32", (8, 8))[::2, 1::3]
        owf.save_file({"big": big, "strided": strided}, path)
        loaded = owf.load_file(path)
        np.testing.assert_array_equal(loaded["big"], big)
        np.testing.assert_array_equal(loaded["strided"], strided)

    def test_every_torch_dtype_round_trips(self):
        for dtype in TORCH_DTYPES:
            with self.subTest(dtype=dtype):
                path = self.tmp / "t.owf"
                original = torch.from_numpy(sample("float64")).to(dtype)
                owf.save_file({"t": original}, path)
                loaded = owf.load_file(path, framework="pt")["t"]
                self.assertEqual(loaded.dtype, dtype)
                self.assertTrue(torch.equal(loaded, original))

    def test_dtypes_numpy_lacks_come_back_as_named_raw_bytes(self):
        path = self.tmp / "b.owf"
        original = torch.from_numpy(sample("float32")).to(torch.bfloat16)
        owf.save_file({"t": original}, path)
        raw = owf.load_file(path)["t"]
        self.assertIsInstance(raw, owf.RawArray)
        self.assertEqual((raw.owf_dtype, raw.owf_shape, raw.dtype, raw.nbytes), ("bf16", (6, 5), np.uint8, 60))
        self.assertEqual(raw.tobytes(), original.view(torch.int16).numpy().tobytes())
        owf.save_file({"again": raw}, self.tmp / "again.owf")  # raw bytes are written back as their dtype
        self.assertTrue(torch.equal(owf.load_file(self.tmp / "again.owf", framework="pt")["again"], original))

    def test_dtypes_torch_lacks_come_back_as_named_raw_bytes(self):
        if hasattr(torch, "uint16"):
            self.skipTest("this torch has uint16")
        path = self.tmp / "u.owf"
        owf.save_file({"t": sample("uint16")}, path)
        raw = owf.load_file(path, framework="pt")["t"]
        self.assertEqual((raw.dtype, raw.owf_dtype, raw.owf_shape), (torch.uint8, "u16", (6, 5)))
        self.assertEqual(raw.numpy().tobytes(), sample("uint16").tobytes())


class SliceTest(OwfTestCase):
    INDEXES = [np.s_[2:4], np.s_[:, 1:3], np.s_[1], np.s_[-3:], np.s_[::2], np.s_[::-1], np.s_[3:1:-1],
               np.s_[1, 2:5], np.s_[5:2], np.s_[2:4, 1:4], np.s_[0, 0], np.s_[7:, 1]]

    def test_slices_of_raw_and_compressed_tensors_match_numpy(self):
        original = sample("float32", (8, 6))
        for compress in (False, True):
            path = self.tmp / f"s{compress}.owf"
            owf.save_file({"w": original}, path, compress=compress)
            for framework in ("np", "pt"):
                with owf.safe_open(path, framework=framework) as f:
                    s = f.get_slice("w")
                    self.assertEqual((s.get_shape(), s.get_dtype()), ([8, 6], "f32"))
                    for index in self.INDEXES:
                        with self.subTest(compress=compress, framework=framework, index=index):
                            part = s[index]
                            np.testing.assert_array_equal(to_numpy(part), original[index])
                            if framework == "np" and not compress:  # slices of raw tensors are views of the map
                                self.assertFalse(part.flags.writeable)

    def test_slices_of_compressed_tensors_decode_only_their_chunks(self):
        original = sample("float32", (1024, 4096))  # 16 MiB: 16 chunks of 1 MiB, 64 rows each
        path = self.tmp / "c.owf"
        owf.save_file({"w": original}, path, compress=True)
        with owf.safe_open(path) as f:
            np.testing.assert_array_equal(f.get_slice("w")[100:110, 5:9], original[100:110, 5:9])
            self.assertEqual(f.statistics()["chunks_decoded"], 1)
            np.testing.assert_array_equal(f.get_slice("w")[60:70], original[60:70])  # crosses into chunk 1
            self.assertEqual(f.statistics()["chunks_decoded"], 3)
            f.get_tensor("w")
            self.assertEqual(f.statistics()["chunks_decoded"], 19)

    def test_raw_byte_tensors_slice_by_rows_only(self):
        path = self.tmp / "b.owf"
        original = torch.from_numpy(sample("float32")).to(torch.bfloat16)
        owf.save_file({"t": original}, path, compress=True)
        with owf.safe_open(path) as f:
            rows = f.get_slice("t")[1:3]
            self.assertEqual((rows.owf_dtype, rows.owf_shape), ("bf16", (2, 5)))
            self.assertEqual(rows.tobytes(), original[1:3].contiguous().view(torch.int16).numpy().tobytes())
            with self.assertRaises(owf.OwfError):
                f.get_slice("t")[:, 1:2]
        with owf.safe_open(path, framework="pt") as f:
            self.assertTrue(torch.equal(f.get_slice("t")[:, 1:3], original[:, 1:3]))

    def test_out_of_range_index_raises(self):
        path = self.tmp / "m.owf"
        owf.save_file({"w": sample("float32")}, path)
        with owf.safe_open(path) as f, self.assertRaises(owf.OwfError):
            f.get_slice("w")[6]


class SaveFileTest(OwfTestCase):
    TENSORS = {"a.weight": sample("float32", (4, 3)), "b.bias": sample("float32", (3,))}

    def assert_same(self, loaded):
        self.assertEqual(sorted(loaded), sorted(self.TENSORS))
        for name, value in self.TENSORS.items():
            np.testing.assert_array_equal(to_numpy(loaded[name]), value)

    def test_each_writable_format_is_read_back_by_its_peer(self):
        readers = {
            ".owf": owf.load_file,
            ".safetensors": lambda p: read_safetensors(p)[0],
            ".gguf": owf.load_file,  # no Python GGUF peer here; tests/gguf checks these files with gguf.js
            ".npz": _numpy_npz,
            ".pt": _torch_state,
        }
        for suffix, reader in readers.items():
            with self.subTest(suffix):
                path = self.tmp / f"out{suffix}"
                owf.save_file(self.TENSORS, path, metadata={"license": "MIT"})
                self.assert_same(reader(path))
                self.assertEqual(owf.content_digest(path), content_digest(self.TENSORS))
        one = self.tmp / "one.npy"
        owf.save_file({"x": self.TENSORS["a.weight"]}, one)
        np.testing.assert_array_equal(np.load(one), self.TENSORS["a.weight"])

    def test_metadata_is_kept(self):
        path = self.tmp / "m.owf"
        owf.save_file(self.TENSORS, path, metadata={"license": "MIT", "custom": {"n": 1}})
        with owf.safe_open(path) as f:
            self.assertEqual(f.metadata()["license"], "MIT")
            self.assertEqual(f.metadata()["custom"], {"n": 1})

    def test_compressed_output_is_smaller_and_equal(self):
        tensors = {"z": np.zeros((512, 512), dtype=np.float32)}
        owf.save_file(tensors, self.tmp / "raw.owf")
        owf.save_file(tensors, self.tmp / "zstd.owf", compress=True)
        self.assertLess((self.tmp / "zstd.owf").stat().st_size, (self.tmp / "raw.owf").stat().st_size // 10)
        np.testing.assert_array_equal(owf.load_file(self.tmp / "zstd.owf")["z"], tensors["z"])

    def test_bad_writes_raise_and_leave_nothing(self):
        cases = {
            "out.unknown": ({"a": np.zeros(3)}, "out.unknown"),
            "object.owf": ({"a": np.array([object()])}, "object"),
            "empty-name.owf": ({"": np.zeros(3)}, ""),
        }
        for filename, (tensors, fragment) in cases.items():
            with self.subTest(filename):
                with self.assertRaises(owf.OwfError) as caught:
                    owf.save_file(tensors, self.tmp / filename)
                self.assertIn(fragment, str(caught.exception))
        self.assertEqual(list(self.tmp.iterdir()), [])


class ErrorTest(OwfTestCase):
    def test_errors_carry_owf_messages(self):
        with self.assertRaises(owf.OwfError) as caught:
            owf.safe_open(self.tmp / "missing.safetensors")
        self.assertIn("missing.safetensors", str(caught.exception))
        path = self.tmp / "m.owf"
        owf.save_file({"w": sample("float32")}, path)
        with owf.safe_open(path) as f:
            with self.assertRaises(owf.OwfError) as caught:
                f.get_tensor("nope")
            self.assertIn("m.owf: tensor 'nope' not found", str(caught.exception))
        with self.assertRaises(owf.OwfError):
            f.keys()  # closed
        with self.assertRaises(owf.OwfError):
            owf.safe_open(path, framework="jax")

    def test_truncated_file_raises_with_offset(self):
        path = self.tmp / "m.owf"
        owf.save_file({"w": sample("float32", (64, 64))}, path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        with self.assertRaises(owf.OwfError) as caught:
            owf.safe_open(path)
        self.assertIn("m.owf", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
