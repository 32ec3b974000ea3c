"""owf diff on constructed cases: exit codes (0 equal, 1 different, 2 error) and the figures it reports."""
import json
import unittest

import numpy

from owftest import OwfTestCase, run_owf, write_safetensors


def grid():
    return numpy.arange(6, dtype=numpy.float32).reshape(2, 3)


class DiffTest(OwfTestCase):
    def write(self, name, tensors, metadata=None):
        path = self.tmp / name
        write_safetensors(path, tensors, metadata)
        return path

    def diff_json(self, a, b, *flags, check):
        return json.loads(run_owf("diff", "--json", *flags, a, b, check=check).stdout)

    def test_identical_files_are_equal(self):
        a = self.write("a.safetensors", {"w": grid(), "b": numpy.ones(3, numpy.float32)})
        result = run_owf("diff", a, a, check=0)
        self.assertTrue(result.stdout.strip().splitlines()[-1].startswith("equal: 2 common tensors, 0 differ"))

    def test_one_changed_element(self):
        changed = grid()
        changed[1, 0] += 0.5
        a = self.write("a.safetensors", {"w": grid()})
        b = self.write("b.safetensors", {"w": changed})
        report = self.diff_json(a, b, check=1)
        self.assertFalse(report["equal"])
        [tensor] = report["tensors"]
        self.assertEqual(tensor["mismatched"], 1)
        self.assertEqual(tensor["elements"], 6)
        self.assertAlmostEqual(tensor["mismatched_percent"], 100 / 6)
        self.assertEqual(tensor["max_abs_diff"], 0.5)
        self.assertEqual(tensor["max_abs_diff_at"], {"flat": 3, "index": [1, 0]})
        self.assertEqual(tensor["max_rel_diff"], 0.5 / 3.5)
        self.assertEqual(tensor["max_rel_diff_at"]["flat"], 3)
        self.assertAlmostEqual(tensor["rmse"], (0.25 / 6) ** 0.5)
        a_flat, b_flat = grid().ravel().astype(float), changed.ravel().astype(float)
        cosine = a_flat @ b_flat / (numpy.linalg.norm(a_flat) * numpy.linalg.norm(b_flat))
        self.assertAlmostEqual(tensor["cosine"], cosine, places=12)

        text = run_owf("diff", a, b, check=1).stdout
        self.assertIn("tensor 'w': 1 of 6 elements differ", text)
        self.assertIn("max abs diff 0.5 at 3 [1, 0]", text)

    def test_listing_differing_elements(self):
        changed = grid()
        changed[0, 1] = -1
        changed[1, 2] = 9
        a = self.write("a.safetensors", {"w": grid()})
        b = self.write("b.safetensors", {"w": changed})
        [tensor] = self.diff_json(a, b, "-n", "1", check=1)["tensors"]
        self.assertEqual(tensor["mismatched"], 2)
        self.assertEqual(tensor["differences"], [{"flat": 1, "index": [0, 1], "a": 1.0, "b": -1.0}])
        text = run_owf("diff", "-n", "5", a, b, check=1).stdout
        self.assertIn("  at 1 [0, 1]: 1 vs -1", text)
        self.assertIn("  at 5 [1, 2]: 5 vs 9", text)

    def test_same_dtype_compares_exactly_by_default(self):
        close = grid() * numpy.float32(1 + 1e-7)  # within f32's assert_close rtol of 1.3e-6, but not equal
        a = self.write("a.safetensors", {"w": grid()})
        b = self.write("b.safetensors", {"w": close})
        text = run_owf("diff", a, b, check=1).stdout
        self.assertRegex(text, r"tensor 'w': \d+ of 6 elements differ \([0-9.]+%, exact\); first at \d+ ")
        [tensor] = self.diff_json(a, b, check=1)["tensors"]
        self.assertTrue(tensor["exact"])
        self.assertEqual(tensor["first_difference"]["flat"], int(numpy.flatnonzero(grid() != close)[0]))
        run_owf("diff", "--rtol", "1.3e-6", a, b, check=0)  # --rtol/--atol override exactness
        far = grid() + numpy.float32(0.25)
        c = self.write("c.safetensors", {"w": far})
        run_owf("diff", a, c, check=1)
        run_owf("diff", "--atol", "0.3", a, c, check=0)
        run_owf("diff", "--rtol", "0.1", "--atol", "0", a, c, check=1)  # 0 vs 0.25 stays far

    def test_exact_counts_signed_zero_but_not_nan_payloads(self):
        quiet_nan = numpy.array([0x7FC00000], numpy.uint32).view(numpy.float32)[0]
        other_nan = numpy.array([0x7FC00001], numpy.uint32).view(numpy.float32)[0]
        a = self.write("a.safetensors", {"z": numpy.array([0.0], numpy.float32),
                                         "n": numpy.array([quiet_nan], numpy.float32)})
        b = self.write("b.safetensors", {"z": numpy.array([-0.0], numpy.float32),
                                         "n": numpy.array([other_nan], numpy.float32)})
        report = self.diff_json(a, b, check=1)
        mismatched = {t["name"]: t["mismatched"] for t in report["tensors"]}
        self.assertEqual(mismatched, {"z": 1, "n": 0})

    def test_integers_compare_exactly(self):
        a = self.write("a.safetensors", {"i": numpy.array([1, 2, 3], numpy.int32)})
        b = self.write("b.safetensors", {"i": numpy.array([1, 2, 4], numpy.int32)})
        [tensor] = self.diff_json(a, b, check=1)["tensors"]
        self.assertEqual((tensor["rtol"], tensor["atol"], tensor["mismatched"]), (0, 0, 1))

    def test_shape_change(self):
        a = self.write("a.safetensors", {"w": grid()})
        b = self.write("b.safetensors", {"w": grid().reshape(3, 2)})
        report = self.diff_json(a, b, check=1)
        self.assertEqual((report["tensors"][0]["shape_a"], report["tensors"][0]["shape_b"]), ([2, 3], [3, 2]))
        self.assertIn("shape: 'w' [2, 3] -> [3, 2]", run_owf("diff", a, b, check=1).stdout)

    def test_renamed_tensor(self):
        a = self.write("a.safetensors", {"w": grid(), "keep": numpy.zeros(2, numpy.float32)})
        b = self.write("b.safetensors", {"weight": grid(), "keep": numpy.zeros(2, numpy.float32)})
        report = self.diff_json(a, b, check=1)
        self.assertEqual(report["renamed"], [{"a": "w", "b": "weight"}])
        self.assertEqual((report["only_in_a"], report["only_in_b"]), ([], []))
        self.assertIn("renamed: 'w' -> 'weight'", run_owf("diff", a, b, check=1).stdout)

    def test_only_in_one_side(self):
        a = self.write("a.safetensors", {"w": grid(), "extra": numpy.ones(4, numpy.float32)})
        b = self.write("b.safetensors", {"w": grid(), "other": numpy.zeros(5, numpy.float32)})
        report = self.diff_json(a, b, check=1)
        self.assertEqual((report["only_in_a"], report["only_in_b"]), (["extra"], ["other"]))

    def test_dtype_change(self):
        a = self.write("a.safetensors", {"w": grid()})
        b = self.write("b.safetensors", {"w": grid().astype(numpy.float16)})
        report = self.diff_json(a, b, check=0)  # values equal after decoding
        self.assertEqual((report["tensors"][0]["dtype_a"], report["tensors"][0]["dtype_b"]), ("f32", "f16"))
        self.assertEqual(report["tensors"][0]["rtol"], 1e-3)  # the less precise dtype's tolerance
        self.assertIn("dtype: 'w' f32 -> f16", run_owf("diff", a, b, check=0).stdout)
        run_owf("diff", "--strict-dtype", a, b, check=1)

    def test_nan(self):
        values = numpy.array([1, numpy.nan, 3], numpy.float32)
        a = self.write("a.safetensors", {"x": values})
        b = self.write("b.safetensors", {"x": values.copy()})
        run_owf("diff", a, b, check=0)
        [tensor] = self.diff_json(a, b, "--nan-unequal", check=1)["tensors"]
        self.assertEqual(tensor["mismatched"], 1)

    def test_metadata_differences_by_json_path(self):
        source = self.write("w.safetensors", {"w": grid()})
        a, b = self.tmp / "a.owf", self.tmp / "b.owf"
        run_owf("convert", source, a, "--set", 'config={"layers": 2, "gone": true}', "--license", "MIT", check=0)
        run_owf("convert", source, b, "--set", 'config={"layers": 3, "new/key": 1}', "--license", "MIT", check=0)
        report = self.diff_json(a, b, check=1)
        counted = [m for m in report["metadata"] if m.pop("counted")]
        self.assertEqual(counted, [
            {"path": "/config/layers", "a": 2, "b": 3},
            {"path": "/config/gone", "a": True},
            {"path": "/config/new~1key", "b": 1},  # JSON pointer escaping
        ])
        text = run_owf("diff", a, b, check=1).stdout
        self.assertIn("metadata /config/layers: 2 -> 3", text)
        run_owf("diff", "--ignore-metadata", a, b, check=0)

    def test_provenance_is_listed_but_not_counted(self):
        a = self.write("a.safetensors", {"w": grid()})
        run_owf("convert", a, self.tmp / "a.owf", check=0)
        text = run_owf("diff", a, self.tmp / "a.owf", check=0).stdout
        self.assertIn("metadata /provenance (provenance: not counted): only in B", text)
        # safetensors -> .owf -> safetensors adds the "format" entry transformers wants: listed, not counted.
        run_owf("convert", self.tmp / "a.owf", self.tmp / "back.safetensors", check=0)
        text = run_owf("diff", a, self.tmp / "back.safetensors", check=0).stdout
        self.assertIn("metadata /format (carried from a source format: not counted): only in B: \"pt\"", text)
        self.assertTrue(text.splitlines()[-1].startswith("equal: 1 common tensors, 0 differ"))
        [entry] = self.diff_json(a, self.tmp / "a.owf", check=0)["metadata"]
        self.assertEqual((entry["path"], entry["counted"]), ("/provenance", False))
        run_owf("convert", a, self.tmp / "mit.owf", "--license", "MIT", check=0)
        text = run_owf("diff", self.tmp / "a.owf", self.tmp / "mit.owf", check=1).stdout
        self.assertIn('metadata /license: only in B: "MIT"', text)

    def test_quiet_prints_nothing(self):
        a = self.write("a.safetensors", {"w": grid()})
        b = self.write("b.safetensors", {"w": grid() + 1})
        result = run_owf("diff", "-q", a, b, check=1)
        self.assertEqual((result.stdout, result.stderr), ("", ""))

    def test_unreadable_input_is_an_error(self):
        a = self.write("a.safetensors", {"w": grid()})
        self.assertRefused(run_owf("diff", a, self.tmp / "missing.safetensors"), "missing.safetensors")


if __name__ == "__main__":
    unittest.main()
