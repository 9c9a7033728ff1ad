// Tokenizes each line of standard input (a JSON string per line) with llama-tokenizer-js, an independent
// implementation of the Llama 1/2 SentencePiece tokenizer; prints the ids of each as one JSON array per line.
// usage: node llama-tokenize.mjs < texts.jsonl
import llamaTokenizer from "llama-tokenizer-js";
import { createInterface } from "node:readline";

for await (const line of createInterface({ input: process.stdin })) {
  if (line.length === 0) continue;
  const text = JSON.parse(line);
  process.stdout.write(JSON.stringify(llamaTokenizer.encode(text, true, true)) + "\n");
}
