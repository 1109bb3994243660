"""The diversity measures on generators of known diversity, at CI scale: two Fashion-MNIST classes, 400 images.

Full scale (all ten classes, evaluator features) is in docs/results/diversity.md, from
research/diversity/validate-diversity.py. The generators are research tools, not part of the package: their folder
goes on sys.path here."""
import sys
from pathlib import Path

import pytest
import torch

from acgan.evaluation.steps.class_diversity import INTRA_FID_MULTIPLE, VALIDATED, intra_fid_level
from acgan.metrics.collapse import verdict
from acgan.metrics.prdc import pixel_features

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "research" / "diversity"))
from dropped_subpopulations import CUTS, kept_rows, total_variation, validate_cuts  # noqa: E402
from known_diversity import k_mode_generator, split_reference_pool, validate  # noqa: E402

FMNIST = Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")


@pytest.fixture(scope="module")
def two_classes():
    if not FMNIST.exists():
        pytest.skip("Fashion-MNIST is not installed (make data)")
    from acgan.config import TrainConfig
    from acgan.data import load_data
    data = load_data(TrainConfig(dataset="fashion-mnist", classes=["Trouser", "Bag"]), None, split="test")
    keep = torch.cat([(data.labels == c).nonzero().flatten()[:200] for c in (0, 1)])
    return data.images[keep], data.labels[keep]


def test_known_diversity_generators_are_what_they_say():
    pool = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 1, 8, 8).contiguous() * 20
    for k in (1, 3, "all"):
        x = k_mode_generator(pool, k, per_class=30, seed=0, shift=0, noise=0.0)
        assert x.shape == (30, 1, 8, 8) and len(x.flatten(1).unique(dim=0)) == (10 if k == "all" else k)
    images, labels = pool.repeat(4, 1, 1, 1), torch.arange(40) % 2
    ref, ref_labels, pools = split_reference_pool(images, labels, 2, seed=0)
    assert len(ref) == 20 and [len(p) for p in pools] == [10, 10] and ref_labels.tolist() == [0] * 10 + [1] * 10


def test_validated_measures_rank_known_diversity(two_classes):
    result = validate(pixel_features, *two_classes, 2, ks=(1, 5, "all"), pairs=20, log=lambda m: None)
    m = result["measures"]
    for name in ("recall", "coverage", "intra_fid"):  # the network-free space keeps the validated measures' order
        assert m[name]["ranks_in_order"], (name, m[name])
    for name in ("recall", "coverage"):  # (intra-FID's level needs more images than 196-d pixels at n = 100)
        assert m[name]["share_flagged_by_k"]["1"] == 1.0 and m[name]["share_flagged_by_k"]["all"] == 0.0, name
    assert not m["precision"]["passes"] and not m["density"]["passes"]  # fidelity measures have no collapse rule
    assert result["per_class"] == 100 and set(result["levels"]) == {"intra_fid", "ms_ssim", "distance_ratio", "recall",
                                                                  "coverage"}


def test_verdict_needs_every_validated_measure():
    levels = {"intra_fid": 10.0, "ms_ssim": 0.5, "distance_ratio": 0.5, "recall": 0.25, "coverage": 0.25}
    all_low = {"recall": 0.1, "coverage": 0.1, "intra_fid": 50.0, "distance_ratio": 0.9, "ms_ssim": 0.2, "near": 0.8}
    assert verdict(all_low, levels, VALIDATED)["collapsed"]
    away = verdict(dict(all_low, near=0.05), levels, VALIDATED)  # missing real data far from it
    assert away["missed"] and away["far"] and not away["collapsed"]
    assert set(verdict(all_low, levels, VALIDATED)["validated_fired"]) == set(VALIDATED)
    one_ok = dict(all_low, coverage=0.9)
    v = verdict(one_ok, levels, VALIDATED)
    assert not v["collapsed"] and "coverage" not in v["fired"] and "recall" in v["fired"]


def test_intra_fid_level_is_a_multiple_of_the_worst_real_half_split():
    gen = torch.Generator().manual_seed(0)
    feats = torch.cat([torch.randn(200, 4, generator=gen), torch.randn(200, 4, generator=gen) * 3])
    labels = torch.arange(400) // 200
    from acgan.metrics import fid_from_features
    worst = max(fid_from_features(feats[:100], feats[100:200]), fid_from_features(feats[200:300], feats[300:]))
    assert intra_fid_level(feats, labels, 2) == pytest.approx(INTRA_FID_MULTIPLE * worst)
    assert intra_fid_level(feats, labels, 2, multiple=2) == pytest.approx(2 * worst)


def test_each_cut_keeps_what_it_says():
    """The cuts by hand on a pool whose brightness, texture and clusters are known."""
    flat = torch.arange(20, dtype=torch.uint8).mul(10).view(20, 1, 1, 1).expand(20, 1, 8, 8).contiguous()
    assert sorted(kept_rows(flat, "darkest half dropped").tolist()) == list(range(10, 20))
    striped = flat.clone()
    striped[10:, :, ::2] = 0  # rows 10-19 get stripes: the textured half
    assert (total_variation(striped)[10:] > total_variation(striped)[:10]).all()
    assert sorted(kept_rows(striped, "most textured half dropped").tolist()) == list(range(10))
    # three tight groups of sizes 8, 6 and 6, plus one image alone: the largest group goes
    groups = torch.tensor([0] * 8 + [120] * 6 + [250] * 6 + [60], dtype=torch.uint8)
    pool = groups.view(-1, 1, 1, 1).expand(-1, 1, 28, 28).contiguous()
    assert sorted(kept_rows(pool, CUTS[2]).tolist()) == list(range(8, 21))
    typical = kept_rows(flat, CUTS[3])  # 30% nearest the mean image (value 95): 60 .. 130
    assert sorted(flat[typical, 0, 0, 0].tolist()) == [70, 80, 90, 100, 110, 120]


