"""Malicious checkpoints made with torch.save: objects whose __reduce__ would call os.system or eval
to create a marker file. `owf convert` and `owf inspect` must refuse them (exit 2, naming the
global) and the marker must never appear: the reader runs no code."""
import collections
import os
import pickle
import struct
import unittest
import zipfile

import torch

from owftest import OwfTestCase, run_owf


class RunsShell:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class RunsEval:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (eval, (f"open({str(self.marker)!r}, 'w').close()",))


class MaliciousPickles(OwfTestCase):
    def payloads(self):
        marker = self.tmp / "pwned"
        weights = collections.OrderedDict([("w", torch.ones(3))])
        yield "os.system", "posix.system", marker, {**weights, "evil": RunsShell(marker)}
        # Protocol 2 spells builtins with Python 2's module name.
        yield "eval", "__builtin__.eval", marker, {**weights, "evil": RunsEval(marker)}
        # The payload where a tensor is expected, and as the whole object.
        yield "system as root", "posix.system", marker, RunsShell(marker)

    def test_refused_in_zip_and_legacy_form_and_nothing_runs(self):
        for label, global_name, marker, obj in self.payloads():
            for legacy in (False, True):
                path = self.tmp / f"evil-{legacy}.pt"
                torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
                for command in ("inspect", "convert"):
                    with self.subTest(payload=label, legacy=legacy, command=command):
                        args = [path] if command == "inspect" else [path, self.tmp / "out.owf"]
                        result = run_owf(command, *args)
                        self.assertRefused(result, path.name, f"global '{global_name}' is not allowed")
                        self.assertFalse(marker.exists(), "the pickle ran code")
                        self.assertFalse((self.tmp / "out.owf").exists())

    def test_marker_would_appear_with_a_plain_unpickler(self):
        """The payload is real: Python's own pickle runs it (so the refusals above mean something)."""
        marker = self.tmp / "pwned"
        pickle.loads(pickle.dumps(RunsShell(marker)))
        self.assertTrue(marker.exists())

    def test_plain_pickle_file_is_not_taken_for_a_checkpoint(self):
        path = self.tmp / "evil.pkl"
        path.write_bytes(pickle.dumps(RunsShell(self.tmp / "pwned"), protocol=2))
        result = run_owf("inspect", path)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertFalse((self.tmp / "pwned").exists())


class DamagedArchives(OwfTestCase):
    """Zip damage reaches the user as one line naming the file and the entry."""

    def setUp(self):
        super().setUp()
        self.good = self.tmp / "good.pt"
        torch.save(collections.OrderedDict([("w", torch.arange(8, dtype=torch.float32))]), self.good)
        self.raw = self.good.read_bytes()
        self.names = zipfile.ZipFile(self.good).namelist()

    def rewrite(self, name, compression=zipfile.ZIP_STORED, rename=lambda entry: entry):
        path = self.tmp / name
        with zipfile.ZipFile(self.good) as source, zipfile.ZipFile(path, "w", compression) as out:
            for entry in self.names:
                out.writestr(rename(entry), source.read(entry))
        return path

    def test_local_and_central_headers_disagree(self):
        damaged = bytearray(self.raw)
        damaged[30] ^= 0x20  # first letter of the first local header's name
        path = self.tmp / "names.pt"
        path.write_bytes(bytes(damaged))
        self.assertRefused(run_owf("inspect", path), "names.pt", "local header at offset 0 names")

    def test_compressed_records_are_refused(self):
        path = self.rewrite("deflated.pt", zipfile.ZIP_DEFLATED)
        self.assertRefused(run_owf("convert", path, self.tmp / "x.owf"), "deflated.pt", "is compressed (method 8)")

    def test_escaping_paths_are_refused(self):
        path = self.rewrite("escape.pt", rename=lambda entry: "../" + entry if "/data/" in entry else entry)
        self.assertRefused(run_owf("inspect", path), "escape.pt", "'..' component")

    def test_damaged_tensor_bytes_fail_verify(self):
        info = zipfile.ZipFile(self.good).getinfo(next(n for n in self.names if "/data/0" in n))
        damaged = bytearray(self.raw)
        local = info.header_offset
        name_length, extra_length = struct.unpack("<HH", self.raw[local + 26:local + 30])
        data_at = local + 30 + name_length + extra_length
        damaged[data_at] ^= 0x01
        path = self.tmp / "bitflip.pt"
        path.write_bytes(bytes(damaged))
        result = run_owf("verify", path)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("CRC", result.stdout + result.stderr)


if __name__ == "__main__":
    unittest.main()
