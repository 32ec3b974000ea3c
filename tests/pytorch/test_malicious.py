"""Malicious checkpoints made with torch.save: objects whose __reduce__ would call os.system or eval
to create a marker file. `owf convert` and `owf inspect` must refuse them (exit 2, naming the
global) and the marker must never appear: the reader runs no code."""
import collections
import os
import pickle
import unittest

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


if __name__ == "__main__":
    unittest.main()
