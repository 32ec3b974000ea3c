"""Writes samples/tiny-mlp.safetensors: a small, deterministic two-layer MLP in safetensors,
produced with the standard library only (so the sample is not written by owf itself).

Run from the repository root: python3 samples/make_sample.py
"""
import json
import math
import pathlib
import struct


def values(count, seed):
    # A fixed pseudo-random sequence (LCG), shaped like trained weights: small and centred.
    state = seed
    out = []
    for _ in range(count):
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        out.append(math.tanh(((state >> 11) / 2**53 - 0.5) * 0.4))
    return out


def main():
    tensors = {
        "fc1.weight": ([64, 32], values(64 * 32, 1)),
        "fc1.bias": ([64], values(64, 2)),
        "fc2.weight": ([10, 64], values(10 * 64, 3)),
        "fc2.bias": ([10], values(10, 4)),
    }
    header = {"__metadata__": {"format": "pt", "architecture": "mlp", "license": "CC0-1.0"}}
    data = bytearray()
    for name, (shape, floats) in tensors.items():
        start = len(data)
        data += struct.pack(f"<{len(floats)}f", *floats)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [start, len(data)]}
    header_bytes = json.dumps(header, separators=(",", ":")).encode()
    header_bytes += b" " * (-len(header_bytes) % 8)
    out = pathlib.Path(__file__).with_name("tiny-mlp.safetensors")
    out.write_bytes(struct.pack("<Q", len(header_bytes)) + header_bytes + data)


if __name__ == "__main__":
    main()
