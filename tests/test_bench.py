"""The benchmark harness runs and reports what it claims (no timing is asserted)."""
import torch
from torch import nn

from acgan.bench.baseline import with_plain_dropout
from acgan.bench.run import timed, train_worker
from acgan.bench.table import format_results
from acgan.config import TrainConfig
from acgan.models import build_models
from acgan.models.common import FastDropout


def test_baseline_uses_the_same_model_with_plain_dropout():
    _, d = build_models(TrainConfig(arch="paper-cifar", d_dropout=0.5), 3, 32, 10)
    plain = with_plain_dropout(d)
    assert not any(isinstance(m, FastDropout) for m in plain.modules())
    assert [m.p for m in plain.modules() if isinstance(m, nn.Dropout)] == [0.5] * 6
    assert all(torch.equal(a, b) for a, b in zip(d.state_dict().values(), plain.state_dict().values()))


def test_timed_is_the_median_per_call_after_warm_up(monkeypatch):
    """A fake clock: each timed call costs 1 s more than the one before, so the three runs of 4 calls cost 4 x
    (2.5, 6.5, 10.5) s after the 2 warm-up calls: the median per call is 6.5."""
    import acgan.bench.run as bench
    now, calls = [0.0], []

    def call():
        calls.append(1)
        now[0] += len(calls) - 2 if len(calls) > 2 else 100  # warm-up calls are slow and must not count
    monkeypatch.setattr(bench.time, "perf_counter", lambda: now[0])
    assert timed(call, torch.device("cpu"), warmup=2, iters=4, repeats=3) == 6.5
    assert len(calls) == 2 + 4 * 3


def test_train_worker_and_table():
    rows = [train_worker(loop, "dcgan-small", 16, "cpu", "fp32", 1) for loop in ("baseline", "ours")]
    assert rows[0]["loop"] == "baseline" and rows[0]["images_per_s"] > 0
    ours = rows[1]
    assert ours["flops_per_step"] > 0 and 0 < ours["mfu"] and ours["precision"] == "fp32"
    results = {"device": "cpu", "device_name": "cpu", "threads": 2, "torch": torch.__version__, "train": rows,
               "ms_ssim": [{"px": 192, "channels": 3, "pairs": 16, "ours_pairs_per_s": 10.0,
                            "pytorch_msssim_pairs_per_s": 5.0, "ratio": 2.0}],
               "features": [{"network": "evaluator (28 px)", "precision": "fp32", "images_per_s": 100.0}],
               "monitor": {"monitor_every": 500, "check_s": 0.05, "step_s": 0.05, "share": 0.002}}
    text = format_results(results)
    ratio = ours["images_per_s"] / rows[0]["images_per_s"]
    assert f"{ratio:5.2f}x" in text and "(2.00x)" in text and "0.20% of training time" in text


def test_ms_ssim_speed_times_ours_alone_without_the_reference(monkeypatch):
    """pytorch-msssim is a test extra: a user's `acgan bench` without it still runs (it stopped with
    ModuleNotFoundError on a GPU machine that lacked it)."""
    import sys

    import acgan.bench.run as bench
    calls = []

    def once(fn, device, **kw):
        calls.append(fn())
        return 1.0
    monkeypatch.setattr(bench, "timed", once)
    with_ref = bench.ms_ssim_speed(torch.device("cpu"), log=lambda m: None)
    assert [("ratio" in r) for r in with_ref] == [True, False, False]
    assert len(calls) == 4  # ours at three sizes and the reference at the large one
    monkeypatch.setitem(sys.modules, "pytorch_msssim", None)  # import now raises ImportError
    said = []
    alone = bench.ms_ssim_speed(torch.device("cpu"), log=said.append)
    assert [("ratio" in r) for r in alone] == [False] * 3 and [r["px"] for r in alone] == [192, 32, 28]
    assert "pytorch-msssim is not installed" in said[0]
    assert "pytorch-msssim" not in format_results({"device": "cpu", "device_name": "cpu", "threads": 2, "torch": "x",
                                          "train": [], "ms_ssim": alone, "features": [],
                                          "monitor": {"monitor_every": 1, "check_s": 1, "step_s": 1, "share": 0.5}})


