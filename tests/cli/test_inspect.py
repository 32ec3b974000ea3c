"""owf inspect: the summary, tensor table and --stats figures checked against numpy."""
import json
import unittest

import numpy

from owftest import CORPUS, OwfTestCase, owf_bytes, run_owf, write_safetensors

IQ2_XXS = 272  # a ggml block type (256 elements in 66 bytes) that owf stores but cannot decode


def model():
    rng = numpy.random.default_rng(11)
    special = rng.standard_normal(10).astype(numpy.float32)
    special[[2, 7]] = numpy.nan
    special[4] = numpy.inf
    return {
        "embed.weight": rng.standard_normal((32, 8)).astype(numpy.float32),
        "blk.0.attn.weight": (rng.standard_normal((8, 8)) * 3 + 1).astype(numpy.float16),
        "blk.0.special": special,
        "blk.1.counts": numpy.array([[1, -2, 3], [4, 5, -6]], numpy.int32),
    }


class InspectTest(OwfTestCase):
    def setUp(self):
        super().setUp()
        self.tensors = model()
        self.path = self.tmp / "model.safetensors"
        write_safetensors(self.path, self.tensors, {"license": "MIT"})

    def report(self, *flags, path=None):
        return json.loads(run_owf("inspect", "--json", *flags, path or self.path, check=0).stdout)

    def test_summary_figures(self):
        report = self.report()
        self.assertEqual(report["format"], "safetensors")
        self.assertEqual(report["tensor_count"], 4)
        parameters = sum(a.size for a in self.tensors.values())
        size = sum(a.nbytes for a in self.tensors.values())
        self.assertEqual((report["parameters"], report["bytes"], report["stored_bytes"]), (parameters, size, size))
        self.assertEqual(report["bytes_per_dtype"], {"i32": 24, "f16": 128, "f32": 32 * 8 * 4 + 40})
        self.assertAlmostEqual(report["bits_per_weight"], 8 * size / parameters)
        self.assertEqual(report["metadata"]["license"], "MIT")
        by_name = {t["name"]: t for t in report["tensors"]}
        self.assertEqual(list(by_name), list(self.tensors))  # the file's order
        for name, array in self.tensors.items():
            entry = by_name[name]
            self.assertEqual((entry["shape"], entry["parameters"], entry["bytes"], entry["encoding"]),
                             (list(array.shape), array.size, array.nbytes, "raw"))
        self.assertEqual(by_name["blk.0.attn.weight"]["dtype"], "f16")

    def test_stats_match_numpy(self):
        report = self.report("--stats")
        for entry in report["tensors"]:
            array = self.tensors[entry["name"]].astype(numpy.float64)
            finite = array[numpy.isfinite(array)]
            stats = entry["stats"]
            with self.subTest(name=entry["name"]):
                self.assertEqual(stats["nan"], int(numpy.isnan(array).sum()))
                self.assertEqual(stats["inf"], int(numpy.isinf(array).sum()))
                self.assertEqual(stats["finite"], finite.size)
                self.assertEqual((stats["min"], stats["max"]), (finite.min(), finite.max()))
                self.assertAlmostEqual(stats["mean"], finite.mean(), delta=1e-12 * max(1, abs(finite.mean())))
                self.assertAlmostEqual(stats["std"], finite.std(), delta=1e-12 * finite.std())
        special = next(e for e in report["tensors"] if e["name"] == "blk.0.special")["stats"]
        self.assertEqual((special["nan"], special["inf"]), (2, 1))

    def test_filter(self):
        report = self.report("--filter", r"^blk\.0\.")
        self.assertEqual([t["name"] for t in report["tensors"]], ["blk.0.attn.weight", "blk.0.special"])
        self.assertEqual(report["parameters"], 64 + 10)
        self.assertRefused(run_owf("inspect", "--filter", "[", self.path), "--filter '['")

    def test_text_table_is_aligned(self):
        text = run_owf("inspect", "--stats", self.path, check=0).stdout
        self.assertIn("format:      safetensors", text)
        self.assertIn('"license": "MIT"', text)
        lines = text.splitlines()
        header = next(i for i, line in enumerate(lines) if line.startswith("name "))
        table = lines[header:header + 2 + len(self.tensors)]
        self.assertTrue(set(table[1]) == {"-"})
        # Right-aligned numbers: every row's "parameters" cell ends where the header's does.
        end = table[0].index("parameters") + len("parameters")
        for row in table[2:]:
            self.assertNotEqual(row[end - 1], " ", row)
            self.assertEqual(row[end:end + 2], "  ", row)

    def test_long_metadata_arrays_are_shortened_for_people(self):
        out = self.tmp / "vocab.owf"
        run_owf("convert", self.path, out, "--set", f"vocab={json.dumps([str(i) for i in range(100)])}",
                "--set", 'records=[{"a": 1}, {"b": 2}]', check=0)
        text = run_owf("inspect", out, check=0).stdout
        self.assertIn('"7",\n', text)
        self.assertNotIn('"8"', text)
        self.assertIn("... 92 more (--json shows all)", text)
        self.assertIn('"b": 2', text)
        self.assertEqual(len(self.report(path=out)["metadata"]["vocab"]), 100)

    def test_corpus_files_of_every_format(self):
        for name, count in (("safetensors/silero_vad_16k.safetensors", 15), ("npz/g2p_en-checkpoint20.npz", 12),
                            ("npy/g2p_en-enc_w_hh.npy", 1)):
            with self.subTest(name=name):
                self.assertEqual(self.report(path=CORPUS / name)["tensor_count"], count)

    def test_converted_owf_reports_compression(self):
        out = self.tmp / "model.owf"
        run_owf("convert", self.path, out, "--compress", check=0)
        report = self.report(path=out)
        self.assertEqual(report["format"], "owf")
        # The lanes filter (the default) is defined in 1.1: the writer writes the lowest version that has it.
        self.assertEqual(report["format_description"], "owf 1.1")
        self.assertIn("zstd+lanes", {t["encoding"] for t in report["tensors"]})
        self.assertTrue(all(t["encoding"] != "raw" for t in report["tensors"] if t["bytes"] > 0))
        self.assertEqual(report["stored_bytes"], sum(t["stored_bytes"] for t in report["tensors"]))

    def test_raw_owf_is_version_1_0(self):
        out = self.tmp / "raw.owf"
        run_owf("convert", self.path, out, check=0)
        self.assertEqual(self.report(path=out)["format_description"], "owf 1.0")

    def test_undecodable_dtype_says_so(self):
        path = self.tmp / "iq2.owf"
        path.write_bytes(owf_bytes([(b"q", bytes(range(66)), [256], IQ2_XXS, b"iq2_xxs"),
                                    (b"w", numpy.ones(2, "<f4").tobytes(), [2])]))
        report = self.report("--stats", path=path)
        q, w = report["tensors"]
        self.assertEqual((q["dtype"], q["bytes"], q["stats"]), ("iq2_xxs", 66, {"error": "cannot decode iq2_xxs"}))
        self.assertEqual(w["stats"]["mean"], 1.0)
        self.assertAlmostEqual(report["bits_per_weight"], 8 * (66 + 8) / 258)
        self.assertIn("(cannot decode iq2_xxs)", run_owf("inspect", "--stats", path, check=0).stdout)
        # diff falls back to comparing bytes; convert --dtype leaves such tensors as they are.
        run_owf("diff", path, path, check=0)
        other = self.tmp / "other.owf"
        other.write_bytes(owf_bytes([(b"q", bytes(65) + b"\x01", [256], IQ2_XXS, b"iq2_xxs"),
                                     (b"w", numpy.ones(2, "<f4").tobytes(), [2])]))
        self.assertIn("tensor 'q': bytes differ", run_owf("diff", path, other, check=1).stdout)
        run_owf("convert", path, self.tmp / "half.owf", "--dtype", "f16", check=0)
        self.assertEqual([t["dtype"] for t in self.report(path=self.tmp / "half.owf")["tensors"]], ["iq2_xxs", "f16"])


if __name__ == "__main__":
    unittest.main()
