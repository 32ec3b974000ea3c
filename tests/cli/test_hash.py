"""owf hash: the content digest is the same for the same weights in .owf, .safetensors and .npz,
and equals spec §7 computed here without owf."""
import unittest

import numpy

from owftest import OwfTestCase, content_digest, run_owf, tensor_digest, write_safetensors


def weights():
    rng = numpy.random.default_rng(7)
    return {
        "layer.weight": rng.standard_normal((8, 16)).astype(numpy.float32),
        "layer.bias": rng.standard_normal(8).astype(numpy.float32),
        "steps": numpy.array([3, 1, 4], dtype=numpy.int64),
    }


class HashTest(OwfTestCase):
    def digest_of(self, path, *flags):
        lines = run_owf("hash", *flags, path, check=0).stdout.splitlines()
        return [line.split("  ", 1) for line in lines]

    def test_same_digest_in_every_format(self):
        tensors = weights()
        write_safetensors(self.tmp / "w.safetensors", tensors, {"note": "ignored by the digest"})
        numpy.savez(self.tmp / "w.npz", **tensors)
        run_owf("convert", self.tmp / "w.safetensors", self.tmp / "w.owf", check=0)

        expected = content_digest(tensors)
        for name in ("w.safetensors", "w.npz", "w.owf"):
            [[digest, file]] = self.digest_of(self.tmp / name)
            self.assertEqual(digest, expected, name)
            self.assertEqual(file, str(self.tmp / name))

    def test_per_tensor_lines_agree_across_formats(self):
        tensors = weights()
        write_safetensors(self.tmp / "w.safetensors", tensors)
        numpy.savez(self.tmp / "w.npz", **tensors)
        from_safetensors = self.digest_of(self.tmp / "w.safetensors", "--tensors")
        from_npz = self.digest_of(self.tmp / "w.npz", "--tensors")
        # One line per tensor, sorted by name, then the file's line.
        self.assertEqual([name for _, name in from_safetensors[:-1]], sorted(tensors))
        self.assertEqual(from_safetensors[:-1], from_npz[:-1])
        for digest, name in from_safetensors[:-1]:
            self.assertEqual(digest, "sha256:" + tensor_digest(name, tensors[name]).hex(), name)
        self.assertEqual(from_safetensors[-1][0], content_digest(tensors))

    def test_digest_changes_with_one_value(self):
        tensors = weights()
        write_safetensors(self.tmp / "a.safetensors", tensors)
        tensors["layer.bias"][0] += 1
        write_safetensors(self.tmp / "b.safetensors", tensors)
        self.assertNotEqual(self.digest_of(self.tmp / "a.safetensors")[0][0],
                            self.digest_of(self.tmp / "b.safetensors")[0][0])

    def test_missing_file_is_refused(self):
        self.assertRefused(run_owf("hash", self.tmp / "absent.owf"), "absent.owf")


if __name__ == "__main__":
    unittest.main()
