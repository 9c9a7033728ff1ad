#!/usr/bin/python3
"""Independent reference for kvmesh block identity (ARCHITECTURE.md "Block identity"), using python3-xxhash.

  root = XXH3_64(utf8("kvmesh-v1\\0" + model + "\\0" + salt))
  h_i  = XXH3_64(le64(h_{i-1}) ++ le32(t_iB) ++ ... ++ le32(t_iB+B-1))

Usage (the same arguments as `kvmesh hash`, plus --generated N for long inputs):
  block_hash_reference.py --model M [--salt S] [--block-size B] T1,T2,...
  block_hash_reference.py --model M [--salt S] [--block-size B] --generated N
  block_hash_reference.py --batch      # JSON lines {"model","salt","blockSize","tokens"} on stdin
Prints one line per full block: the hash as 16 lowercase hex digits (batch mode: one line of them per case).
"""
import argparse
import json
import struct
import sys

import xxhash


def generated_tokens(count):
    """The token sequence the Java tests generate for long inputs: (i * 2654435761 + 12345) mod 2^32."""
    return [(i * 2654435761 + 12345) % (1 << 32) for i in range(count)]


def block_hashes(model, salt, block_size, tokens):
    parent = xxhash.xxh3_64_intdigest(("kvmesh-v1\0" + model + "\0" + salt).encode("utf-8"))
    hashes = []
    for start in range(0, len(tokens) - block_size + 1, block_size):
        block = tokens[start:start + block_size]
        parent = xxhash.xxh3_64_intdigest(struct.pack("<Q", parent) + struct.pack("<%dI" % block_size, *block))
        hashes.append("%016x" % parent)
    return hashes


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", action="store_true")
    parser.add_argument("--model")
    parser.add_argument("--salt", default="")
    parser.add_argument("--block-size", type=int, default=16)
    parser.add_argument("--generated", type=int)
    parser.add_argument("tokens", nargs="?", default="")
    args = parser.parse_args()
    if args.batch:
        for line in sys.stdin:
            case = json.loads(line)
            print(" ".join(block_hashes(case["model"], case["salt"], case["blockSize"], case["tokens"])))
        return
    tokens = generated_tokens(args.generated) if args.generated is not None else \
        [int(t) for t in args.tokens.split(",") if t.strip()]
    for h in block_hashes(args.model, args.salt, args.block_size, tokens):
        print(h)


if __name__ == "__main__":
    main()
