"""Reference outputs of diffusers' ClassifierFreeZeroStarGuidance math, computed by torch on CPU in float32.

Run with a Python that has torch (tested with Debian's python3-torch 1.13.1):
    /usr/bin/python3 packages/guidance-cfg-zero-star/test-data/make-torch-reference.py
Writes torch-reference.safetensors beside this file (`<case>.cond`, `<case>.uncond`, `<case>.pred`; options in
the header metadata). `cfg_zero_star_scale` and the guided branch of `forward` are transcribed from diffusers
src/diffusers/guiders/classifier_free_zero_star_guidance.py (commit 58eb52c, lines 112-119 and 156-164).
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


def cfg_zero_star_scale(cond, uncond, eps=1e-8):
    cond_dtype = cond.dtype
    cond = cond.float()
    uncond = uncond.float()
    dot_product = torch.sum(cond * uncond, dim=1, keepdim=True)
    squared_norm = torch.sum(uncond**2, dim=1, keepdim=True) + eps
    scale = dot_product / squared_norm
    return scale.to(dtype=cond_dtype)


def guided(pred_cond, pred_uncond, guidance_scale, use_original_formulation):
    pred_cond_flat = pred_cond.flatten(1)
    pred_uncond_flat = pred_uncond.flatten(1)
    alpha = cfg_zero_star_scale(pred_cond_flat, pred_uncond_flat)
    alpha = alpha.view(-1, *(1,) * (len(pred_cond.shape) - 1))
    pred_uncond = pred_uncond * alpha
    shift = pred_cond - pred_uncond
    pred = pred_cond if use_original_formulation else pred_uncond
    return pred + guidance_scale * shift


def pair(seed, shape):
    generator = torch.Generator().manual_seed(seed)
    cond = torch.randn(shape, generator=generator)
    uncond = 0.7 * cond + 0.4 * torch.randn(shape, generator=generator)
    return cond, uncond


cases = {
    "defaults": dict(guidance_scale=7.5, use_original_formulation=False, shape=[3, 4, 8, 6]),
    "original": dict(guidance_scale=6.5, use_original_formulation=True, shape=[2, 4, 8, 8]),
    "pixart_like": dict(guidance_scale=4.5, use_original_formulation=False, shape=[2, 8, 16, 16]),
}
tensors = {}
for seed, (name, c) in enumerate(cases.items()):
    cond, uncond = pair(seed, c["shape"])
    tensors[f"{name}.cond"], tensors[f"{name}.uncond"] = cond, uncond
    tensors[f"{name}.pred"] = guided(cond, uncond, c["guidance_scale"], c["use_original_formulation"])
save(os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch-reference.safetensors"), tensors, cases)
