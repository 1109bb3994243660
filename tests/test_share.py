"""Sharing a generator: the export folder (bit-identical samples, no pickle, Hub layout, offline from_pretrained,
split runs as one generator, a model card), ONNX parity for every architecture, and the explore page."""
import dataclasses
import io
import json
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner
from PIL import Image

import acgan
from acgan.cli import main
from acgan.errors import UserError
from acgan.exported import ExportedGenerator, load_export
from acgan.grids import row_margin
from acgan.models import ARCHS
from acgan.training.single_run import train

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def tiny_run(tiny_cfg, tmp_path):
    return train(dataclasses.replace(tiny_cfg, ema_decay=0.99, spectral_norm="both", tensorboard=False),
                 tmp_path / "run", progress=False)


def export(run, out, *extra):
    res = CliRunner().invoke(main, ["export", str(run), str(out), *extra])
    assert res.exit_code == 0, res.output
    return out


def same_z(G, n=12, seed=3):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % G.num_classes
    return labels, torch.randn(n, G.z_dim, generator=gen)


def test_an_export_samples_exactly_what_its_run_does(tiny_run, tmp_path):
    out = export(tiny_run, tmp_path / "export")
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "model.safetensors", "samples.png"]
    config = json.loads((out / "config.json").read_text())
    assert config["class_names"] == ["cat", "dog", "frog"] and config["resolution"] == 16
    assert config["z_dim"] == 8 and config["pixel_range"] == [-1.0, 1.0] and config["channels"] == 3
    assert config["weights"] == "G's exponential moving average"
    run_G, exported = acgan.load_generator(tiny_run), acgan.load_generator(out)
    labels, z = same_z(run_G)
    assert (run_G.sample(labels, z=z) - exported.sample(labels, z=z)).abs().max().item() == 0.0
    from safetensors.torch import load_file  # plain tensors, no pickle: spectral norm folded into the weights
    assert not any("parametrizations" in k for k in load_file(out / "model.safetensors"))
    for source, grid in ((tiny_run, "run.png"), (out, "export.png")):
        res = CliRunner().invoke(main, ["sample", str(source), "--per-class", "4", "--seed", "5", "--out",
                                        str(tmp_path / grid)])
        assert res.exit_code == 0, res.output
    assert np.array_equal(np.asarray(Image.open(tmp_path / "run.png")), np.asarray(Image.open(tmp_path / "export.png")))
    for G in (run_G, exported):  # classes by name too; one clear error for a class it does not have
        z = same_z(G, 2)[1]
        assert torch.equal(G.sample(["frog", 0], z=z), G.sample([2, 0], z=z))
        for bad, said in (([3], "labels must be class indices 0..2 (or class names), got 3"),
                          ([0, -1], "labels must be class indices 0..2 (or class names), got -1"),
                          (["cow"], "unknown class 'cow': this generator's classes are cat, dog, frog")):
            with pytest.raises(UserError, match=re.escape(said)):
                G.sample(bad)


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664)])
def test_every_file_of_an_export_follows_the_umask(tiny_run, tmp_path, umask, mode):
    import os
    old = os.umask(umask)
    try:  # safetensors writes 0600 files of its own; the export's weights must not be the one file others cannot read
        out = export(tiny_run, tmp_path / "export")
    finally:
        os.umask(old)
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in out.iterdir()} == \
        {name: oct(mode) for name in ("README.md", "config.json", "model.safetensors", "samples.png")}


def test_from_pretrained_offline_and_a_damaged_export(tiny_run, tmp_path, monkeypatch):
    pytest.importorskip("huggingface_hub", reason="the optional huggingface_hub (make test installs it)")
    out = export(tiny_run, tmp_path / "export")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub = ExportedGenerator.from_pretrained(str(out))
    labels, z = same_z(hub)
    assert not hub.training and torch.equal(hub.sample(labels, z=z), load_export(out).sample(labels, z=z))
    (out / "model.safetensors").write_bytes(b"not weights")
    res = CliRunner().invoke(main, ["sample", str(out), "--out", str(tmp_path / "g.png")])
    assert res.exit_code == 2 and "not a usable acgan export" in res.output and len(res.output.splitlines()) == 1


