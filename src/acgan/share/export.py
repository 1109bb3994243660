"""`acgan export RUN_DIR OUT_DIR`: a run's generator as a folder anyone can load (exported.py has the format)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from torch.nn.utils import parametrize

from ..errors import UserError
from ..exported import CONFIG, FORMAT, WEIGHTS, ExportedGenerator, is_export
from ..io import atomic_save_image, atomic_write, atomic_write_json, atomic_write_text, guard_disk
from ..models import count_parameters
from ..progress import echo
from ..rundir import RunDir
from ..sampling import load_generator
from .card import model_card

GRID_COLUMNS = 8


def folded_state(G: torch.nn.Module) -> dict:
    """G's state_dict with spectral norm folded in: each normalised weight as the plain weight it stands for in
    eval mode (W / sigma with the stored u, v), so a G built without spectral norm computes the same images."""
    state = G.state_dict()
    with torch.no_grad():
        for name, module in G.named_modules():
            if parametrize.is_parametrized(module, "weight"):
                prefix = f"{name}." if name else ""
                for key in [k for k in state if k.startswith(prefix + "parametrizations.weight.")]:
                    del state[key]
                state[prefix + "weight"] = module.weight.detach().clone()
    return {k: v.detach().float().contiguous() if v.is_floating_point() else v.contiguous() for k, v in state.items()}


def export_config(run: RunDir, G) -> dict:
    record = run.read()
    model = dict(record.config, spectral_norm="none", data_dir="data")  # folded into the weights; no local paths
    return {"acgan_export": FORMAT, "arch": record.config["arch"], "z_dim": G.z_dim,
            "resolution": record.data["resolution"], "channels": record.data["channels"],
            "class_names": list(G.class_names), "pixel_range": [-1.0, 1.0],
            "groups": record.split["groups"] if record.split else None, "step": G.step, "model": model,
            "data": {"dataset": record.data["dataset"], "num_images": record.data.get("num_images")},
            "weights": "G's exponential moving average" if record.config.get("ema_decay") else "G"}


def _same_samples(G, exported) -> None:
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(2 * G.num_classes) % G.num_classes
    z = torch.randn(len(labels), G.z_dim, generator=gen)
    if not torch.equal(G.sample(labels, z=z), exported.sample(labels, z=z)):
        raise RuntimeError("the exported generator does not reproduce the run's samples")


def export_run(run_dir, out, *, onnx: bool = False, force: bool = False, log=echo) -> Path:
    """Write the export folder at `out` (refused when it exists, unless `force` and it is an acgan export)."""
    from safetensors.torch import save_file

    run, out = RunDir(run_dir), Path(out)
    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        if not force:
            raise UserError(f"{out} already exists: choose another OUT_DIR, or --force to replace an export there")
        if not is_export(out):
            raise UserError(f"--force only replaces an acgan export, and {out} is not one: choose another OUT_DIR")
    if is_export(run.path):
        raise UserError(f"{run.path} is an export already: export the run it came from")
    G = load_generator(run.path)
    config = export_config(run, G)
    exported = ExportedGenerator(**config)
    exported.generator.load_state_dict(folded_state(G))
    _same_samples(G, exported)
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with guard_disk(tmp):
        tmp.mkdir(parents=True)
        weights = {f"generator.{k}": v for k, v in exported.generator.state_dict().items()}
        meta = {"format": "pt", "library": "acgan"}
        atomic_write(tmp / WEIGHTS, lambda path: save_file(weights, path, metadata=meta))
        atomic_write_json(tmp / CONFIG, config)
        gen = torch.Generator().manual_seed(0)
        z = torch.randn(GRID_COLUMNS, G.z_dim, generator=gen).repeat(G.num_classes, 1)
        labels = torch.arange(G.num_classes).repeat_interleave(GRID_COLUMNS)
        atomic_save_image(exported.sample(labels, z=z), tmp / "samples.png", nrow=GRID_COLUMNS,
                          rows=list(G.class_names))
        onnx_note = None
        if onnx:
            from .onnx import export_onnx
            diff = export_onnx(exported, tmp / "generator.onnx")
            onnx_note = f"max abs difference {diff:.1e} from PyTorch on a check batch (onnxruntime, CPU)"
            log(f"generator.onnx: {onnx_note}")
        metrics = json.loads(run.metrics_path.read_text()) if run.metrics_path.is_file() else None
        atomic_write_text(tmp / "README.md", model_card(config, run.read(), metrics, count_parameters(exported),
                                                        onnx_note, out.name, run.last_start()))
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out
