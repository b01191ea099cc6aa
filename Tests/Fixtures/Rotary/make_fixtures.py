#!/usr/bin/env python3
"""Writes transformers_rope.json: rotary position embeddings as transformers computes them, for
the Swift tests of RotaryPositionEmbedding.

Run from this directory with torch and transformers installed (written with transformers 5.x):
    python3 make_fixtures.py
Half-split cases take the inverse frequencies and attention factor from transformers'
ROPE_INIT_FUNCTIONS (the code behind every `rope_type`) with a LlamaConfig, and form cos/sin as
LlamaRotaryEmbedding.forward does (float32 angles) and the rotation as apply_rotary_pos_emb
(rotate_half), on the first R features. Interleaved cases use GPT-J's create_sinusoidal_positions
and apply_rotary_pos_emb (rotate_every_two). Inputs are float32, as the models run.
"""
import json

import torch
import transformers
from transformers import LlamaConfig
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
from transformers.models.gptj import modeling_gptj
from transformers.models.llama.modeling_llama import rotate_half


def tensor(t):
    # Float32 values need at most 9 significant digits to round-trip.
    return {"shape": list(t.shape), "data": [float(format(x, ".9g")) for x in t.reshape(-1).tolist()]}


def half_split(name, *, d=64, heads=1, positions, theta=10000.0, rope=None, partial=1.0,
               max_positions=4096, sequence_length=None, seed=0):
    torch.manual_seed(seed)
    parameters = {"rope_type": "default", "rope_theta": theta, "partial_rotary_factor": partial}
    parameters.update(rope or {})
    config = LlamaConfig(hidden_size=heads * d, num_attention_heads=heads, head_dim=d,
                         max_position_embeddings=max_positions, rope_parameters=parameters)
    kind = parameters["rope_type"]
    if kind == "default":
        # LlamaRotaryEmbedding.compute_default_rope_parameters' formula, over the rotary
        # dimension (GPT-NeoX-style partial rotary uses the same formula with R).
        dim = int(d * partial)
        inv_freq = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))
        factor = 1.0
    else:
        inv_freq, factor = ROPE_INIT_FUNCTIONS[kind](config, None, seq_len=sequence_length)
    position_ids = torch.tensor(positions)[None, :]
    freqs = position_ids[..., None].float() * inv_freq.float()
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos() * factor, emb.sin() * factor
    x = torch.randn(1, heads, len(positions), d)
    r = emb.shape[-1]
    rotary, passing = x[..., :r], x[..., r:]
    rotated = rotary * cos[:, None] + rotate_half(rotary) * sin[:, None]
    out = torch.cat((rotated, passing), dim=-1)
    return {"name": name, "layout": "halfSplit", "headDimension": d, "rotaryDimension": r,
            "theta": theta, "scaling": rope, "maxPositions": max_positions,
            "sequenceLength": sequence_length, "positions": positions, "input": tensor(x),
            "output": tensor(out)}


def interleaved(name, *, d=64, rotary=None, heads=1, positions, seed=0):
    torch.manual_seed(seed)
    r = rotary or d
    table = modeling_gptj.create_sinusoidal_positions(max(positions) + 1, r)
    sincos = table[torch.tensor(positions)][None]
    sin, cos = torch.split(sincos, r // 2, dim=-1)
    x = torch.randn(1, len(positions), heads, d)  # GPT-J rotates [B, N, H, D]
    rotated = modeling_gptj.apply_rotary_pos_emb(x[..., :r], sin, cos)
    out = torch.cat((rotated, x[..., r:]), dim=-1)
    return {"name": name, "layout": "interleaved", "headDimension": d, "rotaryDimension": r,
            "theta": 10000.0, "scaling": None, "maxPositions": 0, "sequenceLength": None,
            "positions": positions, "input": tensor(x.transpose(1, 2)),
            "output": tensor(out.transpose(1, 2))}


cases = [
    half_split("default, positions 0…15", positions=list(range(16)), seed=1),
    half_split("default, decoding at 1000…1004", positions=list(range(1000, 1005)), seed=2),
    half_split("partial rotary 32 of 64, θ 500000", positions=list(range(12)), theta=500000.0,
               partial=0.5, seed=3),
    half_split("linear factor 4", positions=list(range(0, 400, 37)),
               rope={"rope_type": "linear", "factor": 4.0}, seed=4),
    half_split("dynamic factor 2 beyond 64 positions", positions=list(range(190, 200)),
               rope={"rope_type": "dynamic", "factor": 2.0}, max_positions=64,
               sequence_length=200, seed=5),
    half_split("llama3 factor 8", positions=list(range(8)) + list(range(9000, 9004)),
               theta=500000.0, max_positions=131072,
               rope={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                     "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}, seed=6),
    half_split("yarn factor 4", positions=list(range(0, 6000, 500)), max_positions=8192,
               rope={"rope_type": "yarn", "factor": 4.0,
                     "original_max_position_embeddings": 2048}, seed=7),
    half_split("yarn with mscale and beta", d=32, positions=list(range(0, 3000, 250)),
               max_positions=8192,
               rope={"rope_type": "yarn", "factor": 8.0, "original_max_position_embeddings": 1024,
                     "beta_fast": 16.0, "beta_slow": 2.0, "mscale": 0.707,
                     "mscale_all_dim": 0.707}, seed=8),
    interleaved("interleaved (GPT-J), positions 0…15", positions=list(range(16)), seed=9),
    interleaved("interleaved, rotary 32 of 64, at 300…305", rotary=32,
                positions=list(range(300, 306)), seed=10),
]

with open("transformers_rope.json", "w") as out:
    json.dump({"transformers": transformers.__version__, "torch": torch.__version__,
               "cases": cases}, out, separators=(",", ":"))
print(f"wrote {len(cases)} cases with transformers {transformers.__version__}")
