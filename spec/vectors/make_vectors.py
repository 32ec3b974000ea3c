#!/usr/bin/python3
"""Writes the owf test vectors: valid/*.owf with a .json of their exact content, and
invalid/*.owf with invalid/expected.json naming the error a reader must report.

Written from spec/owf-v1.md alone, independently of the C++ library, so that the
library's tests compare two implementations of the spec. Needs Python 3 with the
standard library, xxhash and zstandard (Debian: python3-xxhash python3-zstandard).
Run it from anywhere; it rewrites the folders beside this script, or under the folder
given as its one argument. The output is deterministic: running it twice gives the same
bytes, and tests/lib/vectors_reproducible.py checks the committed files are its output.
"""
import hashlib
import json
import math
import pathlib
import struct
import sys

import xxhash
import zstandard

HERE = pathlib.Path(__file__).resolve().parent

MAGIC = b"\x89OWF\r\n\x1a\n"
MAX_HEADER_CAPACITY = 256 * 1024 * 1024

# Spec section 5: name -> (id, block_elements, block_bytes, kind). Only what the vectors use
# needs to be right here, but the whole table is listed so that ids are looked up by name.
DTYPES = {
    "bool": (1, 1, 1, "plain"), "u8": (2, 1, 1, "plain"), "u16": (3, 1, 2, "plain"),
    "u32": (4, 1, 4, "plain"), "u64": (5, 1, 8, "plain"), "i8": (6, 1, 1, "plain"),
    "i16": (7, 1, 2, "plain"), "i32": (8, 1, 4, "plain"), "i64": (9, 1, 8, "plain"),
    "f16": (10, 1, 2, "plain"), "bf16": (11, 1, 2, "plain"), "f32": (12, 1, 4, "plain"),
    "f64": (13, 1, 8, "plain"), "c64": (14, 1, 8, "plain"), "c128": (15, 1, 16, "plain"),
    "f8_e4m3fn": (16, 1, 1, "plain"), "f8_e5m2": (17, 1, 1, "plain"),
    "f8_e4m3fnuz": (18, 1, 1, "plain"), "f8_e5m2fnuz": (19, 1, 1, "plain"),
    "f8_e8m0": (20, 1, 1, "plain"), "f6_e2m3": (21, 4, 3, "packed"), "f6_e3m2": (22, 4, 3, "packed"),
    "f4_e2m1": (23, 2, 1, "packed"), "int4": (24, 2, 1, "packed"), "uint4": (25, 2, 1, "packed"),
    "q4_0": (258, 32, 18, "ggml"), "q4_1": (259, 32, 20, "ggml"), "q8_0": (264, 32, 34, "ggml"),
    "q4_k": (268, 256, 144, "ggml"), "q6_k": (270, 256, 210, "ggml"),
}


def le16(x): return struct.pack("<H", x)
def le32(x): return struct.pack("<I", x)
def le64(x): return struct.pack("<Q", x)
def align_up(x, a): return (x + a - 1) // a * a
def xxh3(data): return xxhash.xxh3_64_intdigest(bytes(data))


def decoded_size(dtype, shape):
    _, elements_per_block, block_bytes, kind = DTYPES[dtype]
    count = math.prod(shape)
    if kind == "plain":
        return count * block_bytes
    if kind == "packed":
        bits = 8 * block_bytes // elements_per_block
        return (count * bits + 7) // 8
    assert shape and shape[-1] % elements_per_block == 0
    return count // elements_per_block * block_bytes


def group_width(dtype):
    """Element width for the byte-group filter (section 6.2), or 0 where it is not allowed."""
    _, elements_per_block, block_bytes, kind = DTYPES[dtype]
    return block_bytes if kind == "plain" and block_bytes >= 2 else 0


# ---- content digest (section 7)

def tensor_digest(name, dtype, shape, data):
    h = hashlib.sha256(b"owf.tensor.v1\x00")
    h.update(le64(len(name)) + name)
    h.update(le64(len(dtype)) + dtype.encode())
    h.update(le64(len(shape)) + b"".join(le64(d) for d in shape))
    h.update(le64(len(data)) + data)
    return h.digest()


def content_digest(tensors):
    digests = sorted((t.name, tensor_digest(t.name, t.dtype, t.shape, t.data)) for t in tensors)
    h = hashlib.sha256(b"owf.content.v1\x00" + le64(len(digests)))
    for _, d in digests:
        h.update(d)
    return h.digest()


# ---- encodings (section 6)

def entropy_bits(lane):
    """Order-0 entropy of the bytes, in bits: the sum over byte values, in value order."""
    bits = 0.0
    for value in range(256):
        count = float(lane.count(value))
        if count > 0:
            bits -= count * math.log2(count / len(lane))
    return bits


