"""Reference outputs of diffusers' MagnitudeAwareGuidance (MAMBO-G) math, computed by torch on CPU in float32.

Run with a Python that has torch (tested with Debian's python3-torch 1.13.1):
    /usr/bin/python3 packages/guidance-mambo/test-data/make-torch-reference.py
Writes torch-reference.safetensors beside this file (`<case>.cond`, `<case>.uncond`, `<case>.pred`; options in
the header metadata). `mambo_guidance` is transcribed from diffusers
src/diffusers/guiders/magnitude_aware_guidance.py (commit 58eb52c, lines 141-159)
(torch.norm spelled as linalg.vector_norm, see below).
"""
import json
import os
import struct

import torch


def save(path, tensors, cases):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": {torch.float32: "F32", torch.float64: "F64"}[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header["__metadata__"] = {"cases": json.dumps(cases), "torch": torch.__version__}
    raw = json.dumps(header).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def mambo_guidance(pred_cond, pred_uncond, guidance_scale, alpha=8.0, use_original_formulation=False):
    dim = list(range(1, len(pred_cond.shape)))
    diff = pred_cond - pred_uncond
    # diffusers: torch.norm(x, dim=dim, keepdim=True), which torch >= 2 evaluates as linalg.vector_norm(x, 2, dim);
    # torch 1.13's torch.norm refuses more than 2 dims here, so call vector_norm directly.
    ratio = torch.linalg.vector_norm(diff, dim=dim, keepdim=True) / torch.linalg.vector_norm(pred_uncond, dim=dim, keepdim=True)
    guidance_scale_final = (
        guidance_scale * torch.exp(-alpha * ratio)
        if use_original_formulation
        else 1.0 + (guidance_scale - 1.0) * torch.exp(-alpha * ratio)
    )
    pred = pred_cond if use_original_formulation else pred_uncond
    pred = pred + guidance_scale_final * diff
    return pred


def pair(seed, shape):
    generator = torch.Generator().manual_seed(seed)
    cond = torch.randn(shape, generator=generator)
    uncond = 0.9 * cond + 0.2 * torch.randn(shape, generator=generator)
    return cond, uncond


cases = {
    "defaults": dict(guidance_scale=10.0, alpha=8.0, use_original_formulation=False, shape=[3, 4, 8, 8]),
    "original": dict(guidance_scale=6.0, alpha=2.0, use_original_formulation=True, shape=[2, 4, 8, 8]),
    "small_alpha": dict(guidance_scale=15.0, alpha=0.5, use_original_formulation=False, shape=[2, 8, 16, 16]),
}
tensors = {}
for seed, (name, c) in enumerate(cases.items()):
    cond, uncond = pair(seed, c["shape"])
    tensors[f"{name}.cond"], tensors[f"{name}.uncond"] = cond, uncond
    tensors[f"{name}.pred"] = mambo_guidance(cond, uncond, c["guidance_scale"], c["alpha"], c["use_original_formulation"])
save(os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch-reference.safetensors"), tensors, cases)
