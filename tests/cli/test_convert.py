"""owf convert: determinism, provenance, --force, the tensor transforms and metadata edits."""
import json
import os
import unittest

import numpy

from owftest import (OwfTestCase, content_digest, read_owf_layout, read_safetensors, run_owf,
                     write_safetensors)


def model():
    rng = numpy.random.default_rng(3)
    return {
        "fc1.weight": rng.standard_normal((16, 64)).astype(numpy.float32),
        "fc1.bias": rng.standard_normal(16).astype(numpy.float32),
        "ln.norm.weight": rng.standard_normal((2, 32)).astype(numpy.float32),
        "odd.weight": rng.standard_normal((4, 30)).astype(numpy.float32),
        "steps": numpy.array([7], numpy.int64),
    }


class ConvertTest(OwfTestCase):
    def setUp(self):
        super().setUp()
        self.tensors = model()
        self.source = self.tmp / "model.safetensors"
        write_safetensors(self.source, self.tensors, {"license": "CC0-1.0"})

    def inspect(self, path):
        return json.loads(run_owf("inspect", "--json", path, check=0).stdout)

    def dtypes(self, path):
        return {t["name"]: t["dtype"] for t in self.inspect(path)["tensors"]}

    def provenance(self, path):
        return self.inspect(path)["metadata"]["provenance"]

    def test_byte_identical_twice(self):
        for name in ("a.owf", "b.owf"):
            run_owf("convert", self.source, self.tmp / name, "--dtype", "q8_0", "--compress", check=0)
        self.assertEqual((self.tmp / "a.owf").read_bytes(), (self.tmp / "b.owf").read_bytes())
        self.assertNotIn("time", self.provenance(self.tmp / "a.owf")["conversions"][-1])

    def test_output_is_the_same_for_any_thread_count(self):
        big = self.tmp / "big.safetensors"
        rng = numpy.random.default_rng(5)
        tensors = {f"w{i}": (rng.standard_normal(300000) * 0.02).astype(numpy.float32) for i in range(3)}
        write_safetensors(big, tensors)
        outputs = {}
        for threads in ("1", "2", "5"):
            out = self.tmp / f"t{threads}.owf"
            run_owf("--threads", threads, "convert", big, out, "--compress", "--chunk-size", "64KiB", check=0)
            outputs[threads] = out.read_bytes()
            back = self.tmp / f"t{threads}.safetensors"
            run_owf("convert", "--threads", threads, out, back, check=0)  # the flag may follow the command
            self.assertEqual(read_safetensors(back)[0].keys(), tensors.keys())
            for name, values in read_safetensors(back)[0].items():
                numpy.testing.assert_array_equal(values, tensors[name])
            hashes = run_owf("hash", "--tensors", "--threads", threads, out, check=0).stdout
            self.assertIn(content_digest(tensors), hashes)
            run_owf("verify", "--threads", threads, out, check=0)
        self.assertEqual(outputs["1"], outputs["2"])
        self.assertEqual(outputs["1"], outputs["5"])
        self.assertEqual({t["encoding"] for t in self.inspect(self.tmp / "t1.owf")["tensors"]}, {"zstd+lanes"})
        self.assertRefused(run_owf("--threads", "0", "hash", big), "--threads")

    def test_source_date_epoch_adds_a_time(self):
        out = self.tmp / "dated.owf"
        run_owf("convert", self.source, out, env={"SOURCE_DATE_EPOCH": "1700000000"}, check=0)
        self.assertEqual(self.provenance(out)["conversions"][-1]["time"], "2023-11-14T22:13:20Z")
        self.assertRefused(run_owf("convert", self.source, self.tmp / "x.owf", env={"SOURCE_DATE_EPOCH": "soon"}),
                           "SOURCE_DATE_EPOCH")

    def test_provenance_of_an_unchanged_conversion(self):
        out = self.tmp / "model.owf"
        run_owf("convert", self.source, out, check=0)
        provenance = self.provenance(out)
        digest = content_digest(self.tensors)
        self.assertEqual(provenance["parents"], [{"name": "model.safetensors", "digest": digest}])
        self.assertEqual(provenance["writer"]["tool"], "owf")
        [conversion] = provenance["conversions"]
        self.assertEqual(conversion["from"], {"format": "safetensors", "name": "model.safetensors", "digest": digest})
        self.assertEqual((conversion["to"], conversion["options"]), ({"format": "owf"}, []))
        self.assertEqual(conversion["version"], provenance["writer"]["version"])

    def test_provenance_when_content_changes(self):
        # The parent digest is the input's, computed from the bytes streaming through the view, with dropped
        # tensors read on their own; conversions accumulate over generations.
        first, second = self.tmp / "first.owf", self.tmp / "second.safetensors"
        run_owf("convert", self.source, first, "--exclude", "^steps$", "--dtype", "f16", check=0)
        provenance = self.provenance(first)
        self.assertEqual(provenance["parents"][0]["digest"], content_digest(self.tensors))
        self.assertEqual(provenance["conversions"][0]["options"], ["--exclude=^steps$", "--dtype=f16"])
        run_owf("convert", first, second, check=0)
        hash_of_first = run_owf("hash", first, check=0).stdout.split()[0]
        third = self.tmp / "third.owf"
        run_owf("convert", second, third, check=0)
        provenance = self.provenance(third)
        self.assertEqual(len(provenance["conversions"]), 3)
        self.assertEqual([c["to"]["format"] for c in provenance["conversions"]], ["owf", "safetensors", "owf"])
        self.assertEqual(provenance["conversions"][1]["from"]["digest"], hash_of_first)

    def test_existing_output_needs_force(self):
        out = self.tmp / "model.owf"
        out.write_bytes(b"keep me")
        self.assertRefused(run_owf("convert", self.source, out), "model.owf", "--force")
        self.assertEqual(out.read_bytes(), b"keep me")
        run_owf("convert", self.source, out, "--force", check=0)
        run_owf("verify", out, check=0)

    def test_failure_after_streaming_leaves_nothing(self):
        # The provenance is written last, after every tensor: refusing it must still leave no file behind.
        first = self.tmp / "first.owf"
        run_owf("convert", self.source, first, check=0)
        run_owf("meta", "set", first, 'provenance="hand-written"', check=0)
        before = sorted(p.name for p in self.tmp.iterdir())
        self.assertRefused(run_owf("convert", first, self.tmp / "second.owf"), "first.owf", "'provenance' is string")
        self.assertEqual(sorted(p.name for p in self.tmp.iterdir()), before)
        run_owf("convert", first, self.tmp / "second.owf", "--set", "provenance={}", check=0)

    def test_include_exclude(self):
        out = self.tmp / "part.owf"
        run_owf("convert", self.source, out, "--include", "^fc1", "--include", "steps", "--exclude", "bias", check=0)
        self.assertEqual(list(self.dtypes(out)), ["fc1.weight", "steps"])
        # Kept tensors are digested as they stream through, dropped ones read on their own.
        self.assertEqual(self.provenance(out)["parents"][0]["digest"], content_digest(self.tensors))

    def test_rename(self):
        out = self.tmp / "renamed.safetensors"
        run_owf("convert", self.source, out, "--rename", "s/^fc(\\d)/layer$1/", "--rename", "s|\\.|_|g", check=0)
        tensors, _ = read_safetensors(out)
        self.assertEqual(sorted(tensors), ["layer1_bias", "layer1_weight", "ln_norm_weight", "odd_weight", "steps"])
        numpy.testing.assert_array_equal(tensors["layer1_weight"], self.tensors["fc1.weight"])

    def test_rename_to_duplicate_names_is_refused(self):
        out = self.tmp / "dup.owf"
        result = run_owf("convert", self.source, out, "--rename", "s/\\.(weight|bias)$//")
        self.assertRefused(result, "model.safetensors", "'fc1.weight'", "'fc1.bias'", "'fc1'")
        self.assertFalse(out.exists())

    def test_bad_arguments_are_refused_before_reading(self):
        cases = [
            (["--rename", "x/a/b/"], "--rename"),
            (["--include", "("], "--include '('"),
            (["--dtype", "i8"], "--dtype 'i8'"),
            (["--dtype-rule", "fc=q2_k"], "--dtype-rule 'q2_k'"),
            (["--set", "a=not json"], "--set 'a=not json'"),
            (["--max-shard-size", "2XB"], "--max-shard-size '2XB'"),
            (["--align", "48"], "never.owf: alignment 48 is not a power of two in 8..4096"),
            (["--compress", "--chunk-size", "128MiB"], "chunk size 134217728 is outside 1..67108864"),
            (["--compress", "--chunk-size", "8GiB"], "--chunk-size '8GiB': too large"),
            (["--format", "nope"], "--format 'nope'"),
        ]
        for flags, fragment in cases:
            with self.subTest(flags=flags):
                out = self.tmp / "never.owf"
                self.assertRefused(run_owf("convert", self.source, out, *flags), fragment)
                self.assertFalse(out.exists())

    def test_set_license_architecture(self):
        out = self.tmp / "meta.owf"
        run_owf("convert", self.source, out, "--set", "training.epochs=3", "--set", 'tags=["a","b"]',
                "--license", "MIT", "--architecture", "mlp", check=0)
        metadata = self.inspect(out)["metadata"]
        self.assertEqual(metadata["training"], {"epochs": 3})
        self.assertEqual(metadata["tags"], ["a", "b"])
        self.assertEqual((metadata["license"], metadata["architecture"]), ("MIT", "mlp"))


    def test_license_must_be_an_spdx_expression(self):
        out = self.tmp / "out.owf"
        self.assertRefused(run_owf("convert", self.source, out, "--license", "Apache 2.0"),
                           "--license", "'Apache 2.0' is not an SPDX license expression")
        self.assertRefused(run_owf("convert", self.source, out, "--set", "license=3"),
                           "license", "must be a JSON string")
        self.assertFalse(out.exists())
        run_owf("convert", self.source, out, "--license", "Apache-2.0 WITH LLVM-exception OR MIT", check=0)
    def test_dtype_f16_rounds_to_nearest_even(self):
        out = self.tmp / "half.safetensors"
        run_owf("convert", self.source, out, "--dtype", "f16", check=0)
        tensors, _ = read_safetensors(out)
        for name, array in self.tensors.items():
            expected = array.astype(numpy.float16) if array.dtype == numpy.float32 else array
            self.assertEqual(tensors[name].dtype, expected.dtype, name)
            self.assertEqual(tensors[name].tobytes(), expected.tobytes(), name)

    def test_dtype_q8_0_as_llama_cpp(self):
        out = self.tmp / "q8.owf"
        run_owf("convert", self.source, out, "--dtype", "q8_0", check=0)
        self.assertEqual(self.dtypes(out), {
            "fc1.weight": "q8_0",       # 2-D, 64 columns: whole blocks of 32
            "fc1.bias": "f32",          # 1-D stays f32
            "ln.norm.weight": "f32",    # norms stay f32
            "odd.weight": "f16",        # 30 columns: not whole blocks, falls back to f16
            "steps": "i64",             # not floating: untouched
        })
        layout = read_owf_layout(out)
        q8 = next(t for t in layout["tensors"] if t["name"] == "fc1.weight")
        self.assertEqual(q8["stored_length"], 16 * 64 // 32 * 34)
        # Dequantized values stay within q8_0's error: half a step of each block's scale (max |x| / 127).
        run_owf("diff", "--ignore-metadata", "--atol", "0.02", "--rtol", "0", self.source, out, check=0)
        run_owf("diff", "--ignore-metadata", self.source, out, check=1)
        self.assertEqual(self.provenance(out)["parents"][0]["digest"], content_digest(self.tensors))

    def test_dtype_rule_first_match_wins(self):
        out = self.tmp / "rules.owf"
        run_owf("convert", self.source, out, "--dtype", "f16", "--dtype-rule", "fc1\\.w=bf16",
                "--dtype-rule", "fc1=f32", check=0)
        dtypes = self.dtypes(out)
        self.assertEqual((dtypes["fc1.weight"], dtypes["fc1.bias"], dtypes["odd.weight"]), ("bf16", "f32", "f16"))

    def test_compression_keeps_the_weights(self):
        out = self.tmp / "small.owf"
        run_owf("convert", self.source, out, "--compress", "--compress-level", "9", "--chunk-size", "1KiB",
                "--align", "256", check=0)
        run_owf("verify", out, check=0)
        self.assertEqual(read_owf_layout(out)["alignment"], 256)
        self.assertTrue(all(t["encoding"] == 1 for t in read_owf_layout(out)["tensors"]))
        self.assertEqual(run_owf("hash", out, check=0).stdout.split()[0], content_digest(self.tensors))

    def test_owf_only_options_are_refused_for_other_formats(self):
        self.assertRefused(run_owf("convert", self.source, self.tmp / "x.safetensors", "--compress"), "--compress")
        self.assertRefused(run_owf("convert", self.source, self.tmp / "x.owf", "--max-shard-size", "1MB"),
                           "never sharded")

    def test_sharded_safetensors(self):
        out_dir = self.tmp / "shards"
        out_dir.mkdir()
        run_owf("convert", self.source, out_dir / "model.safetensors", "--max-shard-size", "4KiB", check=0)
        shards = sorted(out_dir.glob("*.safetensors"))
        self.assertEqual(len(shards), 2)  # fc1.weight fills 4 KiB alone
        for shard in shards:
            tensors, _ = read_safetensors(shard)
            self.assertLessEqual(sum(a.nbytes for a in tensors.values()), 4096, shard.name)
        index = out_dir / "model.safetensors.index.json"
        self.assertEqual(run_owf("hash", index, check=0).stdout.split()[0], content_digest(self.tensors))

    def test_key_selects_a_subtree_of_a_checkpoint(self):
        import torch
        checkpoint = self.tmp / "checkpoint.pt"
        weight = numpy.arange(6, dtype=numpy.float32).reshape(2, 3)
        torch.save({"state_dict": {"w": torch.from_numpy(weight)}, "optimizer": {"m": torch.zeros(2)}, "epoch": 3},
                   checkpoint)
        out = self.tmp / "weights.safetensors"
        run_owf("convert", "--key", "state_dict", checkpoint, out, check=0)
        tensors, _ = read_safetensors(out)
        self.assertEqual(list(tensors), ["w"])
        numpy.testing.assert_array_equal(tensors["w"], weight)
        digest = run_owf("hash", "--key", "state_dict", checkpoint, check=0).stdout.split()[0]
        self.assertEqual(digest, content_digest({"w": weight}))
        self.assertRefused(run_owf("inspect", "--key", "nope", checkpoint), "checkpoint.pt", "'nope'")

    def test_format_flag_overrides_the_extension(self):
        out = self.tmp / "weights.bin"
        run_owf("convert", self.source, out, "--format", "owf", check=0)
        self.assertEqual(self.inspect(out)["format"], "owf")

    def test_unknown_output_extension_is_refused(self):
        self.assertRefused(run_owf("convert", self.source, self.tmp / "weights.xyz"), "weights.xyz")
        self.assertEqual(os.listdir(self.tmp), ["model.safetensors"])


if __name__ == "__main__":
    unittest.main()