def lanes_chunk(lanes, level):
    """Section 6.3 as owf writes it: a lane is compressed when its entropy is below 97.5% of
    8 bits per byte and the frame saves at least 1/64 of it; otherwise it is stored."""
    stored = []
    for lane in lanes:
        m = len(lane)
        frame = zstandard.ZstdCompressor(level=level).compress(lane) if entropy_bits(lane) < 0.975 * 8 * m else None
        stored.append(frame if frame is not None and len(frame) < m - m // 64 else lane)
    return b"".join(le32(len(s)) for s in stored) + b"".join(stored)


def zstd_chunked(data, dtype, chunk_size, level, byte_group, lanes=False):
    width = group_width(dtype) if byte_group else 0
    if width and chunk_size % width:
        width = 0
    filter_id = 0 if not width else 2 if lanes else 1
    frames = []
    for start in range(0, len(data), chunk_size):
        chunk = data[start:start + chunk_size]
        if width:
            m = len(chunk) // width
            grouped = [bytes(chunk[j * width + k] for j in range(m)) for k in range(width)]
            if filter_id == 2:
                frames.append(lanes_chunk(grouped, level))
                continue
            chunk = b"".join(grouped)
        frames.append(zstandard.ZstdCompressor(level=level).compress(chunk))
    header = le32(chunk_size) + bytes([filter_id, 0, 0, 0]) + le64(len(frames))
    encoding = ["zstd", "zstd+bytegroup", "zstd+lanes"][filter_id]
    return header + b"".join(le64(len(f)) for f in frames) + b"".join(frames), encoding


def zstd_frame(content, single_segment=True, content_size=True, checksum=False, dictionary_id=None,
               window_exponent=0, blocks=None, magic=0xFD2FB528):
    """One Zstandard frame built field by field from RFC 8878 section 3.1.1, so that the vectors can
    hold the frame forms section 6.2 allows or refuses, whatever a compressor library would emit.
    `blocks` is a list of ("raw", bytes) or ("rle", byte, count); by default one raw block."""
    blocks = blocks or [("raw", content)]
    size = len(content)
    if not content_size:
        fcs_flag, fcs = 0, b""
    elif single_segment and size < 256:
        fcs_flag, fcs = 0, bytes([size])
    elif 256 <= size < 65536 + 256:
        fcs_flag, fcs = 1, struct.pack("<H", size - 256)
    else:
        fcs_flag, fcs = 2, le32(size)
    did_flag, did = (0, b"") if dictionary_id is None else (1, bytes([dictionary_id]))
    descriptor = fcs_flag << 6 | (single_segment << 5) | (checksum << 2) | did_flag
    out = le32(magic) + bytes([descriptor]) + (b"" if single_segment else bytes([window_exponent << 3])) + did + fcs
    for i, block in enumerate(blocks):
        last = i == len(blocks) - 1
        if block[0] == "raw":
            out += struct.pack("<I", last | 0 << 1 | len(block[1]) << 3)[:3] + block[1]
        else:
            out += struct.pack("<I", last | 1 << 1 | block[2] << 3)[:3] + bytes([block[1]])
    if checksum:
        out += le32(xxhash.xxh64_intdigest(content) & 0xFFFFFFFF)
    return out


def chunk_table(chunk_size, filter_id, count, lengths, reserved=b"\0\0\0"):
    """The 16-byte chunk header and the table of section 6.2."""
    return le32(chunk_size) + bytes([filter_id]) + reserved + le64(count) + b"".join(le64(n) for n in lengths)


def one_frame_tensor(name, frame, size=16):
    """A u8 tensor of `size` bytes stored zstd-chunked as the single chunk `frame`."""
    return Tensor(name, "u8", [size], bytes(size), stored=chunk_table(size, 0, 1, [len(frame)]) + frame, encoding_id=1)


class Tensor:
    """One tensor as the file builder sees it. Fields other than name/dtype/shape/data
    override what a correct writer would put in the record (for invalid vectors)."""

    def __init__(self, name, dtype, shape, data=None, **overrides):
        self.name = name.encode() if isinstance(name, str) else name
        self.dtype, self.shape = dtype, list(shape)
        self.data = data if data is not None else pattern(decoded_size(dtype, shape), len(self.name))
        self.overrides = overrides


def pattern(size, seed):
    """Deterministic bytes: a slow ramp mixed with a little noise, so they compress a bit."""
    state, out = seed * 2654435761 % 2**32 + 1, bytearray(size)
    for i in range(size):
        state = (state * 1103515245 + 12345) % 2**32
        out[i] = ((i // 7) ^ (state >> 16)) & 0x0F
    return bytes(out)


def build(tensors, metadata=b"{}", alignment=64, slack=4096, compression=None, major=1, minor=None,
          header_extra=b"", digest=None, preamble=None, free_before=b"", free_after=None):
    """Lays out an .owf file as section 2 describes and returns (bytes, encodings).
    `compression` is None or (level, chunk_size, byte_group[, lanes]); empty tensors stay raw, as owf
    writes them. `minor` defaults to the lowest version defining the ids used: 1 with the lanes filter.
    `preamble` overrides preamble fields by name after everything is computed. `free_before` (a multiple
    of 8 bytes) is free space of the header region before the header, `free_after` the slack's content
    (zeros by default), as an interrupted in-place edit may leave them."""
    data_start = align_up(64, alignment)
    body = bytearray(data_start)
    records, encodings, end = [], [], data_start
    lowest_minor = 0
    for t in tensors:
        o = t.overrides
        if compression and t.data:
            stored, encoding = zstd_chunked(t.data, t.dtype, compression[1], compression[0], *compression[2:])
        else:
            stored, encoding = t.data, "raw"
        stored = o.get("stored", stored)
        encodings.append(encoding)
        offset = o.get("offset", align_up(end, alignment))
        if len(body) < offset + len(stored):
            body.extend(bytes(offset + len(stored) - len(body)))
        body[offset:offset + len(stored)] = stored
        end = max(end, offset + len(stored))
        name = t.name
        rank = o.get("rank", len(t.shape))
        dtype_id = o.get("dtype_id", DTYPES[t.dtype][0] if t.dtype in DTYPES else 0)
        encoding_id = o.get("encoding_id", 0 if encoding == "raw" else 1)
        if encoding_id == 1 and len(stored) > 4 and stored[4] == 2:
            lowest_minor = 1  # the lanes filter came in 1.1
        fields = (le16(dtype_id) + bytes([encoding_id, rank]) + le32(len(name)) + name +
                  b"".join(le64(d) for d in t.shape) + le64(offset) +
                  le64(o.get("stored_length", len(stored))) + le64(o.get("checksum", xxh3(stored))) +
                  o.get("record_extra", b""))
        records.append(le32(o.get("record_length", 4 + len(fields))) + fields)
    header_offset = align_up(end, 8)
    body.extend(bytes(header_offset - len(body)))
    assert len(free_before) % 8 == 0
    body.extend(free_before)
    header_offset += len(free_before)
    digest = digest if digest is not None else content_digest([t for t in tensors])
    header = (digest + le64(len(tensors)) + le64(len(metadata)) + metadata + b"".join(records) + header_extra)
    fields = dict(major=major, minor=lowest_minor if minor is None else minor, alignment=alignment, header_offset=header_offset,
                  header_length=len(header), header_capacity=len(header) + slack,
                  header_checksum=xxh3(header), reserved=0)
    fields.update(preamble or {})
    pre = (MAGIC + le16(fields["major"]) + le16(fields["minor"]) + le32(fields["alignment"]) +
           le64(fields["header_offset"]) + le64(fields["header_length"]) + le64(fields["header_capacity"]) +
           le64(fields["header_checksum"]) + le64(fields["reserved"]))
    pre += le64(xxh3(pre))
    body[0:64] = pre
    free_after = bytes(slack) if free_after is None else free_after
    assert len(free_after) == slack
    return bytes(body) + header + free_after, encodings


def fix_header(data):
    """Recomputes header_checksum (and so preamble_checksum) after a header field was changed on purpose."""
    offset, length = struct.unpack_from("<QQ", data, 16)
    return fix_preamble(patch(data, 40, le64(xxh3(data[offset:offset + length]))))


def fix_preamble(data):
    """Recomputes preamble_checksum after a preamble field was changed on purpose."""
    data = bytearray(data)
    data[56:64] = le64(xxh3(data[:56]))
    return bytes(data)


# ---- valid vectors

def floats(count, scale=1.0, fmt="<f"):
    return b"".join(struct.pack(fmt, scale * math.sin(i * 0.05) + 0.001 * (i % 13)) for i in range(count))


def lane_weights(count, width):
    """Elements whose top byte takes a few values (like exponents of trained weights) and whose
    other bytes are noise (like mantissas): the high lane compresses, the low lanes do not."""
    state, out = 12345, bytearray()
    for i in range(count):
        for k in range(width - 1):
            state = (state * 1103515245 + 12345) % 2**32
            out.append(state >> 24)
        out.append(0x3C + (i * 7 // 3) % 3 if width == 2 else 0xBC + (i % 5) // 4)
    return bytes(out)


def valid_vectors():
    q8_block = le16(0x3C00) + bytes((i * 7 - 100) & 0xFF for i in range(32))  # d = 1.0 (f16), then 32 int8
    yield "empty_model", dict(tensors=[])
    yield "scalars_and_zero_dims", dict(tensors=[
        Tensor("scalar.f32", "f32", [], struct.pack("<f", 3.5)),
        Tensor("scalar.i64", "i64", [], struct.pack("<q", -2)),
        Tensor("zero.f16", "f16", [0]),
        Tensor("zero.middle", "u8", [3, 0, 2]),
        Tensor("after.zero", "i16", [3], struct.pack("<3h", 1, -1, 300)),
    ])
    yield "dtypes", dict(tensors=[
        Tensor("bool", "bool", [4], bytes([1, 0, 0, 1])),
        Tensor("u8", "u8", [3], bytes([0, 127, 255])),
        Tensor("i16", "i16", [2, 2], struct.pack("<4h", -32768, -1, 0, 32767)),
        Tensor("f16", "f16", [3], le16(0x3C00) + le16(0xC000) + le16(0x7C00)),
        Tensor("bf16", "bf16", [2], le16(0x3F80) + le16(0x4049)),
        Tensor("f32", "f32", [2, 3], floats(6)),
        Tensor("f64", "f64", [2], struct.pack("<2d", math.pi, -0.0)),
        Tensor("c64", "c64", [1], struct.pack("<2f", 1.0, -2.0)),
        Tensor("f8_e4m3fn", "f8_e4m3fn", [3], bytes([0x38, 0xB8, 0x7F])),
        Tensor("int4", "int4", [5], bytes([0x21, 0x43, 0x0F])),  # 1, 2, 3, 4, -1; high nibble of the last byte 0
        Tensor("uint4", "uint4", [2, 2], bytes([0xBA, 0xDC])),
        Tensor("f6_e2m3", "f6_e2m3", [3], bytes([0x41, 0x10, 0x03])),  # 18 bits in 3 bytes
        Tensor("f4_e2m1", "f4_e2m1", [3], bytes([0x21, 0x07])),
        Tensor("q8_0", "q8_0", [1, 32], q8_block),
        Tensor("q4_0", "q4_0", [2, 32]),
    ])
    odd = [Tensor("a", "u8", [3]), Tensor("b", "f32", [5]), Tensor("c", "i64", [1]), Tensor("d", "u8", [1])]
    yield "alignment_8", dict(tensors=odd, alignment=8)
    yield "alignment_4096", dict(tensors=odd, alignment=4096, slack=100)
    yield "zstd_byte_group", dict(compression=(3, 1024, True), tensors=[
        Tensor("weights.f32", "f32", [1000], floats(1000)),   # 4000 bytes: 4 chunks, the last 928 bytes
        Tensor("bytes.u8", "u8", [600]),                      # 1-byte elements: no byte-group
        Tensor("weights.bf16", "bf16", [10, 10], floats(100, fmt="<f")[:200]),
        Tensor("empty", "f32", [0]),                          # stays raw
    ])
    yield "zstd_plain_level1", dict(compression=(1, 300, False), tensors=[
        Tensor("w", "f64", [100], floats(100, fmt="<d")),
        Tensor("one.chunk", "i32", [10]),
    ])
    # Trained-like bf16 and f32: compressible high bytes, noisy low bytes that are stored.
    yield "zstd_lanes", dict(compression=(1, 2048, True, True), tensors=[
        Tensor("weights.bf16", "bf16", [1500], lane_weights(1500, 2)),   # 3000 bytes: 2 chunks, lanes 0 stored
        Tensor("weights.f32", "f32", [600], lane_weights(600, 4)),       # 2400 bytes: lanes 0 and 1 stored
        Tensor("bytes.u8", "u8", [600]),                                  # no lanes for 1-byte elements
        Tensor("ramp.i16", "i16", [700], struct.pack("<700h", *range(-350, 350))),  # both lanes compress
    ])
    yield "rich_metadata", dict(tensors=[Tensor("x", "f32", [2], floats(2))], metadata=json.dumps({
        "architecture": "llama",
        "license": "Apache-2.0 OR MIT",
        "provenance": {
            "source": {"name": "example/tiny", "url": "https://example.org/tiny"},
            "parents": [{"name": "base", "digest": "sha256:" + "ab" * 32}],
            "writer": {"tool": "make_vectors.py", "version": "1"},
            "conversions": [{"tool": "owf", "version": "0.1.0",
                             "from": {"format": "safetensors", "name": "model.safetensors",
                                      "digest": "sha256:" + "cd" * 32},
                             "to": {"format": "owf"}, "options": ["--compress"]}],
        },
        "gguf": {"general.name": "tiny", "tokenizer.ggml.tokens": ["<s>", "</s>", "é", "🙂"]},
        "user": {"nested": [[[1, 2.5, None, True, False, "\u0000"]]], "empty": {}},
    }, ensure_ascii=False, separators=(",", ":")).encode())
    yield "trailing_empty_tensor", dict(tensors=[Tensor("bytes", "u8", [3]), Tensor("empty", "f32", [0])])
    yield "zero_dims_large", dict(tensors=[Tensor("zero.big", "u8", [2**32, 0, 2**31]), Tensor("after", "u8", [2])])
    yield "zstd_byte_group_complex", dict(compression=(3, 320, True), tensors=[
        Tensor("c64", "c64", [60], floats(120)),                # w = 8: the whole complex element
        Tensor("c128", "c128", [30], floats(60, fmt="<d")),     # w = 16
    ])
    # What an interrupted in-place edit may leave (section 8): the earlier header before the live one,
    # and part of another header in the slack. Free space is ignored, whatever it holds.
    slot_tensors = [Tensor("w", "f32", [2], floats(2))]
    old, _ = build(slot_tensors, metadata=b'{"v":1}')
    old_header = old[header_offset_of(old):len(old) - 4096]
    yield "header_second_slot", dict(tensors=slot_tensors, metadata=b'{"v":2}',
                                     free_before=old_header + bytes(-len(old_header) % 8),
                                     free_after=old_header[:100] + bytes(4096 - 100))
    yield "unicode_names", dict(tensors=[
        Tensor("模型.权重", "u8", [2]), Tensor("ß", "u8", [1]), Tensor("a b\tc", "u8", [1]), Tensor("B", "u8", [1]),
    ])


def frame_forms_vector():
    """Frame forms section 6.2 allows beyond what owf writes: no content size with a checksum,
    several blocks (raw and RLE), a 2-byte content size, a multi-segment window."""
    content = bytes(range(16)) + bytes(48)
    tensors = [
        Tensor("checksum.no_size", "u8", [64], content, stored=None),
        Tensor("raw_and_rle_blocks", "u8", [64], content, stored=None),
        Tensor("two_byte_size", "u8", [300], bytes(300), stored=None),
        Tensor("windowed", "u8", [64], content, stored=None),
    ]
    frames = [
        zstd_frame(content, single_segment=False, content_size=False, checksum=True),
        zstd_frame(content, blocks=[("raw", content[:16]), ("rle", 0, 48)]),
        zstd_frame(bytes(300), single_segment=False, blocks=[("rle", 0, 300)]),
        zstd_frame(content, single_segment=False, window_exponent=17),  # 128 MiB: the limit, allowed
    ]
    for t, frame in zip(tensors, frames):
        t.overrides = {"stored": chunk_table(len(t.data), 0, 1, [len(frame)]) + frame, "encoding_id": 1}
    return tensors, build(tensors)


def minor_version_vector():
    """A version 1.2 file with an extra field at the end of a record and bytes after the
    records: a 1.1 reader must read it (section 3, 'Versions'). owf itself never writes this."""
    tensors = [Tensor("x", "u16", [3], record_extra=b"\x01\x02\x03\x04"), Tensor("y", "u8", [2])]
    return tensors, build(tensors, minor=2, header_extra=b"future")


def unknown_ids_vector():
    """A version 1.2 file whose tensors use an encoding id (7) and a chunk filter id (9) that
    version 1.1 does not define: a 1.1 reader opens it and reads the known tensor, and refuses
    to decode the other two, naming them (section 3, 'Versions')."""
    frame = zstandard.ZstdCompressor(level=3).compress(bytes(16))
    future_filter = chunk_table(16, 9, 1, [len(frame)]) + frame
    tensors = [Tensor("known", "u8", [2], bytes([1, 2])),
               Tensor("future.encoding", "f32", [4], stored=b"opaque bytes", encoding_id=7),
               Tensor("future.filter", "u16", [8], bytes(16), stored=future_filter, encoding_id=1)]
    data, _ = build(tensors, minor=2)
    unsupported = {"future.encoding": "tensor 'future.encoding': encoding 7 of format version 1.2 is not supported",
                   "future.filter": "tensor 'future.filter': chunk filter 9 of format version 1.2 is not supported"}
    return tensors, ["raw", "encoding 7", "zstd+filter 9"], unsupported, data


def describe(tensors, encodings, metadata, options, reproducible, data, unsupported=None):
    """`unsupported` maps the names of tensors a reader must refuse to decode to its error."""
    unsupported = unsupported or {}
    return {
        "metadata": metadata.decode(),
        "options": options,
        "writer_reproducible": reproducible,
        "file_sha256": hashlib.sha256(data).hexdigest(),
        "content_digest": content_digest(tensors).hex(),
        "tensors": [dict({"name": t.name.decode(), "dtype": t.dtype, "shape": t.shape, "encoding": e},
                         **({"unsupported": unsupported[t.name.decode()]} if t.name.decode() in unsupported
                            else {"data": t.data.hex()}))
                    for t, e in zip(tensors, encodings)],
    }


def write_valid(folder):
    for name, spec in valid_vectors():
        data, encodings = build(**spec)
        reproducible = "free_before" not in spec  # owf's writer leaves free space zero
        compression = spec.get("compression")
        options = {"alignment": spec.get("alignment", 64), "header_slack": spec.get("slack", 4096),
                   "compression": None if compression is None else
                   {"level": compression[0], "chunk_size": compression[1], "byte_group": compression[2],
                    "lanes": compression[3] if len(compression) > 3 else False}}
        (folder / f"{name}.owf").write_bytes(data)
        meta = spec.get("metadata", b"{}")
        (folder / f"{name}.json").write_text(
            json.dumps(describe(spec["tensors"], encodings, meta, options, reproducible, data), indent=1,
                       ensure_ascii=False) + "\n")
    tensors, (data, encodings) = minor_version_vector()
    (folder / "minor_version_1_2.owf").write_bytes(data)
    description = describe(tensors, encodings, b"{}", {"alignment": 64, "header_slack": 4096, "compression": None},
                           False, data)
    (folder / "minor_version_1_2.json").write_text(json.dumps(description, indent=1) + "\n")
    tensors, (data, _) = frame_forms_vector()
    (folder / "zstd_frame_forms.owf").write_bytes(data)
    description = describe(tensors, ["zstd"] * len(tensors), b"{}",
                           {"alignment": 64, "header_slack": 4096, "compression": None}, False, data)
    (folder / "zstd_frame_forms.json").write_text(json.dumps(description, indent=1) + "\n")
    tensors, encodings, unsupported, data = unknown_ids_vector()
    (folder / "minor_version_1_2_unknown_ids.owf").write_bytes(data)
    description = describe(tensors, encodings, b"{}", {"alignment": 64, "header_slack": 4096, "compression": None},
                           False, data, unsupported)
    (folder / "minor_version_1_2_unknown_ids.json").write_text(json.dumps(description, indent=1) + "\n")


# ---- invalid vectors: (file name, bytes, stage, fragment). stage "open": Reader::open must fail;
# "verify": the file opens, and verify() must report the fragment.

def patch(data, offset, new):
    data = bytearray(data)
    data[offset:offset + len(new)] = new
    return bytes(data)


def header_offset_of(data):
    return struct.unpack_from("<Q", data, 16)[0]


def invalid_vectors():
    two = [Tensor("first", "f32", [4]), Tensor("second", "u8", [8])]
    good, _ = build(two)
    h = header_offset_of(good)
    record0 = h + 48 + 2  # the first record, metadata "{}" being 2 bytes

    yield "bad_magic", patch(good, 1, b"X"), "open", "not an owf file (bad magic)"
    yield "too_short", good[:40], "open", "too short for the 64-byte owf preamble"
    yield "preamble_checksum", patch(good, 60, b"\xff"), "open", "preamble checksum mismatch"
    yield "newer_major", fix_preamble(patch(good, 8, le16(2))), "open", \
        "format version 2.0 is newer than this reader supports (1.1)"
    yield "major_zero", fix_preamble(patch(good, 8, le16(0))), "open", "format version 0.0 is invalid"
    yield "bad_alignment", build(two, preamble={"alignment": 48})[0], "open", \
        "alignment 48 at offset 12 is not a power of two in 8..4096"
    yield "reserved_nonzero", build(two, preamble={"reserved": 1})[0], "open", \
        "reserved preamble field at offset 48 is not zero"
    yield "capacity_over_cap", build(two, preamble={"header_capacity": MAX_HEADER_CAPACITY + 8})[0], "open", \
        "header capacity 268435464 at offset 32 exceeds the cap of 268435456 bytes"
    yield "truncated_file", good[:-100], "open", "should end the file"
    yield "header_beyond_file", build(two, preamble={"header_offset": h + 8})[0], "open", "should end the file"
    yield "header_length_over_capacity", build(two, preamble={"header_length": 10000})[0], "open", \
        "exceeds its capacity"
    yield "header_checksum", patch(good, h + 49, b"X"), "open", f"header checksum mismatch at offset {h}"
    yield "metadata_not_object", build(two, metadata=b"[1, 2]")[0], "open", "must be a JSON object, not an array"
    yield "metadata_bad_json", build(two, metadata=b'{"a": }')[0], "open", "metadata is not valid JSON"
    yield "metadata_bad_utf8", build(two, metadata=b'{"a": "\xc3\x28"}')[0], "open", \
        "metadata is not valid UTF-8 at byte 7"
    deep = b'{"a":' + b"[" * 64 + b"]" * 64 + b"}"
    yield "deep_json", build(two, metadata=deep)[0], "open", "nests deeper than 64 levels at byte 68"
    yield "tensor_count_too_large", fix_header(patch(good, h + 32, le64(10**12))), "open", \
        "tensor count 1000000000000"
    yield "unknown_dtype", build([Tensor("first", "f32", [4], dtype_id=999)])[0], "open", \
        "tensor 'first': unknown dtype id 999"
    yield "unknown_dtype_newer_minor", build([Tensor("first", "f32", [4], dtype_id=999)], minor=2)[0], "open", \
        "tensor 'first': unknown dtype id 999 at offset 134 (the file is version 1.2, newer than this reader's 1.1)"
    yield "unknown_encoding", build([Tensor("first", "f32", [4], encoding_id=7)])[0], "open", \
        "tensor 'first': unknown encoding 7"
    yield "duplicate_name", build([Tensor("same", "u8", [1]), Tensor("same", "u8", [1])])[0], "open", \
        "tensor 'same': duplicate name"
    yield "invalid_utf8_name", build([Tensor(b"bad\xff", "u8", [1])])[0], "open", \
        "name is not valid UTF-8 at byte 3"
    yield "surrogate_name", build([Tensor(b"\xed\xa0\x80", "u8", [1])])[0], "open", "name is not valid UTF-8 at byte 0"
    yield "empty_name", build([Tensor(b"", "u8", [1])])[0], "open", "empty name"
    yield "rank_over_32", build([Tensor("r", "u8", [1] * 33)])[0], "open", "rank 33 exceeds 32"
    yield "shape_overflow", build([Tensor("big", "u8", [2**32, 2**32, 2], b"")])[0], "open", \
        "tensor 'big': shape [4294967296, 4294967296, 2] has more than 2^64 elements"
    yield "ggml_ragged_row", build([Tensor("q", "q8_0", [1, 31], bytes(34))])[0], "open", \
        "innermost dimension is not a multiple of the block size 32"
    yield "record_too_short", fix_header(patch(good, record0, le32(20))), "open", \
        "length 20 is less than the minimum 37"
    yield "misplaced_offset", build([Tensor("first", "f32", [4]), Tensor("second", "u8", [8], offset=192)])[0], \
        "open", "tensor 'second': offset 192 should be 128 (previous tensor ends at 80, alignment 64)"
    yield "first_offset_wrong", build([Tensor("first", "f32", [4], offset=72)])[0], "open", \
        "tensor 'first': offset 72 should be 64 (the data start for alignment 64)"
    yield "overlapping_tensors", build([Tensor("first", "f32", [4]), Tensor("second", "u8", [8], offset=64)])[0], \
        "open", "tensor 'second': offset 64 should be 128"
    yield "raw_size_mismatch", build([Tensor("first", "f32", [4], stored=bytes(12))])[0], "open", \
        "tensor 'first': stored length 12 does not match its decoded size 16"
    yield "stored_past_header", build([Tensor("first", "f32", [4], stored_length=10**6)])[0], "open", \
        "run past the header"
    yield "header_offset_unaligned", build(two, preamble={"header_offset": h + 4})[0][:h] + bytes(4) + good[h:], \
        "open", f"header offset {h + 4} at offset 16 is not a multiple of 8"
    extra, _ = build(two, header_extra=b"zz")
    yield "trailing_header_bytes", extra, "open", "2 bytes after the tensor records"
    yield "record_extension_in_1_0", build([Tensor("first", "f32", [4], record_extra=b"\0\0")])[0], "open", \
        "2 bytes beyond its fields"
    # zstd-chunked tables (section 6.2)
    table = chunk_table
    frame = zstandard.ZstdCompressor(level=3).compress(bytes(16))
    yield "chunk_table_overflow", build([Tensor("huge", "u8", [2**40], b"", stored=table(1, 0, 2**40, []),
                                                encoding_id=1)])[0], "open", "chunk table of 1099511627776 entries"
    yield "chunk_count_mismatch", build([Tensor("z", "u8", [16], stored=table(8, 0, 3, [len(frame)] * 3) + frame * 3,
                                                encoding_id=1)])[0], "open", "chunk count 3 at offset 72 should be 2"
    yield "chunk_size_zero", build([Tensor("z", "u8", [16], stored=table(0, 0, 0, []), encoding_id=1)])[0], "open", \
        "chunk size 0 at offset 64 is outside 1..67108864"
    yield "chunk_length_zero", build([Tensor("z", "u8", [16], stored=table(16, 0, 1, [0]), encoding_id=1)])[0], \
        "open", "chunk 0 has length 0"
    yield "chunk_lengths_disagree", build([Tensor("z", "u8", [16], stored=table(16, 0, 1, [len(frame)]) + frame + b"x",
                                                  encoding_id=1)])[0], "open", "chunks end at"
    yield "byte_group_on_u8", build([Tensor("z", "u8", [16], stored=table(16, 1, 1, [len(frame)]) + frame,
                                            encoding_id=1)])[0], "open", "is not allowed for dtype u8"
    yield "unknown_filter", build([Tensor("z", "u8", [16], stored=table(16, 9, 1, [len(frame)]) + frame,
                                          encoding_id=1)])[0], "open", "unknown chunk filter 9 at offset 68"
    # lanes chunks (section 6.3): the table is checked at open, the lanes when decoded.
    yield "lanes_on_u8", build([Tensor("z", "u8", [16], stored=table(16, 2, 1, [len(frame)]) + frame,
                                       encoding_id=1)])[0], "open", "lanes filter at offset 68 is not allowed for dtype u8"
    raw_lanes = le32(8) + le32(8) + bytes(range(16))
    yield "lanes_in_version_1_0", build([Tensor("z", "u16", [8], stored=table(16, 2, 1, [24]) + raw_lanes,
                                                encoding_id=1)], minor=0)[0], "open", \
        "chunk filter 2 at offset 68 is defined in version 1.1, but the file is version 1.0"
    lanes_table = lambda body: table(16, 2, 1, [len(body)]) + body
    yield "lane_too_long", build([Tensor("z", "u16", [8], stored=lanes_table(le32(9) + le32(7) + bytes(range(16))),
                                         encoding_id=1)])[0], "verify", "lane 0 of 9 bytes is longer than its 8 decoded bytes"
    yield "lanes_short", build([Tensor("z", "u16", [8], stored=lanes_table(raw_lanes[:-1]),
                                       encoding_id=1)])[0], "verify", "lane 1 of 8 bytes at chunk offset 16 runs past"
    yield "lanes_trailing", build([Tensor("z", "u16", [8], stored=lanes_table(raw_lanes + b"x"),
                                          encoding_id=1)])[0], "verify", "lanes end at chunk offset 24 of the chunk's 25"
    lane_frame = zstandard.ZstdCompressor(level=1).compress(bytes(7))
    yield "lane_frame_short", build([Tensor("z", "u16", [8], stored=lanes_table(
        le32(len(lane_frame)) + le32(8) + lane_frame + bytes(8)), encoding_id=1)])[0], "verify", "lane 0 of"
    yield "chunk_reserved_nonzero", build([Tensor("z", "u8", [16], encoding_id=1, stored=table(
        16, 0, 1, [len(frame)], reserved=b"\0\1\0") + frame)])[0], "open", \
        "reserved chunk header bytes at offset 69 are not zero"
    yield "shape_overflow_zero_last", build([Tensor("big", "u8", [2**40, 2**40, 0], b"")])[0], "open", \
        "tensor 'big': shape [1099511627776, 1099511627776, 0] has more than 2^64 elements"
    yield "shape_overflow_zero_first", build([Tensor("big", "u8", [0, 2**40, 2**40], b"")])[0], "open", \
        "tensor 'big': shape [0, 1099511627776, 1099511627776] has more than 2^64 elements"
    yield "packed_bits_overflow", build([Tensor("nibbles", "int4", [2**62], b"")])[0], "open", \
        "tensor 'nibbles': int4 shape [4611686018427387904] needs more than 2^64 bits"
    yield "header_length_too_small", build(two, preamble={"header_length": 40})[0], "open", \
        "header length 40 is less than the 48-byte minimum"
    trailing, _ = build([Tensor("bytes", "u8", [3]), Tensor("empty", "f32", [0])])
    th = header_offset_of(trailing)  # 128: the empty tensor's aligned offset, not align_up(67, 8) = 72
    moved = fix_preamble(patch(trailing[:72] + trailing[th:], 16, le64(72)))
    yield "header_before_trailing_empty", moved, "open", \
        "tensor 'empty': stored bytes at offset 128 of length 0 run past the header at offset 72"
    yield "metadata_bom", build(two, metadata=b'\xef\xbb\xbf{}')[0], "open", "metadata starts with a byte-order mark"
    yield "metadata_lone_surrogate", build(two, metadata=b'{"a": "\\ud800"}')[0], "open", \
        "metadata is not valid JSON"
    yield "metadata_number_overflow", build(two, metadata=b'{"a": 1e400}')[0], "open", "number overflow"
    yield "metadata_integer_range", build(two, metadata=b'{"a": 18446744073709551616}')[0], "open", \
        "metadata integer 18446744073709551616 at /a is outside -2^63..2^64-1"
    yield "metadata_duplicate_key", build(two, metadata=b'{"x": {"k": 1, "k": 2}}')[0], "open", \
        "metadata duplicate key 'k' in /x"
    # Only verify() can find these: the structure is sound.
    yield "bool_value_2", build([Tensor("flags", "bool", [4], bytes([1, 0, 2, 1]))])[0], "verify", \
        "tensor 'flags': bool value 2 at decoded byte 2 is neither 0 nor 1"
    yield "packed_padding_nonzero", build([Tensor("nibbles", "int4", [3], bytes([0x21, 0xF3]))])[0], "verify", \
        "tensor 'nibbles': unused high bits of the last byte (decoded byte 1) are not zero"
    sixteen = bytes(range(16))
    yield "zstd_skippable_frame", build([one_frame_tensor("z", le32(0x184D2A50) + le32(16) + sixteen)])[0], \
        "verify", "tensor 'z': chunk 0 at offset 88: not a Zstandard frame (no magic number"
    yield "zstd_legacy_frame", build([one_frame_tensor("z", zstd_frame(sixteen, magic=0xFD2FB527))])[0], \
        "verify", "not a Zstandard frame (no magic number"
    half = zstd_frame(bytes(8), single_segment=False, content_size=False)  # each valid alone
    yield "zstd_two_frames", build([one_frame_tensor("z", half + half)])[0], "verify", "hold more than one frame"
    yield "zstd_dictionary_id", build([one_frame_tensor("z", zstd_frame(sixteen, dictionary_id=7))])[0], \
        "verify", "frame needs dictionary 7"
    yield "zstd_window_too_large", build([one_frame_tensor("z", zstd_frame(sixteen, single_segment=False,
                                                                          window_exponent=18))])[0], \
        "verify", "frame window of 268435456 bytes exceeds the limit of 134217728"
    size_17 = patch(zstd_frame(sixteen), 5, bytes([17]))  # the 1-byte Frame_Content_Size after the descriptor
    yield "zstd_content_size_wrong", build([one_frame_tensor("z", size_17)])[0], "verify", "frame records a content size of 17 bytes, expected 16"
    bad_sum = zstd_frame(sixteen, checksum=True)
    yield "zstd_bad_checksum", build([one_frame_tensor("z", bad_sum[:-1] + bytes([bad_sum[-1] ^ 1]))])[0], \
        "verify", "tensor 'z': chunk 0 at offset 88: frame does not decompress"
    yield "tensor_checksum", patch(good, 66, b"\x7f"), "verify", "tensor 'first': checksum mismatch"
    yield "nonzero_padding", patch(good, 88, b"\x01"), "verify", \
        "padding after tensor 'first' has a nonzero byte at offset 88"
    yield "content_digest_mismatch", build(two, digest=bytes(32))[0], "verify", "content digest mismatch"
    garbage = b"not a zstd frame"
    yield "bad_zstd_frame", build([Tensor("z", "u8", [16], stored=table(16, 0, 1, [len(garbage)]) + garbage,
                                          encoding_id=1)])[0], "verify", "tensor 'z': chunk 0 at offset 88: not a Zstandard frame"
    short = zstandard.ZstdCompressor(level=3).compress(bytes(15))
    yield "chunk_decodes_short", build([Tensor("z", "u8", [16], stored=table(16, 0, 1, [len(short)]) + short,
                                               encoding_id=1)])[0], "verify", "chunk 0 at offset 88"


def write_invalid(folder):
    expected = {}
    for name, data, stage, fragment in invalid_vectors():
        (folder / f"{name}.owf").write_bytes(data)
        expected[f"{name}.owf"] = {"stage": stage, "fragment": fragment}
    (folder / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


def main():
    root = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    for sub, writer in (("valid", write_valid), ("invalid", write_invalid)):
        folder = root / sub
        folder.mkdir(exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        writer(folder)


if __name__ == "__main__":
    main()
