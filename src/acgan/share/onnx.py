"""The generator as an ONNX graph: inputs z [N, z_dim] float32 and labels [N] int64, output images [N, C, H, W] in
[-1, 1], N free; checked against onnxruntime on the CPU before it is kept (the optional extra [onnx])."""
from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError

OPSET = 17
TOLERANCE = 1e-4  # max abs difference onnxruntime may show against PyTorch on the check batch


def _affine_batchnorms(G: torch.nn.Module) -> torch.nn.Module:
    """A copy of G whose BatchNorms without affine parameters have weight 1 and bias 0: the same function, but the
    TorchScript exporter needs a BatchNorm's channel count to make those up, and after a reshape with a free batch
    it does not know it (the conditional BatchNorms of resnet and biggan)."""
    G = copy.deepcopy(G)
    for module in G.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and not module.affine:
            module.affine = True
            module.weight = torch.nn.Parameter(torch.ones(module.num_features))
            module.bias = torch.nn.Parameter(torch.zeros(module.num_features))
    return G


def export_onnx(G: torch.nn.Module, path: Path, *, check_batch: int = 7) -> float:
    """Write `G` (an ExportedGenerator) to `path`; the max abs difference of onnxruntime's images against G's on a
    fixed batch (another size than the traced one, so the free batch dimension is exercised)."""
    try:
        import onnxruntime
    except ImportError:
        raise UserError("--onnx needs the optional packages onnx and onnxruntime: pip install 'acgan[onnx]'") \
            from None
    G = G.eval()
    traced = _affine_batchnorms(G)
    gen = torch.Generator().manual_seed(0)
    z, labels = torch.randn(3, G.z_dim, generator=gen), torch.arange(3) % G.num_classes
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on shape arithmetic
        torch.onnx.export(traced, (z, labels), str(path), input_names=["z", "labels"], output_names=["images"],
                          dynamic_axes={"z": {0: "batch"}, "labels": {0: "batch"}, "images": {0: "batch"}},
                          opset_version=OPSET, dynamo=False)
    z = torch.randn(check_batch, G.z_dim, generator=gen)
    labels = torch.arange(check_batch) % G.num_classes
    runtime = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = runtime.run(None, {"z": z.numpy(), "labels": labels.numpy()})[0]
    with torch.no_grad():
        want = G(z, labels).numpy()
    diff = float(np.abs(got - want).max())
    if diff > TOLERANCE:
        Path(path).unlink(missing_ok=True)
        raise RuntimeError(f"the ONNX graph differs from the generator by {diff:.2e} (more than {TOLERANCE})")
    return diff