def test_pixel_measures_detect_a_dropped_half(two_classes):
    """At CI scale in the network-free space: dropping each class's darkest half lowers recall and coverage below
    what real draws give, by more than their spread."""
    result = validate_cuts(pixel_features, *two_classes, 2, per_class=30, baseline_seeds=3, pairs=10,
                           log=lambda m: None)
    m = result["measures"]
    for name in ("recall", "coverage"):
        assert m[name]["detected"]["darkest half dropped"], (name, m[name])
        assert m[name]["by_cut"]["darkest half dropped"] < m[name]["baseline_mean"]
    assert not m["precision"]["detects_every_cut"]


def test_real_generator_of_variety_spread_never_returns_the_levels_images(split_data):
    """research/scripts/variety-spread.py's "real training images" must share no image with the real level's draw
    (else the perfect generator's reading would be inflated) and must return images of the asked class."""
    import runpy

    from acgan.config import assemble
    from acgan.data import load_data
    from acgan.evaluation.context import take_per_class

    script = runpy.run_path(str(ROOT / "research" / "scripts" / "variety-spread.py"))
    data = {"dataset": "folder", "data_dir": str(split_data)}
    train = load_data(assemble(None, data), None, split="train", progress=False)
    level, level_labels = take_per_class(train.images, train.labels, 10, 3, seed=5)
    sample = script["real_generator"](data, seed=5, per_class=10)
    labels = torch.tensor([0, 1, 2] * 10)
    images = sample(labels, None)
    assert images.shape == (30, *train.images.shape[1:]) and -1 <= images.min() and images.max() <= 1
    as_u8 = ((images + 1) * 127.5).round().to(torch.uint8)
    taken = {x.numpy().tobytes() for x in level}
    by_class = {x.numpy().tobytes(): int(y) for x, y in zip(train.images, train.labels)}
    for x, y in zip(as_u8, labels):
        key = x.numpy().tobytes()
        assert key not in taken
        assert by_class[key] == int(y)
    assert len({x.numpy().tobytes() for x in as_u8}) == 30  # no image twice


def test_pixel_spread_radius_sees_tight_groups_that_the_mean_distance_misses():
    """research/scripts/pixel-spread.py: the k-NN radius is each row's k-th nearest other row (checked by brute
    force), and a set made of tight groups (each image four times, barely moved) keeps the mean pairwise distance of a
    set of distinct images while its radius collapses; that is what lowers recall."""
    import runpy

    from acgan.metrics.prdc import pixel_features

    script = runpy.run_path(str(ROOT / "research" / "scripts" / "pixel-spread.py"))
    gen = torch.Generator().manual_seed(0)
    distinct = torch.rand(200, 1, 28, 28, generator=gen) * 2 - 1
    groups = distinct[:50].repeat_interleave(4, 0) + 0.01 * torch.randn(200, 1, 28, 28, generator=gen)
    test = torch.rand(100, 1, 28, 28, generator=gen) * 2 - 1

    f = pixel_features(distinct)
    brute = [sorted(float((f[i] - f[j]).norm()) for j in range(len(f)) if j != i)[script["K"] - 1]
             for i in range(len(f))]
    a = script["spread"](distinct, test)
    assert abs(a["median k-NN radius"] - float(torch.tensor(brute).median())) < 1e-4
    b = script["spread"](groups, test)
    assert abs(b["mean pair distance"] - a["mean pair distance"]) < 0.05 * a["mean pair distance"]
    assert b["median k-NN radius"] < 0.5 * a["median k-NN radius"]


def test_collapsed_or_far_on_generators_of_known_kind(two_classes):
    """k jittered copies of real images are collapsed, however varied their pairs look (MS-SSIM cannot tell them
    from real data); an untrained generator's samples miss real data far from it: not a collapse (precision cannot
    tell: one Bag's wide neighbourhood holds all of them); real images pass. Pixel space at 100 a class, the
    evaluation's levels for recall and coverage."""
    from acgan.config import TrainConfig
    from acgan.metrics.memorisation import near_real
    from acgan.metrics.prdc import prdc
    from acgan.models import build_models
    images, labels = two_classes
    ref_u8, ref_labels, pools = split_reference_pool(images, labels, 2, seed=0)
    torch.manual_seed(0)
    untrained = build_models(TrainConfig(g_width=16, z_dim=8), 1, 28, 2)[0].eval()
    levels = {"recall": 0.25, "coverage": 0.25}
    for c in range(2):
        real = pixel_features(ref_u8[ref_labels == c][:100])
        kinds = {k: k_mode_generator(pools[c], k, per_class=100, seed=c) for k in (1, 2, 5, "all")}
        with torch.no_grad():
            kinds["untrained"] = untrained(torch.randn(100, 8), torch.full((100,), c))
        found = {}
        for kind, fake in kinds.items():
            f = pixel_features(fake)
            near, balls = prdc(real, f, k=3), prdc(real, f, k=5)
            found[kind] = verdict({"recall": near["recall"], "coverage": balls["coverage"], "near": near_real(f, real)},
                                  levels, ("recall", "coverage"))
        assert all(found[k]["collapsed"] for k in (1, 2)), found
        assert not found["all"]["missed"] and not found["all"]["collapsed"]
        assert found["untrained"]["missed"] and found["untrained"]["far"] and not found["untrained"]["collapsed"]
