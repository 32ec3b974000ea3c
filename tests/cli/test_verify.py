"""owf verify: exit 0 for an intact file, 1 with the damaged tensor named for a flipped bit in its bytes,
2 (unreadable) with the header checksum named for a flipped bit in the header."""
import unittest

import numpy

from owftest import CORPUS, OwfTestCase, read_owf_layout, run_owf, write_safetensors


class VerifyTest(OwfTestCase):
    def setUp(self):
        super().setUp()
        source = self.tmp / "model.safetensors"
        write_safetensors(source, {"first": numpy.ones((4, 4), numpy.float32),
                                   "second": numpy.arange(8, dtype=numpy.float32)})
        self.owf = self.tmp / "model.owf"
        run_owf("convert", source, self.owf, check=0)

    def flip_bit(self, offset, bit=0):
        data = bytearray(self.owf.read_bytes())
        data[offset] ^= 1 << bit
        self.owf.write_bytes(bytes(data))

    def test_intact_file(self):
        result = run_owf("verify", self.owf, check=0)
        self.assertIn("model.owf: valid", result.stdout)

    def test_flipped_bit_in_tensor_bytes(self):
        second = next(t for t in read_owf_layout(self.owf)["tensors"] if t["name"] == "second")
        self.flip_bit(second["offset"] + 5, bit=3)
        result = run_owf("verify", self.owf, check=1)
        problems = [line for line in result.stdout.splitlines() if "'second'" in line]
        self.assertTrue(problems, result.stdout)
        self.assertIn("checksum", problems[0])
        self.assertNotIn("'first'", result.stdout)
        self.assertTrue(result.stdout.splitlines()[-1].startswith(f"{self.owf}: invalid"))

    def test_flipped_bit_in_header(self):
        layout = read_owf_layout(self.owf)
        self.flip_bit(layout["header_offset"] + 60)  # inside the metadata JSON
        self.assertRefused(run_owf("verify", self.owf), "model.owf", "header checksum")

    def test_corpus_files_verify(self):
        for name in ("safetensors/silero_vad_16k.safetensors", "npz/g2p_en-checkpoint20.npz"):
            with self.subTest(name=name):
                run_owf("verify", CORPUS / name, check=0)

    def test_missing_file_is_unreadable(self):
        self.assertRefused(run_owf("verify", self.tmp / "gone.owf"), "gone.owf")


if __name__ == "__main__":
    unittest.main()
