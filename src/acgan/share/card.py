"""The export's model card: README.md with the Hub's YAML metadata, then what a user needs to trust and use it."""
from __future__ import annotations

from ..evaluation.outputs.report import variety_cell
from ..losses.terms import TERMS
from ..models import ARCHS
from ..rundir import RunRecord

HUB_DATASETS = {"fashion-mnist": "fashion_mnist", "mnist": "mnist", "cifar10": "cifar10", "cifar100": "cifar100"}
RECIPE_KEYS = ("arch", "loss", "adversarial", "class_loss_weight", "g_width", "d_width", "z_dim", "conditioning",
               "embed_dim", "attention_res", "hierarchical_z", "spectral_norm", "d_steps", "ema_decay",
               "standing_stats", "diffaugment", "g_class_bn", *TERMS, "batch_size", "lr_g", "lr_d", "beta1", "beta2",
               "lr_schedule", "precision", "seed")


def applies(key: str, recipe: dict) -> bool:
    """Keys only some architectures read (their ArchSpec's `reads`) stay out of other architectures' cards."""
    own = {k for spec in ARCHS.values() for k in spec.reads}
    spec = ARCHS.get(recipe.get("arch"))
    return key not in own or (spec is not None and key in spec.reads)


def _value(v) -> str:
    return "off" if v in ("", None, []) else str(v)  # an empty diffaugment policy, say


def _verdict_lines(metrics: dict, cd: dict) -> list[str]:
    """The evaluation's verdict (docs/evaluation.md, "The verdict"), or for an older metrics.json its collapse list."""
    v = metrics.get("verdict")
    if not v:
        return [f"- Collapsed classes (every validated measure fires): {', '.join(cd['collapsed_classes']) or 'none'}."]
    counts = ", ".join(f"{n} {w}" for w, n in v["counts"].items() if n)
    return [f"- Verdict: **{v['model']}** ({counts}); next: {v['next_step']}."]


def _front_matter(config: dict) -> str:
    lines = ["---", "library_name: acgan", "tags:", "- gan", "- ac-gan", "- class-conditional", "- image-generation",
             "- pytorch"]
    hub = HUB_DATASETS.get(config["data"]["dataset"])
    if hub:
        lines += ["datasets:", f"- {hub}"]
    return "\n".join(lines + ["---", ""])


def _pixel_scores(dom: dict) -> str:
    p = dom.get("pixels")  # older evaluations have the evaluator's scores only
    return f"; FID {p['fid']:.2f}, KID {p['kid']:.4f} in {p['space']}" if p else ""


def _evaluation(metrics: dict | None, resolution: int) -> list[str]:
    if not metrics:
        return ["## Evaluation", "", "Not evaluated when it was exported: `acgan evaluate RUN_DIR`, then export again, "
                "puts the paper's analyses here.", ""]
    o, ev = metrics["options"], metrics["evaluator"]
    acc = metrics["discriminability"]["generated"][str(resolution)]["accuracy"]
    real = metrics["discriminability"]["real"][str(resolution)]["accuracy"]
    cd, dom = metrics["class_diversity"], metrics["domain_metrics"]
    out = ["## Evaluation", "",
           f"`acgan evaluate` at step {metrics['step']}: {o['per_class']} samples and up to {o['real_per_class']} real "
           f"test images per class, seed {o['seed']}, judged by a classifier trained on the real training split "
           f"(the evaluator; {ev['test_accuracy']:.1%} on the real test split).", "",
           f"- Samples labelled as their class: **{acc:.1%}** (real test images: {real:.1%}).",
           f"- Domain FID {dom['fid']:.2f}, KID {dom['kid']:.4f} ({dom['samples']} samples against "
           f"{dom['real_samples']} real images, in the evaluator's features{_pixel_scores(dom)}: comparable between "
           "models of this data only, not with published FIDs).",
           *_verdict_lines(metrics, cd), "",
           "| class | accuracy | variety vs real | recall | coverage | intra-FID |", "|---|---|---|---|---|---|"]
    per_class = metrics["discriminability"]["generated"][str(resolution)]["per_class"]
    for row, a in zip(cd["per_class"], per_class):
        out.append(f"| {row['class']} | {a:.2f} | {variety_cell(row)} | {row['recall']:.2f} | "
                   f"{row['coverage']:.2f} | {row['intra_fid']:.2f} |")
    return out + ["", "Variety vs real: the lowest of the class's recall and coverage, each divided by what real "
                  "training images of the class get against the same real test images, in the evaluator's features "
                  "and in 14 px pixels (range over those four in brackets; 1 = as varied as real data). Recall and "
                  "coverage (k-NN manifolds, k 3 and 5) and intra-FID are the measures that passed validation on "
                  "generators of known diversity and of dropped sub-populations.", ""]


def model_card(config: dict, record: RunRecord, metrics: dict | None, parameters: int, onnx_note: str | None,
               name: str, started: str | None = None) -> str:
    names = config["class_names"]
    res, c = config["resolution"], config["channels"]
    recipe = record.config
    split = f", as {len(config['groups'])} models of up to {max(len(g) for g in config['groups'])} classes" \
        if config["groups"] else ""
    lines = [_front_matter(config), f"# {name}", "",
             f"A class-conditional image generator trained with acgan (AC-GAN and its descendants): "
             f"{recipe['arch']} architecture, {recipe['loss']} loss, {len(names)} classes{split}, {c}-channel "
             f"images of {res} x {res} px, {parameters:,} parameters ({config['weights']}, step {config['step']}).",
             "", "![one row per class, named on its left, the same noise down each column](samples.png)", "",
             "## Use", "", "```python", "import acgan", f'G = acgan.load_generator("{name}")    # this folder',
             "images = G.sample([0, 1, 2])          # [3, C, H, W] in [-1, 1], classes by index (G.class_names)",
             "```", "",
             f"or `acgan sample {name} --per-class 8 --out grid.png`. No training code, config or pickle is needed: "
             "the weights are in `model.safetensors` and `config.json` says how to build the network. With "
             "huggingface_hub installed, `acgan.exported.ExportedGenerator.from_pretrained(folder_or_repo)` loads "
             "it too. The noise z is N(0, 1) of size "
             f"{config['z_dim']}; images are in [-1, 1] (`(x + 1) / 2` for [0, 1])."]
    if onnx_note:
        lines += ["", f"`generator.onnx`: inputs `z` [N, {config['z_dim']}] float32 and `labels` [N] int64, output "
                  f"`images` [N, {c}, {res}, {res}] in [-1, 1], N free; {onnx_note}."]
    lines += ["", "## Classes", "", "| label | class |", "|---|---|", *[f"| {i} | {n} |" for i, n in enumerate(names)],
              "", "## Training", "",
              f"{config['step']:,} steps on {config['data']['dataset']} "
              + (f"({config['data']['num_images']:,} images)" if config["data"].get("num_images") else "") + ":", "",
              "| key | value |", "|---|---|",
              *[f"| {k} | {_value(recipe[k])} |" for k in RECIPE_KEYS if k in recipe and applies(k, recipe)], ""]
    if started:
        lines += [f"As its log put it when training last started: {started}.", ""]
    lines += _evaluation(metrics, res)
    lines += ["## Limitations", "",
              "A GAN reproduces what its data shows, and misses what little of it shows: check the samples of every "
              "class before relying on them. Evaluation numbers from acgan come from a classifier of this data set, "
              "not from an ImageNet network.", ""]
    return "\n".join(lines)
