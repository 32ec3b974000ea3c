// Parses a GGUF file with @huggingface/gguf (its local-file API) and prints what that library sees
// as one JSON object on stdout, for tests/gguf/test_gguf_npm_interop.py to compare with owf:
//   {"version", "little_endian", "tensor_data_offset",
//    "kv": [{"key", "type", "element_type"?, "value"}],   // in file order; type ids as in GGUF
//    "tensors": [{"name", "dims", "type", "offset"}]}      // dims innermost first, as GGUF stores them
// 64-bit integers (bigint) are printed as decimal strings; non-finite floats as "nan", "inf", "-inf",
// negative zero as "-0".
import { gguf } from "@huggingface/gguf";

const HEADER_ENTRIES = new Set(["version", "tensor_count", "kv_count"]);

function jsonValue(value) {
  if (Array.isArray(value)) return value.map(jsonValue);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number" && !Number.isFinite(value)) {
    return Number.isNaN(value) ? "nan" : value > 0 ? "inf" : "-inf";
  }
  if (Object.is(value, -0)) return "-0";  // JSON.stringify would print 0
  return value;
}

const path = process.argv[2];
if (!path) {
  console.error("usage: node dump_gguf.mjs FILE.gguf");
  process.exit(2);
}
const parsed = await gguf(path, { allowLocalFile: true, typedMetadata: true });
const kv = [];
for (const [key, entry] of Object.entries(parsed.typedMetadata)) {
  if (HEADER_ENTRIES.has(key)) continue;
  const item = { key, type: entry.type, value: jsonValue(entry.value) };
  if (entry.subType !== undefined) item.element_type = entry.subType;
  kv.push(item);
}
const tensors = parsed.tensorInfos.map((info) => ({
  name: info.name,
  dims: info.shape.map((dim) => dim.toString()),
  type: info.dtype,
  offset: info.offset.toString(),
}));
process.stdout.write(
  JSON.stringify({
    version: parsed.typedMetadata.version.value,
    little_endian: parsed.littleEndian,
    tensor_data_offset: parsed.tensorDataOffset.toString(),
    kv,
    tensors,
  }) + "\n",
);
