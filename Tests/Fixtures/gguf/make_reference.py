#!/usr/bin/env python3
"""Reference values for fx's GGUF reader (Tests/FXCoreTests/ModelFormats/GGUFTests.swift), computed with gguf-py.

Run from the repository root, with the bench virtual environment (numpy + gguf):

    bench/.venv/bin/python Tests/Fixtures/gguf/make_reference.py            # writes the three files below
    bench/.venv/bin/python Tests/Fixtures/gguf/make_reference.py --check    # recomputes, compares, writes nothing

It writes, next to itself:

- blocks.json: for each tensor type fx dequantizes, deterministic pseudo-random block bytes (the generator is
  below, and GGUFTests.swift implements it identically) dequantized by gguf-py's `gguf.quants.dequantize`; each
  value as the 8 hex digits of its float32 bit pattern.
- pywriter.gguf + pywriter.json: a small file written by gguf-py's own GGUFWriter (metadata of every value type,
  arrays, nested arrays; F32, F16, BF16, Q8_0 tensors) and what gguf-py reads back from it.
- smollm2.json: for every tensor of models/SmolLM2-135M-Instruct.Q4_1.gguf (`make models`), its type, shape
  and the hash below of gguf-py's dequantized float32 values.

The byte generator, SplitMix64 (Steele, Lea and Flood 2014; the form in Java's SplittableRandom):

    state += 0x9E3779B97F4A7C15
    z = state; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB; z ^= z >> 31

all mod 2**64, starting from state = seed. A tensor's bytes are the outputs' 8 little-endian bytes each, in order,
cut to the tensor's size; seed = 1000 + the ggml type number. Then float16 fields are made finite and tame:
each block's scale fields (d, m, dmin: offsets SCALE_FIELDS below) become `(h & 0x8000) | (0x1C00 + (h & 0x1FFF))`
(same sign, magnitude in [2**-8, 1)), and every value of an F16 tensor whose exponent is all ones (inf/NaN)
has bit 14 cleared (`h ^ 0x4000`). F32 and BF16 bits stay as drawn (NaNs included: both copy bits).

The tensor hash ("mix64 sum"), chosen because numpy computes it in vectorized form (FNV-1a is byte-serial):
for float32 values v[0..<n] (memory order, ne0 fastest), with bits(v) the uint32 bit pattern,

    hash = sum over i of bits(v[i]) * (splitmix64(seed 0, output i + 1) | 1)   mod 2**64

where splitmix64(seed 0, output k) is the k-th output of the generator above started at state 0, i.e. the mix of
k * 0x9E3779B97F4A7C15. A changed bit changes the hash (every multiplier is odd).
"""

import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
MODEL = os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15

# The tensor types fx dequantizes, the shape each test tensor has (ne0 first), and its float16 scale offsets.
CASES = [
    (T.F32, [32, 3]), (T.F16, [32, 3]), (T.BF16, [32, 3]),
    (T.Q4_0, [64, 2]), (T.Q4_1, [64, 2]), (T.Q5_0, [64, 2]), (T.Q5_1, [64, 2]), (T.Q8_0, [64, 2]),
    (T.Q2_K, [256, 2]), (T.Q3_K, [256, 2]), (T.Q4_K, [256, 2]), (T.Q5_K, [256, 2]), (T.Q6_K, [256, 2]),
]
SCALE_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}


def splitmix64_bytes(seed, n):
    state, out = seed, bytearray()
    while len(out) < n:
        state = (state + GOLDEN) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        z ^= z >> 31
        out += z.to_bytes(8, "little")
    return out[:n]


