"""owf's ggml quantizers and newest block types against ggml's own code, bit for bit.

`owf convert --dtype q4_k|q5_k|q6_k|q8_0|q4_0` writes GGUF blocks that must equal what ggml's
ggml_quantize_chunk (quantize_row_*_ref, no importance matrix) produces from the same floats; ggml is
the prebuilt llama.cpp library of npm @fugood/node-llama-linux-x64, called through ctypes. The blocks
owf decodes (`convert --dtype f32`) must equal ggml's dequantize_row_*, and stay within each type's
error bound of the source values. The ggml types newer than owf's first table (NVFP4, Q1_0, Q2_0)
pass through GGUF unchanged and decode as ggml's dequantize_row_* does, for random blocks.
"""
import unittest

import numpy as np

import owftest
from llamatest import GGUF, GGML_TYPE, Ggml, write_gguf
from owftest import run_owf

# Block bytes per 256 elements, and the worst RMS error relative to the RMS of Gaussian rows that
# each type keeps (measured: q4_k 0.10, q5_k 0.05, q6_k 0.025, q8_0 0.005, q4_0 0.12 on N(0, 1)).
TYPES = {"q4_k": (144, 0.12), "q5_k": (176, 0.06), "q6_k": (210, 0.03), "q8_0": (272, 0.01), "q4_0": (144, 0.14)}


def test_rows():
    """Rows of 512 floats that exercise the quantizers' branches, as one (rows, 512) array."""
    rng = np.random.default_rng(8)
    rows = [rng.standard_normal(512) for _ in range(8)]
    rows.append(rng.uniform(0.5, 2.0, 512))                  # all positive: the min clamps to 0
    rows.append(-rng.uniform(0.5, 2.0, 512))                 # all negative
    rows.append(np.zeros(512))                               # zero blocks: d = 0
    rows.append(np.full(512, 0.75))                          # constant groups
    outliers = rng.standard_normal(512)
    outliers[[3, 100, 300]] = [40.0, -55.0, 70.0]
    rows.append(outliers)
    rows.append(rng.standard_normal(512) * 1e-6)             # scales in f16's subnormal range
    rows.append(rng.standard_normal(512) * 3e3)              # large values
    sparse = np.zeros(512)
    sparse[rng.choice(512, 20, replace=False)] = rng.standard_normal(20)
    rows.append(sparse)                                      # mostly zero groups
    mixed = rng.standard_normal(512)
    mixed[:16] = 0.0                                         # a zero q6_k group among non-zero ones
    mixed[256:288] = 5.0                                     # a constant q4_k group
    rows.append(mixed)
    return np.stack(rows).astype(np.float32)


