// Prints a GGUF file's metadata and tensor directory as JSON, read by @huggingface/gguf (an independent parser).
// usage: node gguf-dump.mjs FILE
import { gguf } from "@huggingface/gguf";

const { metadata, tensorInfos } = await gguf(process.argv[2], { allowLocalFile: true });
const plain = (v) => typeof v === "bigint" ? v.toString() : Array.isArray(v) ? v.map(plain) : v;
const out = { metadata: {}, tensors: [] };
for (const [key, value] of Object.entries(metadata)) {
  out.metadata[key] = plain(value);
}
for (const t of tensorInfos) {
  out.tensors.push({ name: t.name, shape: t.shape.map(plain), dtype: t.dtype, offset: plain(t.offset) });
}
process.stdout.write(JSON.stringify(out));
