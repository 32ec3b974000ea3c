"""PyTorch interop: state dicts saved by Debian's torch (zip and legacy form) -> owf convert -> .owf
-> .pt -> torch.load(weights_only=True) must give back the same names, dtypes, shapes and values;
ties must share one storage again, and `owf diff` must find the .pt and the .owf equal."""
import collections
import unittest

import torch

from owftest import OwfTestCase, run_owf


def dtype_zoo():
    """One tensor per dtype the .pt writer supports, with awkward values."""
    base = torch.tensor([0.0, -1.5, 3.25, 1e-3, -0.0, 65504.0])
    return collections.OrderedDict([
        ("f32", base.clone()),
        ("f16", base.to(torch.float16)),
        ("bf16", base.to(torch.bfloat16)),
        ("f64", base.to(torch.float64) / 3),
        ("i8", torch.tensor([-128, -1, 0, 1, 127], dtype=torch.int8)),
        ("u8", torch.tensor([0, 1, 254, 255], dtype=torch.uint8)),
        ("i16", torch.tensor([-32768, 7, 32767], dtype=torch.int16)),
        ("i32", torch.tensor([-2**31, 5, 2**31 - 1], dtype=torch.int32)),
        ("i64", torch.tensor([-2**63, 3, 2**63 - 1], dtype=torch.int64)),
        ("bool", torch.tensor([True, False, True])),
        ("c64", torch.tensor([1 + 2j, -3.5j], dtype=torch.complex64)),
        ("scalar", torch.tensor(2.5)),
        ("empty", torch.zeros(0, 3)),
    ])


def views():
    """Views torch saves with their storage: slices, transposes, a broadcast, shared storage."""
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    return collections.OrderedDict([
        ("base", base),
        ("row_slice", base[1:3]),
        ("column", base[:, 2]),
        ("transpose", base.t()),
        ("strided", base[::2, 1::3]),
        ("expanded", torch.arange(3, dtype=torch.int64).expand(4, 3)),
        ("other.weight", torch.randn(5, 7).t().contiguous().t()),
    ])


def tied():
    embedding = torch.randn(16, 8)
    return collections.OrderedDict([
        ("tok_embeddings.weight", embedding),
        ("norm.weight", torch.ones(8)),
        ("output.weight", embedding),
    ])


