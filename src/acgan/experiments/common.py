"""What every experiment shares: measuring a trained model with the evaluation steps, and writing the results."""
from __future__ import annotations

from pathlib import Path

from ..config import TrainConfig
from ..data import load_data
from ..errors import UserError
from ..evaluation.context import EvalContext, EvalOptions, SampleSet, take_per_class
from ..evaluation.outputs.html import html_image, html_page
from ..evaluation.steps import run_steps
from ..io import atomic_write_json, atomic_write_text
from ..metrics.ms_ssim import MIN_SIZE
from ..sampling import load_generator, sample_classes


def measure(run: Path, cfg: TrainConfig, evaluator, per_class: int, pairs: int, seed: int,
            resolutions: list[int], log) -> dict:
    """Evaluator accuracy of a run's samples at each resolution, and their per-class MS-SSIM."""
    G = load_generator(run)
    k = G.num_classes
    fake, labels = sample_classes(G, list(range(k)), per_class, seed)
    real = load_data(cfg, fake.shape[-1], split="test")
    real_u8, real_labels = take_per_class(real.images, real.labels, per_class, k, seed)
    opts = EvalOptions(per_class=per_class, real_per_class=per_class, resolutions=sorted(resolutions), pairs=pairs,
                       seed=seed)
    ctx = EvalContext(SampleSet(fake, labels, real_u8, real_labels, G.class_names, seed), evaluator, evaluator,
                      opts, log)
    found = run_steps(["discriminability"] + (["diversity"] if fake.shape[-1] >= MIN_SIZE else []), ctx)
    ms = [g["mean"] for g in found["diversity"]["generated"]] if "diversity" in found else []
    return {"accuracy": found["discriminability"]["generated"], "class_ms_ssim": ms,
            "mean_ms_ssim": sum(ms) / len(ms) if ms else None}


def write_results(result: dict, out: Path, figure: str, table: str) -> None:
    atomic_write_json(out / "results.json", result, indent=1)
    title = f"Experiment: {result['experiment']} ({result['dataset']}, {result['arch']})"
    body = f"<h1>{title}</h1>{table}{html_image(out / figure, result['experiment'])}"
    atomic_write_text(out / "report.html", html_page(title, body))


def parse_ints(text: str, what: str, minimum: int = 1) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"{what} expects comma-separated integers, got '{text}'") from None
    if not values or min(values) < minimum:
        raise UserError(f"{what} needs integers of at least {minimum}, got '{text}'")
    return values