def block_bytes(qtype, shape):
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    count = int(np.prod(shape))
    data = splitmix64_bytes(1000 + int(qtype), count // block_size * type_size)
    for block in range(count // block_size):
        for field in SCALE_FIELDS.get(qtype, []):
            at = block * type_size + field
            h = data[at] | data[at + 1] << 8
            h = (h & 0x8000) | (0x1C00 + (h & 0x1FFF))
            data[at], data[at + 1] = h & 0xFF, h >> 8
    if qtype == T.F16:
        for at in range(0, len(data), 2):
            h = data[at] | data[at + 1] << 8
            if h & 0x7C00 == 0x7C00:
                h ^= 0x4000
            data[at], data[at + 1] = h & 0xFF, h >> 8
    return bytes(data)


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def splitmix64_outputs(k):
    """The k-th outputs (k a uint64 array, k >= 1) of SplitMix64 started at state 0."""
    with np.errstate(over="ignore"):
        z = k * np.uint64(GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def mix64_sum(values):
    bits = np.ascontiguousarray(values, dtype=np.float32).reshape(-1).view(np.uint32)
    total, chunk = np.uint64(0), 1 << 22
    with np.errstate(over="ignore"):
        for start in range(0, bits.size, chunk):
            part = bits[start:start + chunk].astype(np.uint64)
            k = splitmix64_outputs(np.arange(start + 1, start + 1 + part.size, dtype=np.uint64)) | np.uint64(1)
            total = total + np.sum(part * k, dtype=np.uint64)
    return int(total)


def hexbits(values):
    return "".join(f"{b:08x}" for b in np.ascontiguousarray(values, dtype=np.float32).reshape(-1).view(np.uint32).tolist())


def dequantize_bytes(data, qtype, shape):
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    rows = int(np.prod(shape[1:]))
    raw = np.frombuffer(data, dtype=np.uint8).reshape(rows, shape[0] // block_size * type_size)
    return dequantize(raw, qtype).astype(np.float32, copy=False)


def blocks_reference():
    cases = []
    for qtype, shape in CASES:
        data = block_bytes(qtype, shape)
        values = dequantize_bytes(data, qtype, shape)
        assert values.size == int(np.prod(shape)), qtype.name
        cases.append({"type": qtype.name, "type_id": int(qtype), "seed": 1000 + int(qtype), "shape": shape,
                      "bytes_fnv1a64": f"{fnv1a64(data):016x}", "bits": hexbits(values)})
    return {"about": "gguf-py dequantize of the bytes make_reference.py documents (gguf " + gguf_version() + ")",
            "cases": cases}


def gguf_version():
    try:
        from importlib.metadata import version
        return version("gguf")
    except Exception:
        return "?"


def write_pywriter(path):
    w = gguf.GGUFWriter(path, arch="llama")
    w.add_uint8("t.uint8", 200)
    w.add_int8("t.int8", -100)
    w.add_uint16("t.uint16", 60000)
    w.add_int16("t.int16", -30000)
    w.add_uint32("t.uint32", 4_000_000_000)
    w.add_int32("t.int32", -2_000_000_000)
    w.add_float32("t.float32", 0.1)
    w.add_uint64("t.uint64", 18_000_000_000_000_000_000)
    w.add_int64("t.int64", -9_000_000_000_000_000_000)
    w.add_float64("t.float64", 0.1)
    w.add_bool("t.true", True)
    w.add_bool("t.false", False)
    w.add_string("t.string", "héllo, wörld ✓ 🙂")
    w.add_string("t.empty", "")
    w.add_array("t.strings", ["a", "", "Ġthe", "<|im_end|>"])
    w.add_array("t.ints", [1, -2, 3])
    w.add_array("t.floats", [0.5, -1.25, 3.0])
    w.add_array("t.bools", [True, False, True])
    w.add_array("t.nested", [[1, 2], [3]])
    rng = np.random.default_rng(7)
    w.add_tensor("f32", rng.standard_normal((3, 32)).astype(np.float32))  # numpy shape: ne1, ne0
    w.add_tensor("f16", rng.standard_normal((2, 16)).astype(np.float16))
    bf16 = gguf.quants.quantize(rng.standard_normal((2, 8)).astype(np.float32), T.BF16)
    w.add_tensor("bf16", bf16, raw_dtype=T.BF16)
    q8 = gguf.quants.quantize(rng.standard_normal((2, 64)).astype(np.float32), T.Q8_0)
    w.add_tensor("q8_0", q8, raw_dtype=T.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def describe(field):
    """A reader field as JSON: {"type": value type name (of the elements for an array), "value": ...}."""
    t = field.types[0]
    value = field.contents()
    if isinstance(value, float):
        value = {"f64bits": f"{np.float64(value).view(np.uint64):016x}"}
    elif isinstance(value, list):
        value = [{"f64bits": f"{np.float64(x).view(np.uint64):016x}"} if isinstance(x, float) else x for x in value]
    return {"type": field.types[-1].name if t == gguf.GGUFValueType.ARRAY else t.name, "value": value}


def pywriter_reference(path):
    r = gguf.GGUFReader(path)
    metadata = {k: describe(f) for k, f in r.fields.items() if not k.startswith("GGUF.")}
    tensors = []
    for t in r.tensors:
        shape = [int(n) for n in t.shape]
        values = dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
        tensors.append({"name": t.name, "type": t.tensor_type.name, "shape": shape, "bits": hexbits(values)})
    return {"about": "what gguf-py " + gguf_version() + " reads back from pywriter.gguf, which its GGUFWriter wrote",
            "metadata": metadata, "tensors": tensors}


def model_reference():
    r = gguf.GGUFReader(MODEL)
    out = []
    for t in r.tensors:
        shape = [int(n) for n in t.shape]
        values = dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
        assert values.size == int(np.prod(shape)), t.name
        out.append({"name": t.name, "type": t.tensor_type.name, "shape": shape, "hash": f"{mix64_sum(values):016x}"})
    return {"about": "gguf-py " + gguf_version() + " dequantize of every tensor of SmolLM2-135M-Instruct.Q4_1.gguf, "
                     "hashed as make_reference.py documents", "tensors": out}


def main():
    check = "--check" in sys.argv[1:]
    outputs = {"blocks.json": blocks_reference()}
    py = os.path.join(HERE, "pywriter.gguf")
    if not check:
        write_pywriter(py)
    outputs["pywriter.json"] = pywriter_reference(py)
    if os.path.exists(MODEL):
        outputs["smollm2.json"] = model_reference()
    else:
        print(f"{MODEL} is missing (make models): smollm2.json not made", file=sys.stderr)
    failed = False
    for name, value in outputs.items():
        text = json.dumps(value, indent=1, ensure_ascii=False) + "\n"
        path = os.path.join(HERE, name)
        if check:
            same = os.path.exists(path) and open(path, encoding="utf-8").read() == text
            print(f"{name}: {'same' if same else 'DIFFERENT'}")
            failed |= not same
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"wrote {path}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
