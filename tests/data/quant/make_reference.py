#!/usr/bin/env python3
"""Writes reference.txt: raw blocks of each tensor type and their dequantized floats, computed by an
independent implementation (gguf-py's numpy gguf.quants). Dev tooling, not run by CI:

    python3 -m venv /tmp/qenv && /tmp/qenv/bin/pip install gguf numpy
    /tmp/qenv/bin/python tests/data/quant/make_reference.py > tests/data/quant/reference.txt

Blocks are random bytes (every bit pattern of the packed fields is exercised) with the f16/f32 scale
fields overwritten by finite values of realistic size. q8_K is not in gguf-py: its expected values
are float32(d) * qs computed here with numpy. Format, one record per type:
    type <name> <n_elements>
    bytes <hex of the row>
    floats <space-separated hex of the float32 bit patterns>
"""
import sys

import numpy as np
from gguf.quants import dequantize, quantize
from gguf import GGMLQuantizationType as T

rng = np.random.default_rng(20240611)


def half_bytes(values):
    return np.asarray(values, dtype=np.float16).view(np.uint8)


def random_scales(count, lo, hi):
    mag = np.exp(rng.uniform(np.log(lo), np.log(hi), count))
    return (mag * rng.choice([-1.0, 1.0], count)).astype(np.float16)


def quant_row(qtype, n_blocks, block_bytes, scale_fields):
    raw = rng.integers(0, 256, size=(n_blocks, block_bytes), dtype=np.uint8)
    for offset, positive in scale_fields:
        s = random_scales(n_blocks, 1e-4, 0.5)
        if positive:
            s = np.abs(s)
        raw[:, offset:offset + 2] = half_bytes(s).reshape(n_blocks, 2)
    return raw.reshape(-1)


def emit(name, n, row_bytes, floats):
    floats = np.asarray(floats, dtype=np.float32).reshape(-1)
    assert floats.size == n
    print(f"type {name} {n}")
    print("bytes " + row_bytes.tobytes().hex())
    print("floats " + " ".join(f"{v:08x}" for v in floats.view(np.uint32)))


def main():
    # f16 / bf16: finite random bit patterns, including subnormals and signed zeros.
    h = rng.integers(0, 65536, size=96, dtype=np.uint16)
    h = h[(h & 0x7C00) != 0x7C00][:64]
    emit("f16", h.size, h.view(np.uint8), dequantize(h.view(np.uint8), T.F16))
    b = rng.integers(0, 65536, size=96, dtype=np.uint16)
    b = b[(b & 0x7F80) != 0x7F80][:64]
    emit("bf16", b.size, b.view(np.uint8), dequantize(b.view(np.uint8), T.BF16))

    for name, qt, nb, bb, fields, qk in [
        ("q8_0", T.Q8_0, 6, 34, [(0, False)], 32),
        ("q4_0", T.Q4_0, 6, 18, [(0, False)], 32),
        ("q4_K", T.Q4_K, 3, 144, [(0, True), (2, True)], 256),
        ("q5_K", T.Q5_K, 3, 176, [(0, True), (2, True)], 256),
        ("q6_K", T.Q6_K, 3, 210, [(208, False)], 256),
    ]:
        row = quant_row(qt, nb, bb, fields)
        emit(name, nb * qk, row, dequantize(row, qt))

    # q8_K: float d, 256 int8, 16 int16 bsums (unused by dequantization).
    nb = 2
    raw = rng.integers(0, 256, size=(nb, 292), dtype=np.uint8)
    d = (rng.uniform(1e-3, 0.1, nb) * rng.choice([-1, 1], nb)).astype(np.float32)
    raw[:, 0:4] = d.view(np.uint8).reshape(nb, 4)
    qs = raw[:, 4:260].view(np.int8).astype(np.float32)
    emit("q8_K", nb * 256, raw.reshape(-1), (d[:, None] * qs).astype(np.float32))

    # Realistic blocks: gguf-py's own quantizer on gaussian data, for the types it can quantize.
    x = rng.normal(0, 1, 256).astype(np.float32)
    for name, qt in [("q8_0", T.Q8_0), ("q4_0", T.Q4_0)]:
        q = quantize(x, qt)
        emit(name, 256, q.reshape(-1).view(np.uint8), dequantize(q, qt))

    # The 32-element types with a minimum or a fifth bit, appended after the others so the records
    # above keep their random draws: random blocks (both f16 fields, d and m, may be negative),
    # then gguf-py's quantizer on gaussian data.
    for name, qt, bb, fields in [
        ("q4_1", T.Q4_1, 20, [(0, False), (2, False)]),
        ("q5_0", T.Q5_0, 22, [(0, False)]),
        ("q5_1", T.Q5_1, 24, [(0, False), (2, False)]),
    ]:
        row = quant_row(qt, 6, bb, fields)
        emit(name, 6 * 32, row, dequantize(row, qt))
    x = rng.normal(0, 1, 256).astype(np.float32)
    for name, qt in [("q4_1", T.Q4_1), ("q5_0", T.Q5_0), ("q5_1", T.Q5_1)]:
        q = quantize(x, qt)
        emit(name, 256, q.reshape(-1).view(np.uint8), dequantize(q, qt))


if __name__ == "__main__":
    main()
