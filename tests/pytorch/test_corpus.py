"""Every file in the corpus's pytorch/ folder, written by other people's torch: owf reads what
torch.load(weights_only=True) reads (names, dtypes, shapes, values), and refuses TorchScript."""
import collections
import unittest

import torch

from owftest import CORPUS, OwfTestCase, run_owf

CHECKPOINTS = {
    "facenet-mtcnn-pnet.pt": 13,
    "facenet-mtcnn-rnet.pt": 16,
    "facenet-mtcnn-onet.pt": 21,
    "ggml-mnist_model.state_dict": 4,
    "stories260K-bf16.pt": 48,
}


class PyTorchCorpus(OwfTestCase):
    def test_every_checkpoint_reads_as_torch_load_does(self):
        for name, count in CHECKPOINTS.items():
            with self.subTest(file=name):
                source = CORPUS / "pytorch" / name
                expected = torch.load(source, weights_only=True, map_location="cpu")
                self.assertEqual(len(expected), count)
                owf = self.tmp / (name + ".owf")
                back = self.tmp / (name + ".pt")
                run_owf("convert", source, owf, check=0)
                run_owf("verify", owf, check=0)
                run_owf("convert", owf, back, check=0)
                loaded = torch.load(back, weights_only=True)
                self.assertIsInstance(loaded, collections.OrderedDict)
                self.assertEqual(list(loaded.keys()), list(expected.keys()))
                for key, tensor in expected.items():
                    self.assertEqual(loaded[key].dtype, tensor.dtype, key)
                    self.assertEqual(loaded[key].shape, tensor.shape, key)
                    self.assertTrue(torch.equal(loaded[key], tensor), key)
                run_owf("diff", source, owf, check=0)

    def test_content_digest_is_the_same_from_the_pt_and_the_owf(self):
        source = CORPUS / "pytorch" / "facenet-mtcnn-rnet.pt"
        owf = self.tmp / "rnet.owf"
        run_owf("convert", source, owf, check=0)
        digest = lambda path: run_owf("hash", path, check=0).stdout.split()[0]
        self.assertEqual(digest(source), digest(owf))

    def test_stories_ties_survive_the_round_trip(self):
        source = CORPUS / "pytorch" / "stories260K-bf16.pt"
        owf = self.tmp / "stories.owf"
        back = self.tmp / "stories.pt"
        run_owf("convert", source, owf, check=0)
        run_owf("convert", owf, back, check=0)
        loaded = torch.load(back, weights_only=True)
        self.assertEqual(loaded["output.weight"].data_ptr(), loaded["tok_embeddings.weight"].data_ptr())

    def test_torchscript_is_refused(self):
        source = CORPUS / "pytorch" / "silero_vad-torchscript.jit"
        for command in ("inspect", "convert"):
            with self.subTest(command=command):
                args = [source] if command == "inspect" else [source, self.tmp / "vad.owf"]
                result = run_owf(command, *args)
                self.assertRefused(result, "silero_vad-torchscript.jit", "TorchScript archive, not a plain checkpoint")
        self.assertFalse((self.tmp / "vad.owf").exists())


if __name__ == "__main__":
    unittest.main()
