#!/usr/bin/python3
"""Independent reference forward pass for Llama-architecture GGUF files (F32/F16/Q8_0 tensors), with numpy.

Written from the GGUF spec and the Llama architecture (RMSNorm, llama.cpp's adjacent-pair RoPE, grouped-query
attention, SwiGLU), sharing no code with the Java engine. Dense attention over the whole sequence, float64 math.

usage: llama_reference.py MODEL.gguf --tokens 1,2,3 [--generate N]
prints JSON: {"logits": [last position's logits], "generated": [greedy ids]}
"""
import argparse
import json
import struct
import sys

import numpy as np

TYPE_SIZES = {0: (1, 4), 1: (1, 2), 8: (32, 34), 2: (32, 18), 30: (1, 2)}


def read_gguf(path):
    data = open(path, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return values[0] if len(values) == 1 else values

    def string():
        nonlocal pos
        n = take("Q")
        s = data[pos:pos + n].decode("utf-8")
        pos += n
        return s

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et = take("I")
            n = take("Q")
            return [value(et) for _ in range(n)]
        return take(scalar[t])

    assert data[:4] == b"GGUF"
    pos = 4
    take("I")
    n_tensors = take("Q")
    n_kv = take("Q")
    meta = {}
    for _ in range(n_kv):
        key = string()
        meta[key] = value(take("I"))
    infos = []
    for _ in range(n_tensors):
        name = string()
        nd = take("I")
        dims = [take("Q") for _ in range(nd)]
        t = take("I")
        off = take("Q")
        infos.append((name, dims, t, off))
    align = meta.get("general.alignment", 32)
    start = (pos + align - 1) // align * align
    tensors = {}
    for name, dims, t, off in infos:
        count = int(np.prod(dims))
        block, size = TYPE_SIZES[t]
        raw = data[start + off:start + off + count // block * size]
        if t == 0:
            arr = np.frombuffer(raw, dtype="<f4").astype(np.float64)
        elif t == 1:
            arr = np.frombuffer(raw, dtype="<f2").astype(np.float64)
        elif t == 30:
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32).astype(np.float64)
        elif t == 8:
            blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 34)
            scales = blocks[:, :2].copy().view("<f2").astype(np.float64)
            qs = blocks[:, 2:].copy().view(np.int8).astype(np.float64)
            arr = (qs * scales).reshape(-1)
        elif t == 2:
            blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 18)
            scales = blocks[:, :2].copy().view("<f2").astype(np.float64)
            packed = blocks[:, 2:]
            low = (packed & 0x0F).astype(np.float64) - 8
            high = (packed >> 4).astype(np.float64) - 8
            arr = (np.concatenate([low, high], axis=1) * scales).reshape(-1)
        # ggml dims are innermost first: a matrix of dims [cols, rows] is rows x cols.
        tensors[name] = arr.reshape(list(reversed(dims))) if len(dims) > 1 else arr
    return meta, tensors


def forward_all(meta, w, tokens):
    dim = meta["llama.embedding_length"]
    layers = meta["llama.block_count"]
    heads = meta["llama.attention.head_count"]
    kv_heads = meta.get("llama.attention.head_count_kv", heads)
    head_dim = dim // heads
    rope_dims = meta.get("llama.rope.dimension_count", head_dim)
    eps = meta.get("llama.attention.layer_norm_rms_epsilon", 1e-5)
    theta = meta.get("llama.rope.freq_base", 10000.0)
    n = len(tokens)
    x = w["token_embd.weight"][tokens]  # n x dim

    def rms(v, g):
        return v / np.sqrt(np.mean(v * v, axis=-1, keepdims=True) + eps) * g

    freqs = theta ** (-2.0 * np.arange(rope_dims // 2) / rope_dims)
    if "rope_freqs.weight" in w:
        freqs = freqs / w["rope_freqs.weight"]
    # llama.cpp: linear scaling multiplies positions by freq_scale = 1 / factor
    if meta.get("llama.rope.scaling.type", "none") == "linear":
        freqs = freqs / meta["llama.rope.scaling.factor"]
    angles = np.arange(n)[:, None] * freqs[None, :]
    cos, sin = np.cos(angles), np.sin(angles)

    def rope(m, nh):
        m = m.reshape(n, nh, head_dim).copy()
        a = m[:, :, 0:rope_dims:2].copy()
        b = m[:, :, 1:rope_dims:2].copy()
        m[:, :, 0:rope_dims:2] = a * cos[:, None, :] - b * sin[:, None, :]
        m[:, :, 1:rope_dims:2] = a * sin[:, None, :] + b * cos[:, None, :]
        return m

    mask = np.triu(np.full((n, n), -np.inf), 1)
    for l in range(layers):
        p = "blk.%d." % l
        h = rms(x, w[p + "attn_norm.weight"])
        q = rope(h @ w[p + "attn_q.weight"].T, heads)
        k = rope(h @ w[p + "attn_k.weight"].T, kv_heads)
        v = (h @ w[p + "attn_v.weight"].T).reshape(n, kv_heads, head_dim)
        out = np.zeros((n, heads, head_dim))
        for hh in range(heads):
            g = hh // (heads // kv_heads)
            s = q[:, hh, :] @ k[:, g, :].T / np.sqrt(head_dim) + mask
            s = np.exp(s - s.max(axis=1, keepdims=True))
            s = s / s.sum(axis=1, keepdims=True)
            out[:, hh, :] = s @ v[:, g, :]
        x = x + out.reshape(n, dim) @ w[p + "attn_output.weight"].T
        h = rms(x, w[p + "ffn_norm.weight"])
        gate = h @ w[p + "ffn_gate.weight"].T
        up = h @ w[p + "ffn_up.weight"].T
        x = x + (gate / (1 + np.exp(-gate)) * up) @ w[p + "ffn_down.weight"].T
    out_w = w["output.weight"] if "output.weight" in w else w["token_embd.weight"]
    return rms(x, w["output_norm.weight"]) @ out_w.T


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--generate", type=int, default=0)
    args = parser.parse_args()
    meta, w = read_gguf(args.model)
    tokens = [int(t) for t in args.tokens.split(",")]
    logits = forward_all(meta, w, tokens)[-1]
    generated = []
    seq = list(tokens)
    last = logits
    for _ in range(args.generate):
        nxt = int(np.argmax(last))
        generated.append(nxt)
        seq.append(nxt)
        last = forward_all(meta, w, seq)[-1]
    json.dump({"logits": [float(v) for v in logits], "generated": generated}, sys.stdout)


if __name__ == "__main__":
    main()