class QuantizerTest(owftest.OwfTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ggml = Ggml()

    def quantize_with_owf(self, rows, type_name):
        source = self.tmp / "rows.safetensors"
        owftest.write_safetensors(source, {"w.weight": rows})
        out = self.tmp / f"rows-{type_name}.gguf"
        run_owf("convert", source, out, "--dtype", type_name, check=0)
        gguf = GGUF(out)
        ggml_type, dims, _ = gguf.tensors["w.weight"]
        self.assertEqual((ggml_type, dims), (GGML_TYPE[type_name], [rows.shape[1], rows.shape[0]]))
        block_bytes, _ = TYPES[type_name]
        return out, gguf.tensor_bytes("w.weight", rows.size // 256 * block_bytes)

    def test_blocks_equal_ggml_reference_quantizers(self):
        rows = test_rows()
        for type_name in TYPES:
            with self.subTest(type=type_name):
                _, raw = self.quantize_with_owf(rows, type_name)
                expected = self.ggml.quantize(type_name, rows)
                self.assertEqual(len(raw), len(expected))
                block = len(raw) // (rows.size // 256)
                differing = [i for i in range(0, len(raw), block) if raw[i:i + block] != expected[i:i + block]]
                self.assertEqual(differing[:5], [], f"{len(differing)} {type_name} super-blocks differ from ggml's")

    def test_decoded_values_equal_ggml_and_stay_within_bounds(self):
        rows = test_rows()
        gaussian = rows[:8]
        for type_name, (_, bound) in TYPES.items():
            with self.subTest(type=type_name):
                out, raw = self.quantize_with_owf(rows, type_name)
                decoded_file = self.tmp / f"decoded-{type_name}.safetensors"
                run_owf("convert", out, decoded_file, "--dtype", "f32", check=0)
                tensors, _ = owftest.read_safetensors(decoded_file)
                decoded = tensors["w.weight"]
                ggml_decoded = self.ggml.dequantize(type_name, raw, rows.size).reshape(rows.shape)
                np.testing.assert_array_equal(decoded, ggml_decoded)
                error = np.sqrt(np.mean((decoded[:8] - gaussian) ** 2)) / np.sqrt(np.mean(gaussian ** 2))
                self.assertLess(error, bound)
                np.testing.assert_array_equal(decoded[10], 0.0)  # zeros stay exactly zero
                # No element is off by more than a tenth of its row's range (q4's 15 steps, plus scale
                # rounding); except in row 13, whose scales can underflow f16 and decode as 0, as in ggml.
                spread = rows.max(axis=1, keepdims=True) - np.minimum(rows.min(axis=1, keepdims=True), 0)
                within = np.abs(decoded - rows) <= 0.1 * spread
                self.assertLessEqual(set(np.flatnonzero(~within.all(axis=1)).tolist()), {13})

    def test_rows_that_are_not_whole_super_blocks_fall_back(self):
        rng = np.random.default_rng(1)
        source = self.tmp / "mixed.safetensors"
        owftest.write_safetensors(source, {
            "a.weight": rng.standard_normal((4, 256)).astype(np.float32),   # whole super-blocks: q4_k
            "b.weight": rng.standard_normal((4, 96)).astype(np.float32),    # whole 32-blocks: q8_0
            "c.weight": rng.standard_normal((4, 40)).astype(np.float32),    # neither: f16
            "d.bias": rng.standard_normal(256).astype(np.float32),          # 1-D: f32
            "e.norm.weight": rng.standard_normal((2, 256)).astype(np.float32),  # a norm: f32
        })
        out = self.tmp / "mixed.gguf"
        run_owf("convert", source, out, "--dtype", "q4_k", check=0)
        types = {name: info[0] for name, info in GGUF(out).tensors.items()}
        self.assertEqual(types, {"a.weight": GGML_TYPE["q4_k"], "b.weight": GGML_TYPE["q8_0"],
                                 "c.weight": GGML_TYPE["f16"], "d.bias": GGML_TYPE["f32"],
                                 "e.norm.weight": GGML_TYPE["f32"]})


class NewTypesTest(owftest.OwfTestCase):
    # Elements and bytes per block, and the byte offsets of the block's f16 scale (random bytes there
    # would mostly be infinities and NaN; ggml's decoders pass those through like any other value).
    TYPES = {"nvfp4": (64, 36, None), "q1_0": (128, 18, 0), "q2_0": (64, 18, 0)}

    def test_blocks_pass_through_and_decode_as_ggml(self):
        ggml = Ggml()
        rng = np.random.default_rng(42)
        for type_name, (elements, block_bytes, scale_offset) in self.TYPES.items():
            with self.subTest(type=type_name):
                rows, blocks_per_row = 16, 4
                blocks = rng.integers(0, 256, (rows * blocks_per_row, block_bytes), dtype=np.uint8)
                if scale_offset is None:  # nvfp4: its 64 blocks' 256 UE4M3 scales take every byte value
                    blocks[:, :4] = np.arange(256, dtype=np.uint8).reshape(-1, 4)
                else:
                    scales = rng.standard_normal(len(blocks)).astype(np.float16).view(np.uint8).reshape(-1, 2)
                    blocks[:, scale_offset:scale_offset + 2] = scales
                raw = blocks.tobytes()
                source = self.tmp / f"{type_name}.gguf"
                write_gguf(source, [("w", GGML_TYPE[type_name], [elements * blocks_per_row, rows], raw)])
                inspected = owftest.json.loads(run_owf("inspect", "--json", source, check=0).stdout)
                self.assertEqual([t["dtype"] for t in inspected["tensors"]], [type_name])
                copy = self.tmp / f"{type_name}-copy.gguf"
                run_owf("convert", source, copy, check=0)
                self.assertEqual(GGUF(copy).tensor_bytes("w", len(raw)), raw)
                decoded_file = self.tmp / f"{type_name}.safetensors"
                run_owf("convert", source, decoded_file, "--dtype", "f32", check=0)
                decoded = owftest.read_safetensors(decoded_file)[0]["w"]
                expected = ggml.dequantize(type_name, raw, rows * blocks_per_row * elements).reshape(decoded.shape)
                np.testing.assert_array_equal(decoded, expected)


if __name__ == "__main__":
    unittest.main()
