#!/usr/bin/env python3
"""Export a PixArt-Sigma pipeline to an ONNX folder pagkit loads (Optimum has no PixArt-Sigma export).

The T5 text encoder is exported *with* its attention mask: PixArt-Sigma's T5 output depends on it, and the transformer
takes the same mask as `encoder_attention_mask`. Output layout (Optimum-like):

    OUT/model_index.json, scheduler/, tokenizer/          copied from the pipeline
    OUT/text_encoder/   inputs input_ids, attention_mask (int64 [batch, sequence]) -> last_hidden_state
    OUT/transformer/    inputs hidden_states [batch, 4, h, w], encoder_hidden_states, encoder_attention_mask (int64),
                        timestep (int64 [batch]) -> out_sample (learned sigma: 8 channels)
    OUT/vae_encoder/    sample -> latent_parameters (mean ‖ logvar);  OUT/vae_decoder/  latent_sample -> sample

Usage:

    python scripts/export/pixart_sigma.py --model PixArt-alpha/PixArt-Sigma-XL-2-1024-MS --out pixart-sigma-onnx/
    # TypeScript: DiffusionPipeline.fromPretrained("pixart-sigma-onnx")

The transformer's latent size is fixed at the model's `sample_size` (128 for the 1024 px model: 1024×1024 images;
aspect-ratio bins need a folder per size, `--height/--width` in latent pixels). T5-XXL has 4.7 B parameters:
exporting in float32 needs about 40 GB of RAM and writes `text_encoder/model.onnx_data` (19 GB).
Needs: python 3.10+, torch 2.4+, diffusers 0.30+, transformers, sentencepiece, onnx 1.16+. Not run in pagkit's CI.
"""
from __future__ import annotations

import argparse
import os
import shutil

import torch
from diffusers import AutoencoderKL, PixArtSigmaPipeline, PixArtTransformer2DModel
from transformers import T5EncoderModel, T5TokenizerFast

from _onnx_io import export_module


def export_text_encoder(encoder: T5EncoderModel, out_dir: str) -> None:
    ids = torch.ones(2, 300, dtype=torch.int64)
    mask = torch.ones(2, 300, dtype=torch.int64)
    mask[1, 10:] = 0
    original = encoder.forward

    def forward(input_ids, attention_mask):
        return original(input_ids=input_ids, attention_mask=attention_mask, return_dict=False)[0]

    export_module(encoder, forward, (ids, mask), ["input_ids", "attention_mask"], ["last_hidden_state"],
                  {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                   "last_hidden_state": {0: "batch", 1: "sequence"}}, out_dir)
    encoder.config.save_pretrained(out_dir)


def export_transformer(transformer: PixArtTransformer2DModel, out_dir: str, height: int, width: int) -> None:
    cfg = transformer.config
    hidden = torch.randn(2, cfg.in_channels, height, width)
    text = torch.randn(2, 300, cfg.caption_channels)
    mask = torch.ones(2, 300, dtype=torch.int64)
    timestep = torch.tensor([999, 999], dtype=torch.int64)
    original = transformer.forward

    def forward(hidden_states, encoder_hidden_states, encoder_attention_mask, timestep):
        return original(hidden_states, encoder_hidden_states=encoder_hidden_states, encoder_attention_mask=encoder_attention_mask,
                        timestep=timestep, added_cond_kwargs={"resolution": None, "aspect_ratio": None}, return_dict=False)[0]

    export_module(transformer, forward, (hidden, text, mask, timestep),
                  ["hidden_states", "encoder_hidden_states", "encoder_attention_mask", "timestep"], ["out_sample"],
                  {"hidden_states": {0: "batch"}, "encoder_hidden_states": {0: "batch", 1: "sequence"},
                   "encoder_attention_mask": {0: "batch", 1: "sequence"}, "timestep": {0: "batch"}, "out_sample": {0: "batch"}},
                  out_dir)
    transformer.save_config(out_dir)


def export_vae(vae: AutoencoderKL, out: str) -> None:
    latent_channels = vae.config.latent_channels
    enc, dec = vae.encode, vae.decode

    def encoder(sample):
        return enc(sample, return_dict=False)[0].parameters

    def decoder(latent_sample):
        return dec(latent_sample, return_dict=False)[0]

    export_module(vae, encoder, (torch.randn(1, 3, 256, 256),), ["sample"], ["latent_parameters"],
                  {"sample": {0: "batch", 2: "height", 3: "width"}, "latent_parameters": {0: "batch", 2: "h", 3: "w"}},
                  os.path.join(out, "vae_encoder"))
    export_module(vae, decoder, (torch.randn(1, latent_channels, 32, 32),), ["latent_sample"], ["sample"],
                  {"latent_sample": {0: "batch", 2: "h", 3: "w"}, "sample": {0: "batch", 2: "height", 3: "width"}},
                  os.path.join(out, "vae_decoder"))
    vae.save_config(os.path.join(out, "vae_encoder"))
    vae.save_config(os.path.join(out, "vae_decoder"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="PixArt-Sigma pipeline id or folder")
    parser.add_argument("--out", required=True)
    parser.add_argument("--revision", default=None)
    parser.add_argument("--height", type=int, default=None, help="latent height (default: the transformer's sample_size)")
    parser.add_argument("--width", type=int, default=None, help="latent width (default: the transformer's sample_size)")
    args = parser.parse_args()

    pipe = PixArtSigmaPipeline.from_pretrained(args.model, revision=args.revision, torch_dtype=torch.float32)
    os.makedirs(args.out, exist_ok=True)
    size = pipe.transformer.config.sample_size
    export_transformer(pipe.transformer.eval(), os.path.join(args.out, "transformer"), args.height or size, args.width or size)
    export_vae(pipe.vae.eval(), args.out)
    export_text_encoder(pipe.text_encoder.eval(), os.path.join(args.out, "text_encoder"))
    tokenizer: T5TokenizerFast = pipe.tokenizer
    tokenizer.save_pretrained(os.path.join(args.out, "tokenizer"))
    pipe.scheduler.save_config(os.path.join(args.out, "scheduler"))
    pipe.save_config(args.out)  # model_index.json, as diffusers writes it (pagkit reads the ONNX folders by name)
    print(f"PixArt-Sigma ONNX folder -> {args.out}")


if __name__ == "__main__":
    main()
