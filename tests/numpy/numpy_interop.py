"""NumPy interop through the owf CLI: arrays numpy writes (np.save, np.savez,
np.savez_compressed; big-endian, Fortran order, 0-d, empty, bool, complex) are
converted by `owf convert` and loaded back by numpy unchanged; bad inputs are
refused with one line naming the file and the problem."""
import struct
import unittest
import zipfile

import numpy as np

from owftest import CORPUS, OwfTestCase, run_owf

# Arrays numpy writes in every layout owf must read.
ARRAYS = {
    "f32": np.arange(12, dtype="<f4").reshape(3, 4) / 7,
    "big_endian": np.arange(6, dtype=">i4").reshape(2, 3) * -1000,
    "fortran": np.asfortranarray(np.arange(24, dtype="<f8").reshape(2, 3, 4) / 3),
    "fortran_big_endian": np.asfortranarray(np.arange(12, dtype=">u2").reshape(3, 4)),
    "scalar": np.array(3.5, dtype="<f2"),
    "empty": np.zeros((0, 5), dtype="<u2"),
    "bool": np.array([True, False, True]),
    "complex": (np.arange(4) + 1j * np.arange(4)).astype("<c8"),
    "complex_big_endian": (np.arange(3) - 2j).astype(">c16"),
    "int8": np.array([-128, 0, 127], dtype="i1"),
    "u64": np.array([2**64 - 1, 0, 12345678901234567], dtype="<u8"),
}


def npz_data_offsets(path):
    """For each stored member: where its array data starts in the archive."""
    offsets = {}
    with open(path, "rb") as raw, zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            raw.seek(info.header_offset + 26)
            name_length, extra_length = struct.unpack("<HH", raw.read(4))
            member_start = info.header_offset + 30 + name_length + extra_length
            raw.seek(member_start + 8)
            header_length = struct.unpack("<H", raw.read(2))[0]
            offsets[info.filename] = member_start + 10 + header_length
    return offsets


class NumpyInterop(OwfTestCase):
    def convert(self, source, target, *flags):
        run_owf("convert", source, target, *flags, check=0)

    def assertSameArray(self, expected, actual):
        self.assertEqual(actual.shape, expected.shape)
        self.assertEqual(actual.dtype, expected.dtype.newbyteorder("<"))
        self.assertTrue(np.array_equal(actual, expected, equal_nan=True))

    def test_np_save_files_convert_to_npz_and_owf_unchanged(self):
        for name, array in ARRAYS.items():
            with self.subTest(name):
                source = self.tmp / f"{name}.npy"
                np.save(source, array)
                self.convert(source, self.tmp / f"{name}.npz")
                with np.load(self.tmp / f"{name}.npz") as archive:
                    self.assertEqual(archive.files, [name])
                    self.assertSameArray(array, archive[name])
                # Through the owf container and back to a single .npy.
                self.convert(source, self.tmp / f"{name}.owf")
                self.convert(self.tmp / f"{name}.owf", self.tmp / f"{name}-again.npy")
                self.assertSameArray(array, np.load(self.tmp / f"{name}-again.npy"))

    def test_savez_and_savez_compressed_convert_unchanged(self):
        for save in (np.savez, np.savez_compressed):
            with self.subTest(save.__name__):
                source = self.tmp / f"{save.__name__}.npz"
                save(source, **ARRAYS)
                target = self.tmp / f"{save.__name__}-owf.npz"
                self.convert(source, target)
                with np.load(target) as archive:
                    self.assertEqual(archive.files, list(ARRAYS))
                    for name, array in ARRAYS.items():
                        self.assertSameArray(array, archive[name])

    def test_written_npz_is_stored_with_64_byte_aligned_array_data(self):
        source = self.tmp / "in.npz"
        np.savez_compressed(source, **ARRAYS)
        self.convert(source, self.tmp / "stored.npz")
        with zipfile.ZipFile(self.tmp / "stored.npz") as archive:
            self.assertEqual({info.compress_type for info in archive.infolist()}, {zipfile.ZIP_STORED})
            self.assertIsNone(archive.testzip())  # every CRC-32 is right
        offsets = npz_data_offsets(self.tmp / "stored.npz")
        self.assertEqual(len(offsets), len(ARRAYS))
        for member, offset in offsets.items():
            self.assertEqual(offset % 64, 0, member)

    def test_corpus_files_read_with_the_values_numpy_reads(self):
        npz = CORPUS / "npz" / "g2p_en-checkpoint20.npz"
        npy = CORPUS / "npy" / "g2p_en-enc_w_hh.npy"
        self.convert(npz, self.tmp / "g2p.owf")
        self.convert(self.tmp / "g2p.owf", self.tmp / "g2p.npz")
        with np.load(npz) as original, np.load(self.tmp / "g2p.npz") as converted:
            self.assertEqual(converted.files, original.files)
            for name in original.files:
                self.assertSameArray(original[name], converted[name])
            self.assertAlmostEqual(float(converted["fc_b"].astype(np.float64).sum()),
                                   float(original["fc_b"].astype(np.float64).sum()), places=12)
        self.convert(npy, self.tmp / "w_hh.npz")
        with np.load(self.tmp / "w_hh.npz") as converted:
            self.assertEqual(converted.files, ["g2p_en-enc_w_hh"])
            self.assertSameArray(np.load(npy), converted["g2p_en-enc_w_hh"])
        # The same weights hash the same in every container.
        hashes = {run_owf("hash", path, check=0).stdout.split()[0]
                  for path in (npz, self.tmp / "g2p.owf", self.tmp / "g2p.npz")}
        self.assertEqual(len(hashes), 1)

    def test_bad_inputs_are_refused_with_one_line_naming_file_and_problem(self):
        objects = self.tmp / "objects.npy"
        np.save(objects, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
        structured = self.tmp / "structured.npy"
        np.save(structured, np.zeros(2, dtype=[("x", "<f4"), ("y", "<i4")]))
        truncated = self.tmp / "truncated.npy"
        np.save(truncated, np.arange(10, dtype="<f4"))
        truncated.write_bytes(truncated.read_bytes()[:-3])
        strings = self.tmp / "strings.npz"
        np.savez(strings, names=np.array(["a", "bc"]))
        cases = [
            (objects, "object arrays"),
            (structured, "structured dtypes"),
            (truncated, "array data at offset 128 is 37 bytes, but f32 of this shape needs 40"),
            (strings, "descr '<U2'"),
        ]
        for path, fragment in cases:
            with self.subTest(path.name):
                target = self.tmp / "out.npz"
                result = run_owf("convert", path, target)
                self.assertRefused(result, path.name, fragment)
                self.assertFalse(target.exists())

    def test_writer_refusals_name_the_tensor(self):
        np.savez(self.tmp / "two.npz", a=np.zeros(2), b=np.ones(3))
        result = run_owf("convert", self.tmp / "two.npz", self.tmp / "two.npy")
        self.assertRefused(result, "two.npy", "holds one array, but the model has 2 tensors")
        np.save(self.tmp / "w.npy", np.ones((4, 4), dtype="<f4"))
        self.convert(self.tmp / "w.npy", self.tmp / "w.owf", "--dtype", "bf16")
        result = run_owf("convert", self.tmp / "w.owf", self.tmp / "w.npz")
        self.assertRefused(result, "w.npz", "tensor 'w': NumPy has no dtype bf16; convert with --dtype f32")
        self.assertFalse((self.tmp / "w.npz").exists())


if __name__ == "__main__":
    unittest.main()
