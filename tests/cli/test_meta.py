"""owf meta: print, get, and set/delete on .owf files, in place when the header fits its slack, else by rewrite."""
import json
import unittest

import numpy

from owftest import OwfTestCase, read_owf_layout, run_owf, write_safetensors


class MetaTest(OwfTestCase):
    def setUp(self):
        super().setUp()
        self.source = self.tmp / "model.safetensors"
        write_safetensors(self.source, {"w": numpy.arange(12, dtype=numpy.float32).reshape(3, 4)})
        self.owf = self.tmp / "model.owf"
        run_owf("convert", self.source, self.owf, "--set", 'config={"layers": 2, "general.name": "tiny"}', check=0)
        self.digest = run_owf("hash", self.owf, check=0).stdout.split()[0]

    def get(self, key):
        return json.loads(run_owf("meta", "get", self.owf, key, check=0).stdout)

    def test_print_any_format(self):
        printed = json.loads(run_owf("meta", self.owf, check=0).stdout)
        self.assertEqual(printed, read_owf_layout(self.owf)["metadata"])
        self.assertIsInstance(json.loads(run_owf("meta", self.source, check=0).stdout), dict)

    def test_get_dotted_keys(self):
        self.assertEqual(self.get("config.layers"), 2)
        self.assertEqual(self.get("config.general.name"), "tiny")  # a key that contains a dot
        self.assertEqual(self.get("provenance.conversions.0.to.format"), "owf")  # array index
        self.assertRefused(run_owf("meta", "get", self.owf, "config.missing"), "model.owf", "'config.missing'")

    def test_set_in_place(self):
        before = read_owf_layout(self.owf)
        size = self.owf.stat().st_size
        result = run_owf("meta", "set", "-v", self.owf, 'license="MIT"', "config.layers=3", "extra.list=[1,2]",
                         check=0)
        self.assertIn("in place", result.stderr)
        self.assertEqual(result.stdout, "")
        self.assertEqual(self.owf.stat().st_size, size)
        after = read_owf_layout(self.owf)
        # The new header is written beside the old one, then the preamble switches to it (spec §8).
        self.assertGreater(after["header_offset"], before["header_offset"])
        self.assertEqual(after["header_offset"] + after["header_capacity"], size)
        self.assertEqual(after["tensors"], before["tensors"])
        self.assertEqual(after["metadata"]["license"], "MIT")
        self.assertEqual((self.get("config.layers"), self.get("extra")), (3, {"list": [1, 2]}))
        run_owf("verify", self.owf, check=0)
        self.assertEqual(run_owf("hash", self.owf, check=0).stdout.split()[0], self.digest)

    def test_set_by_rewrite_when_the_slack_is_full(self):
        slack = read_owf_layout(self.owf)["header_capacity"]
        big = json.dumps("x" * (slack + 100))
        result = run_owf("meta", "set", "--verbose", self.owf, f"notes={big}", check=0)
        self.assertIn("rewritten", result.stderr)
        self.assertEqual(self.get("notes"), json.loads(big))
        run_owf("verify", self.owf, check=0)
        self.assertEqual(run_owf("hash", self.owf, check=0).stdout.split()[0], self.digest)

    def test_silent_without_verbose(self):
        result = run_owf("meta", "set", self.owf, "a=1", check=0)
        self.assertEqual((result.stdout, result.stderr), ("", ""))

    def test_delete(self):
        run_owf("meta", "delete", self.owf, "config.layers", "provenance", check=0)
        metadata = read_owf_layout(self.owf)["metadata"]
        self.assertEqual(metadata["config"], {"general.name": "tiny"})
        self.assertNotIn("provenance", metadata)
        self.assertRefused(run_owf("meta", "delete", self.owf, "provenance"), "'provenance' not found")
        run_owf("verify", self.owf, check=0)

    def test_edits_only_owf_files(self):
        before = self.source.read_bytes()
        self.assertRefused(run_owf("meta", "set", self.source, "a=1"), "model.safetensors", ".owf")
        self.assertEqual(self.source.read_bytes(), before)

    def test_bad_values_leave_the_file_alone(self):
        before = self.owf.read_bytes()
        self.assertRefused(run_owf("meta", "set", self.owf, "a=[1,"), "'a=[1,'", "invalid JSON")
        self.assertRefused(run_owf("meta", "set", self.owf, "config.layers.deeper=1"), "'config.layers' is number")
        self.assertRefused(run_owf("meta", "set", self.owf, "a=" + "[" * 100 + "]" * 100), "nested deeper")
        self.assertEqual(self.owf.read_bytes(), before)


if __name__ == "__main__":
    unittest.main()
