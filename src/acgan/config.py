"""Training configuration: documented defaults, YAML presets that state only their differences, strict validation."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .data import DATASETS, SPLITS, parse_class_list
from .data.folder import holds_class_folders
from .data.registry import InMemoryData
from .device import DEVICES, PRECISIONS
from .errors import UserError
from .losses import ADVERSARIAL, LOSSES
from .losses.terms import TERMS
from .models import ARCHS, CONDITIONING, SPECTRAL_NORM
from .models.augment import POLICIES as DIFFAUGMENT
from .optim import NAN_POLICIES, SCHEDULES


@dataclass
class TrainConfig:
    # --- data ---
    dataset: str = "fashion-mnist"  # a registered data set: fashion-mnist, mnist, cifar10, cifar100, folder
    data_dir: str = "data"          # torchvision downloads / folder data set (directory or .zip)
    classes: list | None = None     # class indices or names; None = all classes
    split: str = "train"            # for folder data with train/ and test/ sub-folders
    resolution: int | None = None   # px; None = the architecture's default for the data
    skip_bad_images: bool = False   # folder data: skip undecodable files instead of stopping
    jpeg_draft: bool = True         # decode JPEGs of >= 2x the resolution at libjpeg's reduced scale (see Data)
    data_memory_gb: float | None = None  # GB of images held in memory; more stream from the store (None: automatic)
    # --- model ---
    arch: str = "dcgan-small"      # a registered architecture: dcgan-small, paper-cifar, paper-imagenet, resnet
    z_dim: int = 100                # noise dimensions (paper: 100 + 10-d one-hot = 110)
    conditioning: str = "onehot"    # "onehot" (paper) or "embedding" (learned, concatenated with z)
    embed_dim: int = 50             # only for conditioning = "embedding"
    g_class_bn: bool = False        # dcgan-small: G's BatchNorm gains and biases from the class; others ignore it
    g_width: int = 64               # dcgan-small base channels of G
    d_width: int = 64               # dcgan-small base channels of D (resnet: 4 * d_width channels)
    resnet_d_blocks: int = 4        # resnet: D's residual blocks (the first two downsample)
    attention_res: int = 0          # biggan: px at which G and D get a self-attention block (0 = none)
    hierarchical_z: bool = False    # biggan: z split over G's blocks, each chunk beside the class embedding
    d_dropout: float = 0.5          # dropout after each D conv (paper: 0.5)
    activation_noise: float = 0.0   # std of Gaussian noise on D activations in training (paper: 0 to 0.2)
    spectral_norm: str = "none"     # none | d | g | both: spectral normalisation of conv and linear weights
    diffaugment: str = ""           # DiffAugment policies for both players' D passes: color,translation,cutout
    d_steps: int = 1                # D updates per G update (each on its own real batch)
    ema_decay: float = 0.0          # 0 = off; else G's weights are averaged (warm-up ramp) for grids and sampling
    standing_stats: int = 0         # with EMA: batches over fresh z that re-estimate its BatchNorm stats (0: copy G's)
    init_std: float = 0.02          # N(0, std) init of conv/linear weights, biases 0 (paper)
    # --- objective ---
    loss: str = "acgan"             # a registered loss: acgan (paper), acgan-mod, tac, adc, reacgan, projection
    adversarial: str = "auto"       # source loss: bce (paper) | hinge | auto (the loss's own: acgan bce, others hinge)
    class_loss_weight: float = 1.0  # weight of L_C against L_S for both players
    # the weights of the extra loss terms (losses/terms/, one file and one key each; 0 = off)
    imle: float = 0.0               # IMLE's term in G's loss: real images pull their nearest sample (Li & Malik 2018)
    lecam: float = 0.0              # LeCam's term in D's loss (Tseng et al. 2021)
    # --- optimisation ---
    batch_size: int = 100           # images per step (paper: 100)
    steps: int = 50000              # G updates (each after d_steps D updates; paper: 50k, d_steps 1)
    lr_g: float = 2e-4              # G's Adam learning rate (paper: 2e-4)
    lr_d: float = 2e-4              # D's Adam learning rate (paper: 2e-4)
    beta1: float = 0.5              # Adam's first-moment decay for both (paper: 0.5)
    beta2: float = 0.999            # Adam's second-moment decay for both
    lr_schedule: str = "constant"   # constant | linear: both rates fall linearly to 0 at the last step
    # --- run ---
    seed: int = 0                   # initial weights, batches, noise: the same seed gives the same run
    device: str = "auto"            # auto | cpu | cuda
    precision: str = "fp32"         # fp32 | bf16 (autocast, fp32 master weights) | auto (bf16 where timed faster)
    channels_last: bool = True      # memory format for convolutions
    compile: bool = False           # torch.compile G and D (falls back to eager if it fails; 0.7-1.1x eager so far)
    cuda_graphs: bool = False       # CUDA, one process, not with compile: record the step once, replay it (else eager)
    sync_batchnorm: bool = True     # under torchrun: BatchNorm statistics over the global batch, as in 1 process
    log_every: int = 50             # steps between stats.jsonl lines (and host syncs)
    sample_every: int = 500         # steps between sample grids
    checkpoint_every: int = 500     # steps between checkpoints
    keep_checkpoints: int = 3       # newest checkpoints kept
    grid_columns: int = 10          # samples per class row in the grids
    monitor_every: int = 500        # steps between mode-collapse checks (0 = off); a multiple of log_every
    monitor_samples: int = 32       # samples per class for the check
    monitor_pairs: int = 64         # random same-class pairs per class for its MS-SSIM
    nan_policy: str = "stop"        # non-finite losses: stop (naming the last good checkpoint) or skip the step
    tensorboard: bool = True        # also write stats and grids as TensorBoard events (when the package is installed)

    def validate(self) -> "TrainConfig":
        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise UserError(msg)

        for registry, value in ((DATASETS, self.dataset), (ARCHS, self.arch), (LOSSES, self.loss)):
            registry.check(value)
        for key, choices in (("conditioning", CONDITIONING), ("device", DEVICES), ("precision", PRECISIONS),
                             ("split", SPLITS), ("adversarial", ("auto", *ADVERSARIAL)),
                             ("spectral_norm", tuple(SPECTRAL_NORM)), ("lr_schedule", SCHEDULES),
                             ("nan_policy", NAN_POLICIES)):
            need(getattr(self, key) in choices, f"{key} must be one of {', '.join(choices)}, got "
                 f"{getattr(self, key)!r}")
        bad = [p for p in self.diffaugment.split(",") if p.strip() and p.strip() not in DIFFAUGMENT]
        need(not bad, f"unknown DiffAugment policy {', '.join(bad)}: use {', '.join(DIFFAUGMENT)}")
        need(0 <= self.ema_decay < 1, f"ema_decay must be in [0, 1), got {self.ema_decay}")
        need(isinstance(self.standing_stats, int) and self.standing_stats >= 0,
             f"standing_stats must be a whole number >= 0, got {self.standing_stats}")
        for name in ("z_dim", "embed_dim", "g_width", "d_width", "batch_size", "steps", "log_every", "d_steps",
                     "resnet_d_blocks", "sample_every", "checkpoint_every", "keep_checkpoints", "grid_columns"):
            need(isinstance(getattr(self, name), int) and getattr(self, name) > 0,
                 f"{name} must be a positive integer, got {getattr(self, name)!r}")
        for name in ("lr_g", "lr_d", "init_std"):
            need(float(getattr(self, name)) > 0, f"{name} must be positive")
        need(isinstance(self.monitor_every, int) and self.monitor_every >= 0, "monitor_every must be >= 0")
        need(isinstance(self.attention_res, int) and self.attention_res >= 0, "attention_res must be >= 0 (px)")
        need(not (self.compile and self.cuda_graphs),
             "compile and cuda_graphs exclude each other (a recorded step is not compiled): set one of them to false")
        need(self.monitor_every % self.log_every == 0,
             f"monitor_every ({self.monitor_every}) must be a multiple of log_every ({self.log_every})")
        need(self.monitor_samples >= 2 and self.monitor_pairs >= 1, "monitor_samples >= 2 and monitor_pairs >= 1")
        need(0 <= self.d_dropout < 1, "d_dropout must be in [0, 1)")
        need(self.activation_noise >= 0, "activation_noise must be >= 0")
        for term in TERMS:
            need(getattr(self, term) >= 0, f"{term} (a loss term's weight) must be >= 0, got {getattr(self, term)}")
        if self.resolution is not None:
            need(isinstance(self.resolution, int) and self.resolution >= 8,
                 f"resolution must be an integer >= 8, got {self.resolution!r}")
            ARCHS[self.arch].check_resolution(self.resolution)  # before any image is decoded at it
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
if not set(TERMS) <= set(FIELDS):
    raise RuntimeError(f"loss terms without a weight's key in TrainConfig: {sorted(set(TERMS) - set(FIELDS))}")

# keys of earlier releases, with the value at which they changed nothing: measured and not adopted
# (docs/results/family.md, "Tried and not adopted"); a run or an export written with one at that value still loads
RETIRED = {"top_k": 1.0, "mode_seeking": 0.0, "minibatch_std": 0, "real_label": 1.0, "d_batchnorm": True,
           "ema_ramp": 10.0}


def _retired(key: str, value, where: str) -> UserError:
    return UserError(f"config key '{key}' in {where} was retired in 0.3 (measured and not adopted; "
                     f"docs/results/family.md): {key} = {value!r} cannot be trained, sampled or resumed by this "
                     f"release; use acgan 0.2 for what was made with it")


_TYPE_WORDS = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string",
               "list": "a list"}


def _checked(key: str, value, where: str):
    """`value` if it fits the key's declared type (an int is a fine float; classes may be "a,b"); else a UserError
    naming the key, the value and the type."""
    kinds = [k.strip() for k in str(FIELDS[key].type).split("|")]
    if value is None and "None" in kinds:
        return None
    if key == "classes" and isinstance(value, str):
        return parse_class_list(value)
    for kind in kinds:
        if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind in ("bool", "str", "list") and isinstance(value, {"bool": bool, "str": str, "list": list}[kind]):
            return value
    expected = " or ".join(_TYPE_WORDS.get(k, "null" if k == "None" else k) for k in kinds)
    raise UserError(f"config key '{key}' in {where} expects {expected}, got {value!r} ({type(value).__name__})")


def from_dict(values: dict, base: TrainConfig | None = None, where: str = "config") -> TrainConfig:
    """Apply `values` on top of `base`; unknown keys and values of the wrong type are errors, not silent
    fall-backs or tracebacks later."""
    for key in set(values) & set(RETIRED):
        if values[key] != RETIRED[key]:
            raise _retired(key, values[key], where)
    values = {k: v for k, v in values.items() if k not in RETIRED}
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise UserError(f"unknown key(s) in {where}: {', '.join(unknown)}; valid keys: {', '.join(FIELDS)}")
    return dataclasses.replace(base or TrainConfig(), **{k: _checked(k, v, where) for k, v in values.items()})


RENAMED_PRESETS = {"modern-demo": "demo"}  # old name -> new name; the old name keeps working


def preset_names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("acgan.presets").iterdir() if p.name.endswith(".yaml"))


def load_yaml(path_or_preset: str, _seen: tuple = ()) -> dict:
    """A preset name (see preset_names()) or a path to a YAML file of config keys. `base: NAME` (a preset or a
    file) starts from that one's keys, so a variant states only what it changes."""
    path = Path(path_or_preset)
    path_or_preset = RENAMED_PRESETS.get(path_or_preset, path_or_preset) if not path.exists() else path_or_preset
    if path.suffix in (".yaml", ".yml") and path.exists():
        text, where = path.read_text(), str(path)
    elif path_or_preset in preset_names():
        text = resources.files("acgan.presets").joinpath(f"{path_or_preset}.yaml").read_text()
        where = f"preset '{path_or_preset}'"
    else:
        raise UserError(f"no preset or YAML file '{path_or_preset}': presets are {', '.join(preset_names())}")
    try:
        values = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise UserError(f"{where} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(values, dict):
        raise UserError(f"{where} must be a mapping of config keys to values")
    if "base" in values:
        base = values.pop("base")
        if not isinstance(base, str) or base in _seen or base == path_or_preset:
            raise UserError(f"{where}: base must name another preset or YAML file, not {base!r}")
        values = {**load_yaml(base, (*_seen, path_or_preset)), **values}
    from_dict(values, where=where)  # reject unknown keys early, naming the file
    return values


def parse_override(text: str) -> tuple[str, Any]:
    """`key=value` from --set; the value is read as YAML (numbers, booleans, lists)."""
    if "=" not in text:
        raise UserError(f"--set expects key=value, got '{text}'")
    key, raw = text.split("=", 1)
    key = key.strip().replace("-", "_")
    if key in RETIRED and yaml.safe_load(raw) != RETIRED[key]:
        raise _retired(key, yaml.safe_load(raw), "--set")
    if key not in FIELDS:
        raise UserError(f"unknown config key '{key}' in --set; valid keys: {', '.join(FIELDS)}")
    return key, yaml.safe_load(raw)


def assemble(preset: str | None, options: dict | None = None, overrides=(),
             defaults: dict | None = None) -> TrainConfig:
    """The one way a config is built: `defaults` (a caller's own, below any preset), a preset (name or YAML file;
    None = the dataclass defaults), explicit options (None = not given), then `--set key=value` overrides;
    validated. `classes` may be a comma-separated string."""
    values = dict(defaults or {})
    values.update(load_yaml(preset) if preset else {})
    given = {k: v for k, v in (options or {}).items() if v is not None}
    given.update(dict(parse_override(o) for o in overrides))
    values.update(given)
    if isinstance(values.get("classes"), str):
        values["classes"] = parse_class_list(values["classes"])
    cfg = from_dict(values, where="the command line").validate()
    if "data_dir" in given and "dataset" not in given:
        refuse_unused_folder(cfg)
    return cfg


def refuse_unused_folder(cfg: TrainConfig) -> None:
    """A --data-dir of class folders beside a data set that only downloads into it (fashion-mnist, the default)
    would train on the download, leaving the user's images unread without a word."""
    if isinstance(DATASETS[cfg.dataset], InMemoryData) and holds_class_folders(cfg.data_dir):
        raise UserError(f"--data-dir {cfg.data_dir} holds folders of images, but the data set is {cfg.dataset}, "
                        f"which only downloads into --data-dir: add --dataset folder to use the images")
