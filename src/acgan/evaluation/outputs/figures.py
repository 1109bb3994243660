"""The paper's figures for one model, with matplotlib (Agg, files only), and image grids as PNG."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from torchvision.utils import save_image  # noqa: E402

from ...io import atomic_write  # noqa: E402
from ...rundir import RunDir  # noqa: E402


def save_grid(grid, path: Path) -> None:
    """An image grid already in [0, 1] (torchvision's make_grid), as PNG."""
    atomic_write(path, lambda tmp: save_image(grid, tmp, format="png"))


def new_figure(figsize=(5, 3.6), ncols: int = 1):
    return plt.subplots(1, ncols, figsize=figsize)


def save_figure(fig, path: Path) -> None:
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))
    plt.close(fig)


def metric_figures(m: dict, out: RunDir) -> None:
    names, disc, div, jnt = m["class_names"], m["discriminability"], m["diversity"], m["joint"]
    rs = disc["resolutions"]

    # Fig. 2 (top): accuracy against the resolution the images were reduced to
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for side, style in (("real", "o-"), ("generated", "s-")):
        ax.errorbar(rs, [disc[side][str(r)]["accuracy"] for r in rs],
                    yerr=[disc[side][str(r)]["std"] for r in rs],
                    fmt=style, capsize=3, label=side)
    ax.axvline(m["model_resolution"], color="grey", ls=":", lw=1)
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set(xticks=rs, xticklabels=[str(r) for r in rs], xlabel="resized to (px)",
           ylabel="evaluator accuracy", ylim=(0, 1.02), title="Discriminability")
    ax.legend()
    save_figure(fig, out.figure("discriminability"))

    # Fig. 2 (bottom): per-class accuracy at the lowest resolution against the model resolution
    lo, hi = rs[0], m["model_resolution"]
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.scatter(disc["generated"][str(lo)]["per_class"], disc["generated"][str(hi)]["per_class"])
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
    ax.set(xlabel=f"accuracy at {lo} px", ylabel=f"accuracy at {hi} px", title="Per-class discriminability",
           xlim=(0, 1.02), ylim=(0, 1.02))
    save_figure(fig, out.figure("discriminability_per_class"))

    # Fig. 4: per-class MS-SSIM, real against generated, with the real-data maximum
    real = [r["mean"] for r in div["real"]]
    gen = [g["mean"] for g in div["generated"]]
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.scatter(real, gen)
    for x, y, n in zip(real, gen, names):
        ax.annotate(n, (x, y), fontsize=6, alpha=0.7)
    top = max(real + gen + [div["threshold"]]) * 1.1
    ax.plot([0, top], [0, top], color="grey", lw=1, ls="--")
    ax.axhline(div["threshold"], color="red", lw=1, ls=":", label=f"threshold {div['threshold']:.3f}")
    ax.set(xlabel="real MS-SSIM", ylabel="generated MS-SSIM", title="Diversity per class (lower = more diverse)",
           xlim=(0, top), ylim=(0, top))
    ax.legend(fontsize=7)
    save_figure(fig, out.figure("ms_ssim_scatter"))

    # Fig. 6: accuracy against MS-SSIM per class
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.scatter(gen, disc["generated"][str(hi)]["per_class"])
    ax.axvline(div["threshold"], color="red", lw=1, ls=":")
    ax.set(xlabel="generated MS-SSIM", ylabel="evaluator accuracy",
           title=f"Accuracy vs diversity (r = {jnt['pearson_r']:.2f})", ylim=(0, 1.02))
    save_figure(fig, out.figure("joint"))


def training_curves(stats_path: Path, out_png: Path) -> None:
    rows = _rows(stats_path)
    if not rows:
        return
    steps = [r["step"] for r in rows]
    mon = [r for r in rows if "class_ms_ssim" in r]
    fig, axes = plt.subplots(1, 3 if mon else 2, figsize=(13 if mon else 9, 3.4))
    for key in ("d_loss", "g_loss", "d_source", "g_source", "d_class", "g_class"):
        axes[0].plot(steps, [r[key] for r in rows], label=key, lw=1)
    axes[0].set(xlabel="step", title="losses")
    axes[0].legend(fontsize=7)
    for key in ("acc_real", "acc_fake"):
        axes[1].plot(steps, [r[key] for r in rows], label=key, lw=1)
    axes[1].set(xlabel="step", title="D class accuracy", ylim=(0, 1.02))
    axes[1].legend(fontsize=7)
    if mon:
        per_class = list(zip(*[r["class_ms_ssim"] for r in mon]))
        for series in per_class:
            axes[2].plot([r["step"] for r in mon], series, lw=1)
        axes[2].axhline(mon[-1]["ms_ssim_threshold"], color="red", ls=":", lw=1)
        axes[2].set(xlabel="step", title="per-class MS-SSIM while training")
    save_figure(fig, out_png)


def split_training_curves(stats_paths: list[Path], out_png: Path) -> None:
    """Losses and D's accuracy on generated images for each model of a class-split run."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for i, path in enumerate(stats_paths):
        rows = _rows(path)
        steps = [r["step"] for r in rows]
        axes[0].plot(steps, [r["d_loss"] for r in rows], lw=1, color=f"C{i % 10}", label=f"group {i}")
        axes[0].plot(steps, [r["g_loss"] for r in rows], lw=1, ls="--", color=f"C{i % 10}")
        axes[1].plot(steps, [r["acc_fake"] for r in rows], lw=1, color=f"C{i % 10}")
    axes[0].set(xlabel="step", title="d_loss (solid), g_loss (dashed) per group")
    axes[0].legend(fontsize=6, ncol=2)
    axes[1].set(xlabel="step", title="D class accuracy on generated images", ylim=(0, 1.02))
    save_figure(fig, out_png)


def _rows(path: Path) -> list[dict]:
    if not Path(path).exists():
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
