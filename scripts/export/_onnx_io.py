"""Shared helpers of the pagkit export scripts: export one torch module to ONNX the way pagkit reads it.

pagkit finds attention layers by the module paths the TorchScript exporter writes into node names
(`/mid_block/attentions.0/transformer_blocks.0/attn1/to_q/MatMul`), so the module being exported must be the
diffusers model itself, not a wrapper (a wrapper would prefix every name). The scripts therefore replace the
instance's `forward` with a flat-argument function and export the model object.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import Callable, Sequence

import onnx
import torch


def export_module(
    module: torch.nn.Module,
    forward: Callable[..., object],
    args: Sequence[torch.Tensor],
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: dict[str, dict[int, str]],
    out_dir: str,
    opset: int = 17,
) -> str:
    """Exports `module` with `forward` as its flat-argument forward into `out_dir/model.onnx`.

    Weights over 2 GB go to one external-data file, `model.onnx_data`, beside the graph (what Optimum writes and
    what pagkit's loader and @pagkit/hub expect).
    """
    os.makedirs(out_dir, exist_ok=True)
    original = module.forward
    module.forward = forward  # instance attribute: nn.Module.__call__ uses it, submodule scopes stay unprefixed
    tmp = tempfile.mkdtemp(prefix="pagkit-export-")
    try:
        raw = os.path.join(tmp, "model.onnx")
        with torch.no_grad():
            torch.onnx.export(
                module,
                tuple(args),
                raw,
                input_names=list(input_names),
                output_names=list(output_names),
                dynamic_axes=dynamic_axes,
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False,  # the TorchScript exporter: node names carry module paths
            )
        model = onnx.load(raw, load_external_data=True)
        target = os.path.join(out_dir, "model.onnx")
        for stale in (target, os.path.join(out_dir, "model.onnx_data")):
            if os.path.exists(stale):
                os.remove(stale)
        large = sum(t.ByteSize() for t in model.graph.initializer) > 1_800_000_000
        onnx.save_model(
            model,
            target,
            save_as_external_data=large,
            all_tensors_to_one_file=True,
            location="model.onnx_data",
            size_threshold=1024,
        )
        return target
    finally:
        module.forward = original
        shutil.rmtree(tmp, ignore_errors=True)