def test_a_split_run_exports_as_one_generator(split_data, tmp_path):
    run = tmp_path / "split"
    res = CliRunner().invoke(main, ["train", "--dataset", "folder", "--data-dir", str(split_data), "--resolution",
                                    "16", "--batch-size", "8", "--steps", "2", "--quiet", "--classes-per-model", "2",
                                    "--out", str(run), "--set", "g_width=8", "--set", "d_width=8"])
    assert res.exit_code == 0, res.output
    out = export(run, tmp_path / "export", "--onnx")
    assert json.loads((out / "config.json").read_text())["groups"] == [[0, 1], [2]]
    run_G, exported = acgan.load_generator(run), acgan.load_generator(out)
    labels, z = same_z(run_G)
    assert (run_G.sample(labels, z=z) - exported.sample(labels, z=z)).abs().max().item() == 0.0
    import onnxruntime
    runtime = onnxruntime.InferenceSession(str(out / "generator.onnx"), providers=["CPUExecutionProvider"])
    got = runtime.run(None, {"z": z.numpy(), "labels": labels.numpy()})[0]
    assert np.abs(got - exported.sample(labels, z=z).numpy()).max() <= 1e-4


@pytest.mark.parametrize("arch", [*sorted(ARCHS), "dcgan-small+g_class_bn"])
def test_onnx_has_both_inputs_a_free_batch_and_the_same_images(arch, tmp_path):
    pytest.importorskip("onnxruntime", reason="the optional onnxruntime (make test installs it)")
    from acgan.config import TrainConfig
    from acgan.share.onnx import export_onnx
    arch, _, flag = arch.partition("+")
    res = {"paper-cifar": 32, "paper-imagenet": 64, "biggan": 32}.get(arch, 16)
    model = dataclasses.asdict(TrainConfig(arch=arch, g_width=4, z_dim=16, embed_dim=8, attention_res=16,
                                           hierarchical_z=arch == "biggan", g_class_bn=flag == "g_class_bn"))
    G = ExportedGenerator(acgan_export=1, class_names=["a", "b", "c"], z_dim=16, channels=3, resolution=res,
                          model=model, groups=None)
    torch.manual_seed(0)
    for p in G.parameters():  # away from the init, so every layer matters
        p.data.add_(torch.randn_like(p) * 0.05)
    assert export_onnx(G, tmp_path / "g.onnx") <= 1e-4
    import onnx
    graph = onnx.load(str(tmp_path / "g.onnx")).graph
    assert [i.name for i in graph.input] == ["z", "labels"]
    assert graph.input[1].type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_the_model_card(tiny_run, tmp_path, trained_evaluator):
    res = CliRunner().invoke(main, ["evaluate", str(tiny_run), "--evaluator", str(trained_evaluator), "--per-class",
                                    "10", "--real-per-class", "10", "--pairs", "4"])
    assert res.exit_code == 0, res.output
    out = export(tiny_run, tmp_path / "export")
    card = (out / "README.md").read_text()
    meta = yaml.safe_load(card.split("---")[1])
    assert meta["library_name"] == "acgan" and "class-conditional" in meta["tags"]
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    acc = metrics["discriminability"]["generated"]["16"]["accuracy"]
    assert f"**{acc:.1%}**" in card and f"Domain FID {metrics['domain_metrics']['fid']:.2f}" in card
    assert f"FID {metrics['domain_metrics']['pixels']['fid']:.2f}" in card and "in 14 px pixels" in card
    assert "| 0 | cat |" in card and "acgan.load_generator" in card and "![" in card
    assert (out / "samples.png").is_file()


