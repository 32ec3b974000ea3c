"""The committed spec vectors are exactly what spec/vectors/make_vectors.py (an implementation of
the spec independent of lib/) writes, so the two can never drift apart."""
import filecmp
import subprocess
import sys
import unittest

from owftest import SOURCE, OwfTestCase

VECTORS = SOURCE / "spec" / "vectors"


class VectorsReproducible(OwfTestCase):
    def test_generator_output_matches_committed_vectors(self):
        subprocess.run([sys.executable, VECTORS / "make_vectors.py", self.tmp], check=True)
        for sub in ("valid", "invalid"):
            committed = sorted(p.name for p in (VECTORS / sub).iterdir())
            generated = sorted(p.name for p in (self.tmp / sub).iterdir())
            self.assertEqual(committed, generated, sub)
            _, mismatch, errors = filecmp.cmpfiles(VECTORS / sub, self.tmp / sub, committed, shallow=False)
            self.assertEqual((mismatch, errors), ([], []), sub)


if __name__ == "__main__":
    unittest.main()
