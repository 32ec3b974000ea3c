"""owf.load_file of a 500 MB file maps raw tensors instead of copying them: the reading process's
resident set stays far below the file size until the data is touched, then grows by about it."""
import json
import os
import subprocess
import sys
import textwrap
import unittest

import numpy as np

import owf
from owftest import OwfTestCase

MIB = 1 << 20
TENSORS = 4
TENSOR_BYTES = 125 * MIB  # 500 MiB in all

# Runs in a fresh interpreter so that the writer's memory does not count.
READER = textwrap.dedent("""
    import json, sys
    import numpy as np
    import owf

    def rss():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024

    before = rss()
    tensors = owf.load_file(sys.argv[1])
    loaded = rss()
    total = sum(int(t.sum(dtype=np.int64)) for t in tensors.values())  # touches every page
    touched = rss()
    print(json.dumps({"before": before, "loaded": loaded, "touched": touched, "total": total}))
""")


class NoCopyTest(OwfTestCase):
    def test_load_file_of_500_mib_does_not_copy_raw_tensors(self):
        path = self.tmp / "big.owf"
        owf.save_file({f"t{i}": np.full(TENSOR_BYTES, i + 1, dtype=np.uint8) for i in range(TENSORS)}, path)
        self.assertGreaterEqual(path.stat().st_size, TENSORS * TENSOR_BYTES)
        result = subprocess.run([sys.executable, "-c", READER, str(path)], capture_output=True, text=True,
                                check=True, env=os.environ)
        figures = json.loads(result.stdout)
        file_size = TENSORS * TENSOR_BYTES
        self.assertEqual(figures["total"], sum((i + 1) * TENSOR_BYTES for i in range(TENSORS)))
        self.assertLess(figures["loaded"] - figures["before"], file_size // 20, figures)
        self.assertGreater(figures["touched"] - figures["before"], file_size * 9 // 10, figures)


if __name__ == "__main__":
    unittest.main()