def test_an_export_evaluates_as_its_run_does_and_stays_as_shared(tiny_run, tmp_path, trained_evaluator):
    small = ["--evaluator", str(trained_evaluator), "--per-class", "10", "--real-per-class", "10", "--pairs", "4"]
    res = CliRunner().invoke(main, ["evaluate", str(tiny_run), *small])
    assert res.exit_code == 0 and "the data has no test split: its training images stand in" in res.output
    out = export(tiny_run, tmp_path / "export")
    shared = {p.name: p.read_bytes() for p in out.iterdir()}
    res = CliRunner().invoke(main, ["evaluate", str(out), *small])  # an export carries no local paths: say so
    assert res.exit_code == 2 and res.output.startswith("error: an export does not carry the path of its training "
                                                        "images"), res.output
    res = CliRunner().invoke(main, ["evaluate", str(out), "--data-dir", str(tiny_run.parent / "nothing"), *small])
    assert res.exit_code == 2 and "does not exist" in res.output, res.output
    res = CliRunner().invoke(main, ["evaluate", str(out), "--data-dir", json.loads(
        (tiny_run / "config.json").read_text())["config"]["data_dir"], *small])
    assert res.exit_code == 0, res.output
    run_m = json.loads((tiny_run / "metrics.json").read_text())
    export_m = json.loads((tmp_path / "export-eval" / "metrics.json").read_text())
    for section in ("discriminability", "diversity", "class_diversity", "domain_metrics"):
        assert export_m[section] == run_m[section], section  # the same weights, the same z: the same numbers
    assert export_m["step"] == run_m["step"] and export_m["has_generator"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == shared  # nothing written into the shared folder
    for args in (["check", str(out)], ["train", "--resume", str(out), "--steps", "9"]):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 2 and res.output.startswith(f"error: {out} is an exported generator, not a run: "), \
            res.output


def test_the_card_lists_only_keys_the_architecture_reads():
    from acgan.share.card import applies
    assert applies("g_class_bn", {"arch": "dcgan-small"}) and not applies("g_class_bn", {"arch": "biggan"})
    assert applies("attention_res", {"arch": "biggan"}) and not applies("attention_res", {"arch": "resnet"})
    assert applies("imle", {"arch": "resnet"}) and applies("lr_g", {"arch": "biggan"})


def test_export_refuses_what_it_should_not_replace(tiny_run, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    res = CliRunner().invoke(main, ["export", str(tiny_run), str(tmp_path / "taken"), "--force"])
    assert res.exit_code == 2 and "not one" in res.output and (tmp_path / "taken" / "notes.txt").is_file()
    out = export(tiny_run, tmp_path / "export")
    res = CliRunner().invoke(main, ["export", str(tiny_run), str(out)])
    assert res.exit_code == 2 and "already exists" in res.output
    export(tiny_run, out, "--force")
    twice = [str(out), "--out", str(out)]
    for args, said in (([], "name the export folder: "), (twice, "name the export folder once")):
        res = CliRunner().invoke(main, ["export", str(tiny_run), *args])
        assert res.exit_code == 2 and res.output.startswith(f"error: {said}") and res.output.count("\n") == 1, \
            res.output
    res = CliRunner().invoke(main, ["export", str(tiny_run), "--out", str(tmp_path / "spelt")])  # as other commands
    assert res.exit_code == 0 and (tmp_path / "spelt" / "model.safetensors").is_file(), res.output


def test_the_export_of_a_run_that_skipped_bad_images_evaluates(split_data, trained_evaluator, tiny_cfg, tmp_path):
    data = shutil.copytree(split_data, tmp_path / "split")
    (data / "train" / "cat" / "broken.jpg").write_bytes(b"\xff\xd8garbage")
    run = train(dataclasses.replace(tiny_cfg, data_dir=str(data), skip_bad_images=True, tensorboard=False),
                tmp_path / "run", progress=False)
    out = export(run, tmp_path / "export")
    small = ["--evaluator", str(trained_evaluator), "--per-class", "10", "--real-per-class", "10", "--pairs", "4"]
    res = CliRunner().invoke(main, ["evaluate", str(out), "--data-dir", str(data), *small])
    assert res.exit_code == 0, res.output  # was: "pass --skip-bad-images", an option evaluate does not have
    assert json.loads((tmp_path / "export-eval" / "metrics.json").read_text())["discriminability"]


@pytest.fixture
def server(tiny_run):
    from acgan.share.explore.server import make_server
    srv = make_server(acgan.load_generator(tiny_run))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def sample_grid(run, tmp_path, cls, n, seed, truncation=None):
    """What `acgan sample` writes for the same class, count, seed and truncation, less the margin where it names the
    class (the explore page names it beside the image, as text)."""
    out = tmp_path / f"sample-{cls}-{n}-{seed}-{truncation}.png"
    args = ["sample", str(run), "--classes", cls, "--per-class", str(n), "--seed", str(seed), "--out", str(out)]
    res = CliRunner().invoke(main, args + (["--truncation", str(truncation)] if truncation else []))
    assert res.exit_code == 0, res.output
    grid, margin = np.asarray(Image.open(out).convert("RGB")), row_margin([cls], 16)
    assert grid.shape[1] == margin + n * 18 + 2
    return grid[:, margin:]


def png(data):
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_explore_answers_bad_requests_and_keeps_serving(server, tiny_run, tmp_path, monkeypatch):
    from acgan.share.explore import server as explore
    monkeypatch.setattr(explore, "MAX_IMAGES", 150)  # 64 rows x 3 classes is then too many
    for query, says in (("class=cow", "unknown class 'cow'"), ("n=100000", "n must be between 1 and 64"),
                        ("seed=abc", "seed must be a whole number"), ("view=movie", "unknown view"),
                        ("truncation=lots", "truncation must be a number"),
                        ("view=style&n=64", "more than 150 images")):
        status, body = get(f"{server}/api/image?{query}")
        assert status == 400 and says in json.loads(body)["error"], (query, body)
    status, body = get(f"{server}/api/image?class=dog&n=5&seed=11&truncation=0.7")
    assert status == 200 and np.array_equal(png(body), sample_grid(tiny_run, tmp_path, "dog", 5, 11, 0.7))
    status, body = get(f"{server}/api/info")
    assert status == 200 and json.loads(body)["class_names"] == ["cat", "dog", "frog"]
    for view in ("style", "interp"):
        status, body = get(f"{server}/api/image?view={view}&n=3&seed=2&seed2=9&class=frog")
        assert status == 200 and png(body).shape[0] > 16


def dump_dom(url):
    res = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                          "--virtual-time-budget=10000", "--dump-dom", url], capture_output=True, text=True,
                         timeout=120)
    return res.stdout


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (make test installs it as root on Debian)")
def test_the_explore_page_in_chromium(server, tiny_run, tmp_path):
    """The page reads its controls from the address (as a shared link does), asks for the image they describe,
    shows it with the class named beside it (every class above its column in the style view), and shows the
    server's message for a bad request."""
    import re
    shown = []
    for cls, seed in (("dog", 4), ("frog", 9)):
        dom = dump_dom(f"{server}/?view=class&class={cls}&seed={seed}&n=5&truncation=0")
        url = re.search(r'data-url="([^"]+)"', dom)
        assert url, dom[-2000:]
        assert f'<span id="row-label">{cls}</span>' in dom and '<div id="column-labels"></div>' in dom
        url = url.group(1).replace("&amp;", "&")
        assert f"class={cls}" in url and f"seed={seed}" in url and "n=5" in url
        status, body = get(server + url)
        assert status == 200 and np.array_equal(png(body), sample_grid(tiny_run, tmp_path, cls, 5, seed))
        shown.append(png(body))
    assert not np.array_equal(shown[0], shown[1])  # another class and seed: another image
    dom = dump_dom(f"{server}/?view=style&n=2")
    columns = "".join(f'<span title="{n}"><span>{n}</span></span>' for n in ("cat", "dog", "frog"))
    assert '<span id="row-label"></span>' in dom and f'<div id="column-labels">{columns}</div>' in dom, dom[-2000:]
    dom = dump_dom(f"{server}/?class=cow")
    assert "unknown class 'cow'" in dom
