"""examples/c/owf_list.c over every corpus file: each readable one lists its tensors, reads every
tensor three ways that agree (owf_read, owf_read_rows, owf_tensor_data) and gives the CLI's content
digest; each refused one exits 2 with owf's message naming the file."""
import os
import subprocess
import unittest

from owftest import CORPUS, run_owf

OWF_LIST = os.environ["OWF_LIST"]
REFUSED = {"ggml-vocab-llama-spm.gguf", "ggml-vocab-bert-bge.gguf", "ggml-vocab-phi-3.gguf",
           "silero_vad-torchscript.jit", "stories260K.bin", "whisper.cpp-for-tests-silero-v6.2.0-ggml.bin",
           "llama2-tokenizer.model"}


class CExampleTest(unittest.TestCase):
    def test_every_corpus_file(self):
        files = sorted(p for p in CORPUS.glob("*/*") if p.is_file())
        self.assertGreater(len(files), 15)
        for path in files:
            with self.subTest(path.name):
                result = subprocess.run([OWF_LIST, str(path)], capture_output=True, text=True, timeout=120)
                if path.name in REFUSED:
                    self.assertEqual(result.returncode, 2, result.stdout)
                    self.assertIn(path.name, result.stderr)
                    continue
                self.assertEqual(result.returncode, 0, result.stderr)
                lines = result.stdout.splitlines()
                inspect = run_owf("inspect", path, "--json", check=0).stdout
                count = int(lines[0].split(", ")[-1].split()[0])
                self.assertEqual(len(lines), count + 3)
                self.assertIn(f'"{lines[1].split()[0]}"' if count else "", inspect)
                digest = run_owf("hash", path, check=0).stdout.split()[0]
                self.assertEqual(lines[-1], f"content {digest}")


if __name__ == "__main__":
    unittest.main()
