"""LeCam's term for D and top-k training for G: their formulas written out by hand, then in training and resume."""
import dataclasses

import pytest
import torch

from acgan.data import load_data
from acgan.errors import UserError
from acgan.losses.lecam import LeCam
from acgan.losses.top_k import top_k_rows, top_k_share
from acgan.rundir import RunDir
from acgan.training.loop import Trainer
from acgan.training.single_run import resume, train

from .conftest import assert_same_weights


def test_lecam_term_by_hand():
    gen = torch.Generator().manual_seed(0)
    batches = [(torch.randn(6, generator=gen) + 1, torch.randn(6, generator=gen) - 1) for _ in range(3)]
    lecam = LeCam(0.5, "cpu")
    ema_real = ema_fake = 0.0
    for t, (real, fake) in enumerate(batches, start=1):
        weighted, value = lecam(real, fake)
        # the authors' running means: exponential averages at decay 0.99, debiased by 1 - 0.99^t
        ema_real = 0.99 * ema_real + 0.01 * float(real.mean())
        ema_fake = 0.99 * ema_fake + 0.01 * float(fake.mean())
        a_real, a_fake = ema_real / (1 - 0.99 ** t), ema_fake / (1 - 0.99 ** t)
        expected = (sum(max(float(r) - a_fake, 0.0) ** 2 for r in real) / 6
                    + sum(max(a_real - float(f), 0.0) ** 2 for f in fake) / 6)
        assert value.item() == pytest.approx(expected, rel=1e-5)
        assert weighted.item() == pytest.approx(0.5 * expected, rel=1e-5)
    assert lecam.anchors()[0].item() == pytest.approx(sum(0.01 * 0.99 ** (3 - t) * float(r.mean())
                                                          for t, (r, _) in enumerate(batches, 1)) / (1 - 0.99 ** 3))
    # a D that already scores real and generated images alike pays nothing; the gradient pulls the two together
    same = torch.zeros(4)
    assert LeCam(1.0, "cpu")(same, same)[1] == 0
    real = torch.tensor([3.0, -3.0], requires_grad=True)
    fake = torch.tensor([-3.0, 3.0], requires_grad=True)
    LeCam(1.0, "cpu")(real, fake)[0].backward()
    assert real.grad[0] > 0 and real.grad[1] == 0 and fake.grad[0] < 0 and fake.grad[1] == 0


def test_lecam_anchors_averaged_over_processes_are_the_whole_batch_ones():
    gen = torch.Generator().manual_seed(1)
    real, fake = torch.randn(8, generator=gen), torch.randn(8, generator=gen)
    one = LeCam(1.0, "cpu")
    one(real, fake)
    halves = [LeCam(1.0, "cpu") for _ in range(2)]
    means = [torch.stack([real[s].mean(), fake[s].mean()]) for s in (slice(0, 4), slice(4, 8))]
    for lecam, part in zip(halves, (slice(0, 4), slice(4, 8))):
        lecam(real[part], fake[part], lambda t: (means[0] + means[1]) / 2)  # what average_ returns under torchrun
        assert torch.allclose(lecam.anchors(), one.anchors())


def test_top_k_rows_and_share_by_hand():
    source = torch.tensor([0.3, -1.0, 2.0, 0.1, 1.5])
    classes = torch.arange(10.0).reshape(5, 2)
    labels = torch.tensor([0, 1, 2, 3, 4])
    (s, c), y = top_k_rows((source, classes), labels, 0.6)  # 3 of 5: the rows scored 2.0, 1.5 and 0.3
    assert sorted(y.tolist()) == [0, 2, 4]
    assert all(torch.equal(c[i], classes[y[i]]) and s[i] == source[y[i]] for i in range(3))
    assert top_k_rows((source, classes), labels, 1.0)[1] is labels
    assert top_k_rows((source, classes), labels, 0.01)[1].tolist() == [2]  # never an empty batch
    assert [top_k_share(0.5, t, 100) for t in (0, 25, 50, 99)] == [1.0, 0.75, 0.5, 0.5]


def test_lecam_and_top_k_train_and_resume_bit_identically(tiny_cfg, tmp_path):
    cfg = dataclasses.replace(tiny_cfg, lecam=0.3, top_k=0.5, tensorboard=False, steps=6, checkpoint_every=3)
    a = RunDir(train(cfg, tmp_path / "straight", progress=False)).load_checkpoint()[0]
    # the share kept follows the run's length, as a linear rate schedule does: stopped after step 3, not cut short
    interrupted = train(cfg, tmp_path / "cut", progress=False)
    (RunDir(interrupted).path / "checkpoints" / "ckpt-0000006.pt").unlink()
    resume(interrupted, progress=False)
    b = RunDir(interrupted).load_checkpoint()[0]
    assert_same_weights(a, b)
    assert torch.equal(a["lecam"]["sums"], b["lecam"]["sums"]) and a["lecam"]["count"] == 6
    rows = RunDir(tmp_path / "straight").read_stats()
    assert all(r["lecam"] >= 0 for r in rows) and any(r["lecam"] > 0 for r in rows)
    trainer = Trainer(cfg, load_data(cfg, 16))
    trainer.step = cfg.steps  # past mid-run: G's step sees half of its batch
    seen = []
    loss = trainer.loss.generator
    trainer.loss.generator = lambda out, labels: seen.append(len(labels)) or loss(out, labels)
    trainer.train_step()
    assert seen == [cfg.batch_size // 2]
    for key, bad, message in (("lecam", -1.0, "lecam must be >= 0"), ("top_k", 0.0, "top_k must be in"),
                              ("top_k", 1.5, "top_k must be in")):
        with pytest.raises(UserError, match=message):
            dataclasses.replace(cfg, **{key: bad}).validate()
