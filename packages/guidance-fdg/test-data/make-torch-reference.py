"""Reference outputs of diffusers' FrequencyDecoupledGuidance, computed by torch on CPU in float32, with kornia's
Laplacian pyramid.

Run with a Python that has torch (tested with Debian's python3-torch 1.13.1; kornia is not needed):
    /usr/bin/python3 packages/guidance-fdg/test-data/make-torch-reference.py
Writes torch-reference.safetensors beside this file: per case `<case>.cond`, `<case>.uncond`, `<case>.pred` (diffusers'
output, which keeps kornia's padded size), `<case>.level<i>` (kornia's pyramid of cond); options in the header metadata.

Transcribed from diffusers src/diffusers/guiders/frequency_decoupled_guidance.py (commit 58eb52c: `project`
lines 42-60, `build_image_from_pyramid` 63-72, `forward` 241-288) and kornia (commit b4f5a78:
kornia/geometry/transform/pyramid.py `_get_pyramid_gaussian_kernel`, `pyrdown`, `pyrup`, `build_pyramid`,
`build_laplacian_pyramid`; kornia/filters/filter.py `filter2d`, `_compute_padding`), and diffusers
`rescale_noise_cfg` (guiders/guider_utils.py lines 374-396).
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F


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


def _get_pyramid_gaussian_kernel():
    return torch.tensor([[[1.0, 4.0, 6.0, 4.0, 1.0], [4.0, 16.0, 24.0, 16.0, 4.0], [6.0, 24.0, 36.0, 24.0, 6.0],
                          [4.0, 16.0, 24.0, 16.0, 4.0], [1.0, 4.0, 6.0, 4.0, 1.0]]]) / 256.0


def filter2d(input, kernel, border_type="reflect"):
    b, c, h, w = input.shape
    tmp_kernel = kernel[:, None, ...].to(device=input.device, dtype=input.dtype)
    tmp_kernel = tmp_kernel.expand(-1, c, -1, -1)
    height, width = tmp_kernel.shape[-2:]
    padding_shape = [(width - 1) // 2, (width - 1) - (width - 1) // 2, (height - 1) // 2, (height - 1) - (height - 1) // 2]
    input = F.pad(input, padding_shape, mode=border_type)
    tmp_kernel = tmp_kernel.reshape(-1, 1, height, width)
    input = input.view(-1, tmp_kernel.size(0), input.size(-2), input.size(-1))
    output = F.conv2d(input, tmp_kernel, groups=tmp_kernel.size(0), padding=0, stride=1)
    return output.view(b, c, h, w)


def pyrdown(input, border_type="reflect", align_corners=False, factor=2.0):
    kernel = _get_pyramid_gaussian_kernel()
    _, _, height, width = input.shape
    x_blur = filter2d(input, kernel, border_type)
    return F.interpolate(x_blur, size=(int(float(height) / factor), int(float(width) // factor)), mode="bilinear", align_corners=align_corners)


def pyrup(input, border_type="reflect", align_corners=False):
    kernel = _get_pyramid_gaussian_kernel()
    _, _, height, width = input.shape
    x_up = F.interpolate(input, size=(height * 2, width * 2), mode="bilinear", align_corners=align_corners)
    return filter2d(x_up, kernel, border_type)


def build_pyramid(input, max_level, border_type="reflect", align_corners=False):
    pyramid = [input]
    for _ in range(max_level - 1):
        pyramid.append(pyrdown(pyramid[-1], border_type, align_corners))
    return pyramid


def is_powerof_two(x):
    return bool(x) and (not (x & (x - 1)))


def find_next_powerof_two(x):
    return 1 << (x - 1).bit_length()


def build_laplacian_pyramid(input, max_level, border_type="reflect", align_corners=False):
    h = input.size()[2]
    w = input.size()[3]
    require_padding = not (is_powerof_two(w) or is_powerof_two(h))
    if require_padding:
        padding = (0, find_next_powerof_two(w) - w, 0, find_next_powerof_two(h) - h)
        input = F.pad(input, padding, "reflect")
    gaussian_pyramid = build_pyramid(input, max_level, border_type, align_corners)
    laplacian_pyramid = []
    for i in range(max_level - 1):
        img_expand = pyrup(gaussian_pyramid[i + 1], border_type, align_corners)
        laplacian_pyramid.append(gaussian_pyramid[i] - img_expand)
    laplacian_pyramid.append(gaussian_pyramid[-1])
    return laplacian_pyramid


def project(v0, v1, upcast_to_double=True):
    all_dims_but_first = list(range(1, len(v0.shape)))
    if upcast_to_double:
        dtype = v0.dtype
        v0, v1 = v0.double(), v1.double()
    v1 = torch.nn.functional.normalize(v1, dim=all_dims_but_first)
    v0_parallel = (v0 * v1).sum(dim=all_dims_but_first, keepdim=True) * v1
    v0_orthogonal = v0 - v0_parallel
    if upcast_to_double:
        v0_parallel = v0_parallel.to(dtype)
        v0_orthogonal = v0_orthogonal.to(dtype)
    return v0_parallel, v0_orthogonal


def build_image_from_pyramid(pyramid):
    img = pyramid[-1]
    for i in range(len(pyramid) - 2, -1, -1):
        img = pyrup(img) + pyramid[i]
    return img


def rescale_noise_cfg(noise_cfg, noise_pred_text, guidance_rescale=0.0):
    std_text = noise_pred_text.std(dim=list(range(1, noise_pred_text.ndim)), keepdim=True)
    std_cfg = noise_cfg.std(dim=list(range(1, noise_cfg.ndim)), keepdim=True)
    noise_pred_rescaled = noise_cfg * (std_text / std_cfg)
    return guidance_rescale * noise_pred_rescaled + (1 - guidance_rescale) * noise_cfg


def fdg_forward(pred_cond, pred_uncond, guidance_scales, parallel_weights, guidance_rescale, guidance_rescale_space,
                use_original_formulation, upcast_to_double, enabled_levels):
    levels = len(guidance_scales)
    pred_cond_pyramid = build_laplacian_pyramid(pred_cond, levels)
    pred_uncond_pyramid = build_laplacian_pyramid(pred_uncond, levels)
    pred_guided_pyramid = []
    parameters = zip(guidance_scales, parallel_weights, guidance_rescale)
    for level, (guidance_scale, parallel_weight, rescale) in enumerate(parameters):
        if enabled_levels[level]:
            pred_cond_freq = pred_cond_pyramid[level]
            pred_uncond_freq = pred_uncond_pyramid[level]
            shift = pred_cond_freq - pred_uncond_freq
            if not math.isclose(parallel_weight, 1.0):
                shift_parallel, shift_orthogonal = project(shift, pred_cond_freq, upcast_to_double)
                shift = parallel_weight * shift_parallel + shift_orthogonal
            pred = pred_cond_freq if use_original_formulation else pred_uncond_freq
            pred = pred + guidance_scale * shift
            if guidance_rescale_space == "freq" and rescale > 0.0:
                pred = rescale_noise_cfg(pred, pred_cond_freq, rescale)
            pred_guided_pyramid.append(pred)
        else:
            pred_guided_pyramid.append(pred_cond_pyramid[level])
    pred = build_image_from_pyramid(pred_guided_pyramid)
    if guidance_rescale_space == "data" and guidance_rescale[0] > 0.0:
        pred = rescale_noise_cfg(pred, pred_cond, guidance_rescale[0])
    return pred


def pair(seed, shape):
    generator = torch.Generator().manual_seed(seed)
    cond = torch.randn(shape, generator=generator)
    uncond = 0.8 * cond + 0.3 * torch.randn(shape, generator=generator)
    return cond, uncond


base = dict(guidance_scales=[10.0, 5.0], parallel_weights=[1.0, 1.0], guidance_rescale=[0.0, 0.0], guidance_rescale_space="data",
            use_original_formulation=False, upcast_to_double=True, enabled_levels=[True, True])
cases = {
    "defaults": dict(base, shape=[2, 4, 16, 16]),
    "parallel_weights": dict(base, shape=[2, 4, 16, 16], parallel_weights=[0.5, 0.0]),
    "no_upcast": dict(base, shape=[1, 4, 16, 16], parallel_weights=[0.0, 0.5], upcast_to_double=False),
    "three_levels_original": dict(base, shape=[1, 4, 32, 32], guidance_scales=[8.0, 4.0, 2.0], parallel_weights=[1.0, 0.3, 1.0],
                                  guidance_rescale=[0.0, 0.0, 0.0], enabled_levels=[True, True, True], use_original_formulation=True),
    "level_off": dict(base, shape=[1, 3, 16, 16], enabled_levels=[True, False]),
    "freq_rescale": dict(base, shape=[2, 2, 16, 16], guidance_rescale=[0.7, 0.3], guidance_rescale_space="freq"),
    "data_rescale": dict(base, shape=[2, 4, 16, 16], guidance_rescale=[0.7, 0.7]),
    "one_side_pow2": dict(base, shape=[1, 4, 16, 24]),
    "padded": dict(base, shape=[1, 4, 12, 20], parallel_weights=[0.5, 0.5]),
    "latent_4x3": dict(base, shape=[1, 4, 32, 24]),
}
tensors = {}
for seed, (name, c) in enumerate(cases.items()):
    cond, uncond = pair(seed, c["shape"])
    tensors[f"{name}.cond"], tensors[f"{name}.uncond"] = cond, uncond
    options = {k: v for k, v in c.items() if k != "shape"}
    tensors[f"{name}.pred"] = fdg_forward(cond, uncond, **options)
    for i, level in enumerate(build_laplacian_pyramid(cond, len(c["guidance_scales"]))):
        tensors[f"{name}.level{i}"] = level
save(os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch-reference.safetensors"), tensors, cases)
