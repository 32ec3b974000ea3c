"""owf sign / owf verify --signature (spec/signatures.md): DSSE envelopes over the weights' digests that
stay valid across containers, checked by owf and, independently, by OpenSSL's command line (the test
rebuilds DSSE's PAE bytes from the envelope itself and runs `openssl pkeyutl -verify`)."""
import base64
import hashlib
import json
import subprocess
import unittest

import numpy as np

import owftest
from owftest import content_digest, run_owf, write_safetensors

OPENSSL = "/usr/bin/openssl"


def openssl(*args):
    subprocess.run([OPENSSL, *map(str, args)], check=True, capture_output=True)


class SignTest(owftest.OwfTestCase):
    def setUp(self):
        super().setUp()
        self.tensors = {"layer.weight": np.arange(12, dtype=np.float32).reshape(3, 4),
                        "layer.bias": np.array([1, -2, 3], dtype=np.int64),
                        "norm": np.ones(4, dtype=np.float16)}
        self.model = self.tmp / "model.safetensors"
        write_safetensors(self.model, self.tensors, metadata={"note": "signed"})

    def keypair(self, kind):
        private, public = self.tmp / f"{kind}.pem", self.tmp / f"{kind}.pub.pem"
        if kind == "ed25519":
            openssl("genpkey", "-algorithm", "ed25519", "-out", private)
        else:
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", private)
        openssl("pkey", "-in", private, "-pubout", "-out", public)
        return private, public

    def sign(self, private, *extra):
        signature = self.tmp / "model.sig"
        run_owf("sign", self.model, "--key", private, "-o", signature, *extra, check=0)
        return signature

    def verify(self, path, signature, public, *extra):
        return run_owf("verify", path, "--signature", signature, "--key", public, *extra)

    def test_envelope_is_dsse_over_an_in_toto_statement_and_openssl_verifies_it(self):
        for kind in ("ed25519", "p256"):
            with self.subTest(kind=kind):
                private, public = self.keypair(kind)
                envelope = json.loads(self.sign(private).read_text())
                self.assertEqual(envelope["payloadType"], "application/vnd.in-toto+json")
                payload = base64.b64decode(envelope["payload"])
                statement = json.loads(payload)
                self.assertEqual(statement["_type"], "https://in-toto.io/Statement/v1")
                digest = content_digest(self.tensors)[len("sha256:"):]  # computed here, not by owf
                self.assertEqual(statement["subject"], [{"name": "model.safetensors", "digest": {"sha256": digest}}])
                self.assertEqual(sorted(statement["predicate"]["tensors"]), sorted(self.tensors))
                # PAE rebuilt from the DSSE spec, checked by OpenSSL alone.
                kind_bytes = envelope["payloadType"].encode()
                pae = b"DSSEv1 %d %s %d %s" % (len(kind_bytes), kind_bytes, len(payload), payload)
                (self.tmp / "pae.bin").write_bytes(pae)
                (self.tmp / "sig.bin").write_bytes(base64.b64decode(envelope["signatures"][0]["sig"]))
                digest_args = [] if kind == "ed25519" else ["-digest", "sha256"]
                openssl("pkeyutl", "-verify", "-pubin", "-inkey", public, "-rawin", *digest_args,
                        "-in", self.tmp / "pae.bin", "-sigfile", self.tmp / "sig.bin")
                # keyid: SHA-256 of the DER public key.
                der = subprocess.run([OPENSSL, "pkey", "-pubin", "-in", public, "-outform", "DER"], check=True,
                                     capture_output=True).stdout
                self.assertEqual(envelope["signatures"][0]["keyid"], hashlib.sha256(der).hexdigest())
                # And a flipped payload byte fails OpenSSL too: the check can fail.
                (self.tmp / "pae.bin").write_bytes(pae[:-2] + bytes([pae[-2] ^ 1]) + pae[-1:])
                with self.assertRaises(subprocess.CalledProcessError):
                    openssl("pkeyutl", "-verify", "-pubin", "-inkey", public, "-rawin", *digest_args,
                            "-in", self.tmp / "pae.bin", "-sigfile", self.tmp / "sig.bin")

    def test_signature_survives_conversion_to_every_raw_container(self):
        private, public = self.keypair("ed25519")
        signature = self.sign(private)
        self.assertIn("signature verified", self.verify(self.model, signature, public, "--metadata").stdout)
        for suffix in (".owf", ".npz", ".gguf"):
            with self.subTest(suffix=suffix):
                converted = self.tmp / ("converted" + suffix)
                run_owf("convert", self.model, converted, check=0)
                result = self.verify(converted, signature, public)
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
                self.assertIn("signed as 'model.safetensors'", result.stdout)

    def test_changed_tensor_is_named_and_changed_metadata_fails_with_metadata(self):
        private, public = self.keypair("p256")
        signature = self.sign(private)
        changed = dict(self.tensors)
        changed["layer.bias"] = np.array([1, -2, 4], dtype=np.int64)
        tampered = self.tmp / "tampered.safetensors"
        write_safetensors(tampered, changed, metadata={"note": "signed"})
        result = self.verify(tampered, signature, public)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("tensor 'layer.bias' differs from the signed tensor", result.stdout)

        missing = self.tmp / "missing.safetensors"
        write_safetensors(missing, {k: v for k, v in self.tensors.items() if k != "norm"}, metadata={"note": "signed"})
        self.assertIn("tensor 'norm' was signed but is missing", self.verify(missing, signature, public).stdout)

        relabelled = self.tmp / "relabelled.safetensors"
        write_safetensors(relabelled, self.tensors, metadata={"note": "changed"})
        self.assertEqual(self.verify(relabelled, signature, public).returncode, 0)
        result = self.verify(relabelled, signature, public, "--metadata")
        self.assertEqual(result.returncode, 1)
        self.assertIn("the metadata differs from the signed metadata", result.stdout)

    def test_wrong_key_and_altered_envelope_fail(self):
        private, _ = self.keypair("ed25519")
        _, other_public = self.keypair("p256")
        signature = self.sign(private)
        result = self.verify(self.model, signature, other_public)
        self.assertEqual(result.returncode, 1)
        self.assertIn("no signature verifies with the key", result.stdout)
        envelope = json.loads(signature.read_text())
        statement = json.loads(base64.b64decode(envelope["payload"]))
        statement["predicate"]["tensors"]["norm"] = "sha256:" + "0" * 64
        envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
        signature.write_text(json.dumps(envelope))
        _, public = private, self.tmp / "ed25519.pub.pem"
        self.assertEqual(self.verify(self.model, signature, public).returncode, 1)
        self.assertRefused(self.verify(self.model, signature, self.model), "not a PEM")

    def test_embedded_signature_lives_outside_both_digests(self):
        private, public = self.keypair("ed25519")
        owf = self.tmp / "model.owf"
        run_owf("convert", self.model, owf, check=0)
        digest = run_owf("hash", owf, check=0).stdout.split()[0]
        run_owf("sign", owf, "--key", private, "--embed", check=0)
        self.assertEqual(run_owf("hash", owf, check=0).stdout.split()[0], digest)
        metadata = json.loads(run_owf("meta", owf, check=0).stdout)
        self.assertEqual(len(metadata["signatures"]), 1)
        result = run_owf("verify", owf, "--key", public, "--metadata")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("signature verified (weights and metadata", result.stdout)
        self.assertRefused(run_owf("sign", self.model, "--key", private, "--embed"), "--embed needs an .owf file")
        self.assertRefused(run_owf("verify", self.model, "--key", public), "no embedded signature")


if __name__ == "__main__":
    unittest.main()
