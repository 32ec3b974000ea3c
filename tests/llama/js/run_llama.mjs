// Runs llama.cpp (the prebuilt binary of npm @fugood/llama.node) on GGUF models for
// tests/llama: reads one JSON request on stdin and prints one JSON answer on stdout.
//   request: {"runs": [{"model": PATH, "prompt": TEXT, "n_predict": N, "n_probs": K,
//                       "cache_type": "f16"|"f32"}]}
//   answer (the last line of stdout; llama.cpp logs to stdout before it):
//            {"runs": [{"tokens": [ids of the prompt text, without special tokens],
//                       "evaluated": number of prompt ids the completion evaluated (with BOS),
//                       "metadata": {key: value} as llama.cpp reads it,
//                       "steps": [{"content": piece, "probs": [{"tok_str", "prob"}]}],
//                       "text": continuation}]}
// With "tokenize_only": true, each run is {"model", "texts": [TEXT, ...]}, loads only the vocabulary,
// and answers {"tokens": [[ids of each text, without special tokens], ...]}.
// Sampling is greedy (temperature 0, no penalties); end-of-generation tokens are ignored so that
// every run produces n_predict tokens.
import { loadModel } from "@fugood/llama.node";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));

async function tokenizeTexts(run) {
  const context = await loadModel({ model: run.model, vocab_only: true });
  const tokens = [];
  for (const text of run.texts) tokens.push(Array.from((await context.tokenize(text)).tokens));
  await context.release();
  return { tokens };
}

const runs = [];
for (const run of request.runs) {
  if (request.tokenize_only) {
    runs.push(await tokenizeTexts(run));
    continue;
  }
  const cacheType = run.cache_type ?? "f16";
  const context = await loadModel({
    model: run.model,
    n_ctx: 256,
    n_batch: 256,
    n_threads: 2,
    n_parallel: 1,
    n_gpu_layers: 0,
    use_mmap: true,
    cache_type_k: cacheType,
    cache_type_v: cacheType,
  });
  const { tokens } = await context.tokenize(run.prompt);
  const result = await context.completion({
    prompt: run.prompt,
    n_predict: run.n_predict,
    n_probs: run.n_probs ?? 2,
    temperature: 0,
    top_k: 1,
    penalty_repeat: 1,
    penalty_last_n: 0,
    ignore_eos: true,
    seed: 0,
  });
  const info = context.getModelInfo();
  runs.push({
    tokens: Array.from(tokens),
    evaluated: result.tokens_evaluated,
    metadata: info.metadata,
    steps: (result.completion_probabilities ?? []).map(({ content, probs }) => ({ content, probs })),
    text: result.text,
  });
  await context.release();
}
process.stdout.write(JSON.stringify({ runs }) + "\n");
