"""Reference outputs of diffusers' AdaptiveProjectedGuidance math, computed by torch on CPU in float32.

Run with a Python that has torch (tested with Debian's python3-torch 1.13.1):
    /usr/bin/python3 packages/guidance-apg/test-data/make-torch-reference.py
Writes torch-reference.safetensors beside this file: inputs `<case>.cond`/`<case>.uncond` (per step for the
momentum case) and outputs `<case>.pred` (and `<case>.avg`), with the options of each case in the header metadata.

`normalized_guidance` and `MomentumBuffer` are transcribed from diffusers
src/diffusers/guiders/adaptive_projected_guidance.py (commit 58eb52c, lines 163-171 and 211-253); the "paper"
cases replace the last line by the APG paper's Algorithm 1 (arXiv 2410.02416): pred_cond + (g - 1) * update.
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


class MomentumBuffer:
    def __init__(self, momentum):
        self.momentum = momentum
        self.running_average = 0

    def update(self, update_value):
        new_average = self.momentum * self.running_average
        self.running_average = update_value + new_average


def normalized_guidance(pred_cond, pred_uncond, guidance_scale, momentum_buffer=None, eta=1.0, norm_threshold=0.0,
                        use_original_formulation=False, norm_dim=None, paper=False):
    diff = pred_cond - pred_uncond
    if norm_dim is None:
        dim = [-i for i in range(1, len(diff.shape))]
    elif isinstance(norm_dim, int):
        dim = [norm_dim]
    else:
        dim = list(norm_dim)
    if momentum_buffer is not None:
        momentum_buffer.update(diff)
        diff = momentum_buffer.running_average
    if norm_threshold > 0:
        ones = torch.ones_like(diff)
        diff_norm = diff.norm(p=2, dim=dim, keepdim=True)
        scale_factor = torch.minimum(ones, norm_threshold / diff_norm)
        diff = diff * scale_factor
    v0, v1 = diff.double(), pred_cond.double()
    v1 = torch.nn.functional.normalize(v1, dim=dim)
    v0_parallel = (v0 * v1).sum(dim=dim, keepdim=True) * v1
    v0_orthogonal = v0 - v0_parallel
    diff_parallel = v0_parallel.to(device=diff.device, dtype=diff.dtype)
    diff_orthogonal = v0_orthogonal.to(device=diff.device, dtype=diff.dtype)
    normalized_update = diff_orthogonal + eta * diff_parallel
    if paper and not use_original_formulation:
        return pred_cond + (guidance_scale - 1) * normalized_update
    pred = pred_cond if use_original_formulation else pred_uncond
    pred = pred + guidance_scale * normalized_update
    return pred


def pair(seed, shape):
    generator = torch.Generator().manual_seed(seed)
    cond = torch.randn(shape, generator=generator)
    uncond = 0.8 * cond + 0.3 * torch.randn(shape, generator=generator)
    return cond, uncond


shape = (3, 4, 6, 5)
cases = {
    "defaults": dict(guidance_scale=7.5, eta=1.0, norm_threshold=15.0),
    "eta0_threshold": dict(guidance_scale=7.5, eta=0.0, norm_threshold=2.5),
    "no_threshold": dict(guidance_scale=5.0, eta=0.3, norm_threshold=0.0),
    "original": dict(guidance_scale=7.5, eta=0.0, norm_threshold=4.0, use_original_formulation=True),
    "paper": dict(guidance_scale=7.5, eta=0.0, norm_threshold=4.0, paper=True),
    "norm_dim_1": dict(guidance_scale=7.5, eta=0.5, norm_threshold=1.0, norm_dim=1),
    "norm_dim_-2": dict(guidance_scale=7.5, eta=0.0, norm_threshold=1.5, norm_dim=[-2]),
}
tensors = {}
for seed, (name, options) in enumerate(cases.items()):
    cond, uncond = pair(seed, shape)
    tensors[f"{name}.cond"], tensors[f"{name}.uncond"] = cond, uncond
    tensors[f"{name}.pred"] = normalized_guidance(cond, uncond, **options)
momentum = dict(guidance_scale=7.5, eta=0.0, norm_threshold=3.0, momentum=-0.5, steps=4)
buffer = MomentumBuffer(-0.5)
for step in range(4):
    cond, uncond = pair(100 + step, shape)
    tensors[f"momentum.{step}.cond"], tensors[f"momentum.{step}.uncond"] = cond, uncond
    tensors[f"momentum.{step}.pred"] = normalized_guidance(cond, uncond, 7.5, buffer, eta=0.0, norm_threshold=3.0)
    tensors[f"momentum.{step}.avg"] = buffer.running_average
cases["momentum"] = momentum
save(os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch-reference.safetensors"), tensors, cases)