class PyTorchInterop(OwfTestCase):
    def save(self, obj, name, legacy):
        path = self.tmp / name
        torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
        return path

    def round_trip(self, state, name, legacy, key=None):
        """source .pt -> .owf -> .pt; returns (owf path, final .pt path, what torch.load reads)."""
        source = self.save(state, name + ".pt", legacy)
        owf = self.tmp / (name + ".owf")
        final = self.tmp / (name + "-back.pt")
        key_args = ["--key", key] if key else []
        run_owf("convert", source, owf, *key_args, check=0)
        run_owf("convert", owf, final, check=0)
        run_owf("diff", source, owf, *key_args, check=0)
        run_owf("diff", final, owf, check=0)
        loaded = torch.load(final, weights_only=True)
        return owf, final, loaded

    def assertSameState(self, loaded, expected):
        self.assertIsInstance(loaded, collections.OrderedDict)
        self.assertEqual(list(loaded.keys()), list(expected.keys()))
        for name, tensor in expected.items():
            with self.subTest(tensor=name):
                self.assertEqual(loaded[name].dtype, tensor.dtype)
                self.assertEqual(loaded[name].shape, tensor.shape)
                self.assertTrue(torch.equal(loaded[name], tensor))
                self.assertTrue(loaded[name].is_contiguous())

    def test_dtypes_zip_and_legacy(self):
        for legacy in (False, True):
            with self.subTest(legacy=legacy):
                state = dtype_zoo()
                _, _, loaded = self.round_trip(state, f"dtypes-{legacy}", legacy)
                self.assertSameState(loaded, state)

    def test_views_become_contiguous_with_the_same_values(self):
        for legacy in (False, True):
            with self.subTest(legacy=legacy):
                state = views()
                _, _, loaded = self.round_trip(state, f"views-{legacy}", legacy)
                self.assertSameState(loaded, state)

    def test_tied_weights_share_one_storage_again(self):
        for legacy in (False, True):
            with self.subTest(legacy=legacy):
                state = tied()
                owf, _, loaded = self.round_trip(state, f"tied-{legacy}", legacy)
                self.assertSameState(loaded, state)
                self.assertEqual(loaded["output.weight"].data_ptr(), loaded["tok_embeddings.weight"].data_ptr())
                self.assertNotEqual(loaded["norm.weight"].data_ptr(), loaded["tok_embeddings.weight"].data_ptr())
                meta = run_owf("meta", "get", owf, "pytorch.tied", check=0).stdout
                self.assertIn('"output.weight": "tok_embeddings.weight"', meta)

    def test_nested_checkpoint_flattens_or_selects_a_key(self):
        model = collections.OrderedDict([("fc.weight", torch.randn(3, 2)), ("fc.bias", torch.zeros(3))])
        checkpoint = {"state_dict": model, "epoch": 3, "best": 0.25, "tags": ["a", "b"]}
        for legacy in (False, True):
            with self.subTest(legacy=legacy):
                source = self.save(checkpoint, f"ckpt-{legacy}.pt", legacy)
                flat = self.tmp / f"flat-{legacy}.owf"
                run_owf("convert", source, flat, check=0)
                inspect = run_owf("inspect", flat, check=0).stdout
                self.assertIn("state_dict.fc.weight", inspect)
                meta = run_owf("meta", "get", flat, "pytorch.values", check=0).stdout
                self.assertIn('"epoch": 3', meta)
                self.assertIn('"best": 0.25', meta)
                _, _, loaded = self.round_trip(checkpoint, f"sub-{legacy}", legacy, key="state_dict")
                self.assertSameState(loaded, model)

    def test_module_state_dicts_parameters_and_pickle_protocols(self):
        """A real nn.Module state dict (OrderedDict with _metadata, BatchNorm's int64 counter), raw
        nn.Parameters (_rebuild_parameter), and pickle protocols 2-5 (FRAME, MEMOIZE, STACK_GLOBAL)."""
        torch.manual_seed(0)
        module = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Embedding(5, 2))
        cases = {
            "module": module.state_dict(),
            "parameters": collections.OrderedDict((name, p) for name, p in module.named_parameters()),
        }
        for label, state in cases.items():
            for protocol in (2, 3, 4, 5):
                for legacy in (False, True):
                    with self.subTest(state=label, protocol=protocol, legacy=legacy):
                        source = self.tmp / f"{label}-{protocol}-{legacy}.pt"
                        torch.save(state, source, pickle_protocol=protocol, _use_new_zipfile_serialization=not legacy)
                        back = self.tmp / f"{label}-{protocol}-{legacy}-back.pt"
                        run_owf("convert", source, back, check=0)
                        expected = collections.OrderedDict((k, v.detach()) for k, v in state.items())
                        self.assertSameState(torch.load(back, weights_only=True), expected)

    def test_missing_key_is_refused_naming_it(self):
        source = self.save({"model": {"w": torch.ones(2)}}, "keys.pt", legacy=False)
        result = run_owf("convert", source, self.tmp / "keys.owf", "--key", "state_dict")
        self.assertRefused(result, "key 'state_dict' not found", "top-level keys: model")

    def test_dtype_torch_lacks_is_refused_naming_the_tensor(self):
        source = self.save(collections.OrderedDict([("w", torch.ones(64, 32))]), "q.pt", legacy=False)
        quantized = self.tmp / "q.owf"
        run_owf("convert", source, quantized, "--dtype", "q8_0", check=0)
        result = run_owf("convert", quantized, self.tmp / "q-back.pt")
        self.assertRefused(result, "tensor 'w'", "dtype q8_0 has no torch storage type")
        self.assertFalse((self.tmp / "q-back.pt").exists())


if __name__ == "__main__":
    unittest.main()
