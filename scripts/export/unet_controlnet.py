#!/usr/bin/env python3
"""Export what Optimum does not: an SDXL UNet that takes ControlNet residuals, and an SDXL ControlNet, for pagkit.

`optimum-cli export onnx` exports the SDXL pipeline, but its UNet has no residual inputs, so a ControlNet cannot feed
it. This script writes two pagkit component folders next to an Optimum export:

    OUT/unet/        model.onnx (+ model.onnx_data), config.json
                     inputs  sample, timestep (int64[steps]), encoder_hidden_states, text_embeds, time_ids,
                             down_block_additional_residual_0..N-1, mid_block_additional_residual
                     output  out_sample
    OUT/controlnet/  model.onnx (+ model.onnx_data), config.json
                     inputs  sample, timestep (float32[steps]), encoder_hidden_states, controlnet_cond,
                             conditioning_scale (scalar), text_embeds, time_ids
                     outputs down_block_res_sample_0..N-1, mid_block_res_sample

Use them with the rest of the Optimum export:

    optimum-cli export onnx --model stabilityai/stable-diffusion-xl-base-1.0 sdxl-onnx/
    python scripts/export/unet_controlnet.py --model stabilityai/stable-diffusion-xl-base-1.0 \\
        --controlnet diffusers/controlnet-canny-sdxl-1.0 --out sdxl-controlnet-onnx/
    # TypeScript: fromPretrained("sdxl-onnx", { controlnet: "sdxl-controlnet-onnx/controlnet", unet: "sdxl-controlnet-onnx/unet" })

Needs: python 3.10+, torch 2.4+, diffusers 0.30+, onnx 1.16+ (`pip install torch diffusers transformers onnx`).
Exports in float32 on the CPU; the SDXL UNet needs about 16 GB of RAM. Not run in pagkit's CI (the tiny fixtures in
packages/tiny-models were made the same way).
"""
from __future__ import annotations

import argparse
import os

import torch
from diffusers import ControlNetModel, UNet2DConditionModel

from _onnx_io import export_module


def dummy_inputs(config, batch: int = 2, height: int = 64, width: int = 64):
    """Inputs shaped like an SDXL call: latents [B, 4, h, w], text [B, 77, cross_attention_dim], pooled, time ids."""
    sample = torch.randn(batch, config.in_channels, height, width)
    hidden = torch.randn(batch, 77, config.cross_attention_dim)
    pooled_dim = config.projection_class_embeddings_input_dim - 6 * config.addition_time_embed_dim
    text_embeds = torch.randn(batch, pooled_dim)
    time_ids = torch.tensor([[height * 8, width * 8, 0, 0, height * 8, width * 8]] * batch, dtype=torch.float32)
    return sample, hidden, text_embeds, time_ids


def export_controlnet(controlnet: ControlNetModel, out_dir: str) -> int:
    sample, hidden, text_embeds, time_ids = dummy_inputs(controlnet.config)
    cond = torch.randn(sample.shape[0], 3, sample.shape[2] * 8, sample.shape[3] * 8)
    timestep = torch.tensor([999.0])
    scale = torch.tensor(1.0)
    with torch.no_grad():
        down, _ = controlnet(sample, timestep, hidden, cond, conditioning_scale=1.0,
                             added_cond_kwargs={"text_embeds": text_embeds, "time_ids": time_ids}, return_dict=False)
    n_down = len(down)

    original = controlnet.forward

    def forward(sample, timestep, encoder_hidden_states, controlnet_cond, conditioning_scale, text_embeds, time_ids):
        down_res, mid_res = original(
            sample, timestep, encoder_hidden_states, controlnet_cond, conditioning_scale=1.0,
            added_cond_kwargs={"text_embeds": text_embeds, "time_ids": time_ids}, return_dict=False,
        )
        # scale as a graph input (diffusers multiplies every residual by it)
        return (*[r * conditioning_scale for r in down_res], mid_res * conditioning_scale)

    names = [f"down_block_res_sample_{i}" for i in range(n_down)] + ["mid_block_res_sample"]
    axes = {
        "sample": {0: "batch", 2: "height", 3: "width"},
        "timestep": {0: "steps"},
        "encoder_hidden_states": {0: "batch", 1: "sequence"},
        "controlnet_cond": {0: "batch", 2: "ch", 3: "cw"},
        "text_embeds": {0: "batch"},
        "time_ids": {0: "batch"},
        **{n: {0: "batch", 2: f"{n}_h", 3: f"{n}_w"} for n in names},
    }
    export_module(controlnet, forward, (sample, timestep, hidden, cond, scale, text_embeds, time_ids),
                  ["sample", "timestep", "encoder_hidden_states", "controlnet_cond", "conditioning_scale", "text_embeds", "time_ids"],
                  names, axes, out_dir)
    controlnet.save_config(out_dir)
    return n_down


def export_unet(unet: UNet2DConditionModel, controlnet: ControlNetModel, out_dir: str) -> None:
    sample, hidden, text_embeds, time_ids = dummy_inputs(unet.config)
    cond = torch.randn(sample.shape[0], 3, sample.shape[2] * 8, sample.shape[3] * 8)
    with torch.no_grad():
        down, mid = controlnet(sample, torch.tensor([999.0]), hidden, cond,
                               added_cond_kwargs={"text_embeds": text_embeds, "time_ids": time_ids}, return_dict=False)
    n_down = len(down)
    original = unet.forward

    def forward(sample, timestep, encoder_hidden_states, text_embeds, time_ids, *residuals):
        return original(
            sample, timestep, encoder_hidden_states,
            added_cond_kwargs={"text_embeds": text_embeds, "time_ids": time_ids},
            down_block_additional_residuals=list(residuals[:n_down]),
            mid_block_additional_residual=residuals[n_down],
            return_dict=False,
        )[0]

    res_names = [f"down_block_additional_residual_{i}" for i in range(n_down)] + ["mid_block_additional_residual"]
    axes = {
        "sample": {0: "batch", 2: "height", 3: "width"},
        "timestep": {0: "steps"},
        "encoder_hidden_states": {0: "batch", 1: "sequence"},
        "text_embeds": {0: "batch"},
        "time_ids": {0: "batch"},
        "out_sample": {0: "batch", 2: "height", 3: "width"},
        **{n: {0: "batch", 2: f"{n}_h", 3: f"{n}_w"} for n in res_names},
    }
    export_module(unet, forward, (sample, torch.tensor([999], dtype=torch.int64), hidden, text_embeds, time_ids, *down, mid),
                  ["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids", *res_names],
                  ["out_sample"], axes, out_dir)
    unet.save_config(out_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="SDXL pipeline id or folder (its unet/ is exported)")
    parser.add_argument("--controlnet", required=True, help="SDXL ControlNet id or folder")
    parser.add_argument("--out", required=True, help="output folder (gets unet/ and controlnet/)")
    parser.add_argument("--revision", default=None)
    args = parser.parse_args()

    unet = UNet2DConditionModel.from_pretrained(args.model, subfolder="unet", revision=args.revision, torch_dtype=torch.float32).eval()
    controlnet = ControlNetModel.from_pretrained(args.controlnet, torch_dtype=torch.float32).eval()
    n = export_controlnet(controlnet, os.path.join(args.out, "controlnet"))
    print(f"controlnet: {n} down residuals -> {os.path.join(args.out, 'controlnet')}")
    export_unet(unet, controlnet, os.path.join(args.out, "unet"))
    print(f"unet with residual inputs -> {os.path.join(args.out, 'unet')}")


if __name__ == "__main__":
    main()
