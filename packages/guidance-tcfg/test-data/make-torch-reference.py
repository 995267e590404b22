"""Reference outputs of diffusers' TangentialClassifierFreeGuidance math, computed by torch on CPU in float32
(torch.linalg.svd, as diffusers calls it).

Run with a Python that has torch (tested with Debian's python3-torch 1.13.1):
    /usr/bin/python3 packages/guidance-tcfg/test-data/make-torch-reference.py
Writes torch-reference.safetensors beside this file (`<case>.cond`, `<case>.uncond`, `<case>.pred`, and
`<case>.pred_f64_svd` with the SVD done in float64 instead of diffusers' float32; options in the header metadata). `normalized_guidance` is transcribed from diffusers
src/diffusers/guiders/tangential_classifier_free_guidance.py (commit 58eb52c, lines 132-151).
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


def normalized_guidance(pred_cond, pred_uncond, guidance_scale, use_original_formulation=False, svd_dtype=torch.float32):
    cond_dtype = pred_cond.dtype
    preds = torch.stack([pred_cond, pred_uncond], dim=1).to(svd_dtype)  # diffusers: .float()
    preds = preds.flatten(2)
    U, S, Vh = torch.linalg.svd(preds, full_matrices=False)
    Vh_modified = Vh.clone()
    Vh_modified[:, 1] = 0
    uncond_flat = pred_uncond.reshape(pred_uncond.size(0), 1, -1).to(svd_dtype)  # diffusers: .float()
    x_Vh = torch.matmul(uncond_flat, Vh.transpose(-2, -1))
    x_Vh_V = torch.matmul(x_Vh, Vh_modified)
    pred_uncond = x_Vh_V.reshape(pred_uncond.shape).to(cond_dtype)
    pred = pred_cond if use_original_formulation else pred_uncond
    shift = pred_cond - pred_uncond
    pred = pred + guidance_scale * shift
    return pred


def pair(seed, shape):
    generator = torch.Generator().manual_seed(seed)
    cond = torch.randn(shape, generator=generator)
    uncond = 0.9 * cond + 0.3 * torch.randn(shape, generator=generator)
    return cond, uncond


cases = {
    "defaults": dict(guidance_scale=7.5, use_original_formulation=False, shape=[3, 4, 8, 8]),
    "original": dict(guidance_scale=3.0, use_original_formulation=True, shape=[2, 4, 8, 8]),
    "high_scale": dict(guidance_scale=12.0, use_original_formulation=False, shape=[2, 4, 16, 16]),
}
tensors = {}
for seed, (name, c) in enumerate(cases.items()):
    cond, uncond = pair(seed, c["shape"])
    tensors[f"{name}.cond"], tensors[f"{name}.uncond"] = cond, uncond
    tensors[f"{name}.pred"] = normalized_guidance(cond, uncond, c["guidance_scale"], c["use_original_formulation"])
    # the same with the SVD and projection in float64: shows how far torch's float32 SVD itself is off
    tensors[f"{name}.pred_f64_svd"] = normalized_guidance(cond, uncond, c["guidance_scale"], c["use_original_formulation"], torch.float64)
save(os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch-reference.safetensors"), tensors, cases)