def test_preset_rows_are_written_as_the_gpu_table_keeps_them(tmp_path):
    """`acgan bench --presets demo` times the preset's own step in a process of its own, shows it, and writes
    the row a GPU table is rebuilt from (scripts/gpu-check.sh keeps them), one per preset and mode."""
    import json

    import pytest
    from click.testing import CliRunner

    from acgan.cli import main
    out = tmp_path / "rows.json"
    res = CliRunner().invoke(main, ["bench", "--device", "cpu", "--presets", "demo", "--seconds", "0", "--out",
                                    str(out)])
    assert res.exit_code == 0, res.output
    [row] = json.loads(out.read_text())
    assert {"preset", "mode", "steps_per_s", "images_per_s", "mfu", "peak_mb", "gpu"} <= set(row)
    assert (row["preset"], row["mode"], row["shape"], row["batch"]) == ("demo", "eager", "1x28", 64)
    assert row["images_per_s"] == pytest.approx(64 * row["steps_per_s"]) and row["peak_mb"] > 0
    # MFU is the achieved rate over the measured peak (not bounded by 1 here: both are timed on a busy machine)
    assert row["mfu"] == pytest.approx(row["flops_per_step"] * row["steps_per_s"] / row["matmul_peak_flops"])
    assert row["mfu"] > 0
    assert row["gpu"].startswith("cpu: ") and f"{row['mfu']:6.1%}" in res.output


def test_preset_selection():
    import pytest

    from acgan.bench.presets import CPU_PRESETS, selection
    from acgan.config import preset_names
    from acgan.errors import UserError
    cpu, gpu = selection("cpu"), selection("gpu")
    assert set(CPU_PRESETS) <= set(preset_names()) and sorted(cpu + gpu) == selection("all") == preset_names()
    assert "modern-64-cpu" in cpu and "modern-64" in gpu and not set(cpu) & set(gpu)
    assert selection("demo, modern-64") == ["demo", "modern-64"]
    assert selection("cpu,modern-64,demo") == cpu + ["modern-64"]  # a group and names, each once
    assert selection("benchmarks/studiogan-cifar10.yaml") == ["benchmarks/studiogan-cifar10.yaml"]
    with pytest.raises(UserError, match="no preset or YAML file 'nope'"):
        selection("demo,nope")


def test_preset_options_without_presets_are_refused():
    """--set and --seconds shape the preset bench only: without --presets they would be ignored while the whole
    bench ran for minutes."""
    from click.testing import CliRunner

    from acgan.cli import main
    for extra in (["--set", "batch_size=8"], ["--seconds", "3"]):
        res = CliRunner().invoke(main, ["bench", "--device", "cpu", *extra])
        assert res.exit_code == 2 and res.output.strip().splitlines() == [
            "error: --set and --seconds go with --presets (the bench without it times fixed models)"]


def test_a_preset_is_timed_captured_and_in_the_public_loop_too():
    """On CUDA the bench times each preset three ways; on a CPU a captured row falls back and says it is eager, and
    the public loop (baseline.py) runs on the preset's own G and D. The table shows rows without FLOPs."""
    from acgan.bench.presets import format_presets, preset_worker
    captured = preset_worker("demo", "cpu", 0, ["batch_size=16"], mode="captured")
    assert (captured["mode"], captured["note"]) == ("eager", "eager; cuda_graphs off: it needs a CUDA device")
    public = preset_worker("demo", "cpu", 0, ["batch_size=16"], mode="public loop")
    assert (public["mode"], public["d_steps"], public["precision"], public["mfu"]) == ("public loop", 1, "fp32", None)
    table = format_presets([captured, public])
    assert "public loop" in table and f"{1e5 / public['steps_per_s'] / 3600:9.1f}h" in table


def test_a_captured_row_takes_the_eager_step_s_flops_and_the_public_loop_none():
    from acgan.bench.presets import with_eager_flops
    eager = {"mode": "eager", "flops_per_step": 4e9, "steps_per_s": 10.0, "matmul_peak_flops": 1e12, "mfu": 0.04}
    captured = with_eager_flops({"mode": "captured", "flops_per_step": None, "steps_per_s": 50.0,
                                 "matmul_peak_flops": 1e12, "mfu": None}, eager)
    assert (captured["flops_per_step"], captured["mfu"]) == (4e9, 4e9 * 50 / 1e12)
    public = {"mode": "public loop", "flops_per_step": None, "steps_per_s": 5.0, "matmul_peak_flops": 1e12, "mfu": None}
    assert with_eager_flops(public, eager) == public
