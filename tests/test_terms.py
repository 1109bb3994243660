"""The extra loss terms: the interface the loop uses (losses/terms/base.py), then each term's formula written out by
hand, alone and split over processes as torchrun splits a batch. Their resume is in test_resume.py."""
import dataclasses
import inspect

import pytest
import torch

import acgan.training.loop
from acgan.data import load_data
from acgan.errors import UserError
from acgan.losses.terms import TERMS, Peers, StepView, Term
from acgan.losses.terms.imle import _rows, nearest_real
from acgan.losses.terms.lecam import LeCam
from acgan.rundir import RunDir
from acgan.training.loop import Trainer
from acgan.training.single_run import resume, train

from .conftest import assert_same_weights


def constant_term(player: str, value: float):
    """A term that adds `weight * value` to a player's loss, so it changes the logged loss but no gradient, and
    counts its calls in its checkpointed state."""
    class Constant(Term):
        def __init__(self, weight, device, peers=Peers()):
            super().__init__(weight, device, peers)
            self.calls = torch.zeros((), dtype=torch.int64)

        def __call__(self, step: StepView):
            assert step.fake is not None and step.d_fake is not None and (player == "g" or step.d_real is not None)
            self.calls += 1
            return self.weight * torch.tensor(value), torch.tensor(value)

        def state_dict(self):
            return {"calls": self.calls.clone()}

        def load_state_dict(self, state):
            self.calls.copy_(state["calls"])
    Constant.player = player
    return Constant


def test_the_loop_runs_whatever_terms_are_registered(tiny_cfg, tmp_path, monkeypatch):
    """Terms put in the registry under the config's keys are built, added to their player's loss, logged under their
    names and checkpointed, with no change to the loop: a constant term leaves every weight as it was."""
    cfg = dataclasses.replace(tiny_cfg, tensorboard=False, log_every=1, steps=4, checkpoint_every=2, d_steps=2)
    plain = RunDir(train(cfg, tmp_path / "plain", progress=False))
    for name, player in (("lecam", "d"), ("imle", "g")):
        term = constant_term(player, 2.0)
        term.name = name
        monkeypatch.setitem(TERMS, name, term)
    cfg = dataclasses.replace(cfg, lecam=0.25, imle=1.5)
    run = RunDir(train(cfg, tmp_path / "terms", progress=False))
    state = run.load_checkpoint()[0]
    assert_same_weights(plain.load_checkpoint()[0], state, ("G", "D"))
    assert state["lecam"]["calls"] == 8 and state["imle"]["calls"] == 4  # every D step (2 a step), every G step
    for a, b in zip(plain.read_stats(), run.read_stats()):
        assert b["lecam"] == 2.0 and b["imle"] == 2.0
        # the last D step's loss is logged: its term, 0.25 x 2, on top of the objective
        assert b["d_loss"] == pytest.approx(a["d_loss"] + 0.5, abs=2e-5)
        assert b["g_loss"] == pytest.approx(a["g_loss"] + 3.0, abs=2e-5)
    (run.path / "checkpoints" / "ckpt-0000004.pt").unlink()
    resume(run.path, progress=False)
    assert run.load_checkpoint()[0]["lecam"]["calls"] == 8  # the state came back from the checkpoint at step 2
    source = inspect.getsource(acgan.training.loop)
    assert not any(name in source for name in TERMS)  # the loop names no term


def test_term_weights_are_checked_and_statistics_hold_no_graph(tiny_cfg):
    for name in TERMS:
        with pytest.raises(UserError, match=f"{name} \\(a loss term's weight\\) must be >= 0"):
            dataclasses.replace(tiny_cfg, **{name: -1.0}).validate()
    cfg = dataclasses.replace(tiny_cfg, imle=1.0, lecam=0.5)
    out = Trainer(cfg, load_data(cfg, 16)).train_step()
    assert {"imle", "lecam"} <= set(out) and not any(v.requires_grad for v in out.values())


def lecam_step(real, fake):
    return StepView(real=None, real_labels=None, fake=None, fake_labels=None, d_real=(real, None), d_fake=(fake, None))


def test_lecam_term_by_hand():
    gen = torch.Generator().manual_seed(0)
    batches = [(torch.randn(6, generator=gen) + 1, torch.randn(6, generator=gen) - 1) for _ in range(3)]
    lecam = LeCam(0.5, "cpu")
    ema_real = ema_fake = 0.0
    for t, (real, fake) in enumerate(batches, start=1):
        weighted, value = lecam(lecam_step(real, fake))
        # the authors' running means: exponential averages at decay 0.99, debiased by 1 - 0.99^t
        ema_real = 0.99 * ema_real + 0.01 * float(real.mean())
        ema_fake = 0.99 * ema_fake + 0.01 * float(fake.mean())
        a_real, a_fake = ema_real / (1 - 0.99 ** t), ema_fake / (1 - 0.99 ** t)
        expected = (sum(max(float(r) - a_fake, 0.0) ** 2 for r in real) / 6
                    + sum(max(a_real - float(f), 0.0) ** 2 for f in fake) / 6)
        assert value.item() == pytest.approx(expected, rel=1e-5)
        assert weighted.item() == pytest.approx(0.5 * expected, rel=1e-5)
    # a D that already scores real and generated images alike pays nothing; the gradient pulls the two together
    same = torch.zeros(4)
    assert LeCam(1.0, "cpu")(lecam_step(same, same))[1] == 0
    real = torch.tensor([3.0, -3.0], requires_grad=True)
    fake = torch.tensor([-3.0, 3.0], requires_grad=True)
    LeCam(1.0, "cpu")(lecam_step(real, fake))[0].backward()
    assert real.grad[0] > 0 and real.grad[1] == 0 and fake.grad[0] < 0 and fake.grad[1] == 0


def test_lecam_anchors_averaged_over_processes_are_the_whole_batch_ones():
    gen = torch.Generator().manual_seed(1)
    real, fake = torch.randn(8, generator=gen), torch.randn(8, generator=gen)
    one = LeCam(1.0, "cpu")
    one(lecam_step(real, fake))
    halves = (slice(0, 4), slice(4, 8))
    means = [torch.stack([real[s].mean(), fake[s].mean()]) for s in halves]
    for rank, part in enumerate(halves):
        # what average_ returns under torchrun
        lecam = LeCam(1.0, "cpu", Peers(rank, 2, average=lambda t: (means[0] + means[1]) / 2))
        lecam(lecam_step(real[part], fake[part]))
        assert torch.allclose(lecam.anchors(), one.anchors())


def test_nearest_real_term_by_hand():
    gen = torch.Generator().manual_seed(0)
    fake, real = torch.randn(5, 1, 4, 4, generator=gen), torch.randn(4, 1, 4, 4, generator=gen)
    fake_labels, real_labels = torch.tensor([0, 1, 0, 1, 1]), torch.tensor([1, 0, 2, 1])  # class 2: no sample

    def half(x):  # 2 x 2 means written out
        return torch.stack([x[:, :, i:i + 2, j:j + 2].mean(dim=(2, 3)) for i in (0, 2) for j in (0, 2)], -1)

    expected = []
    for i in range(4):
        same = [((half(real)[i] - half(fake)[j]) ** 2).mean() for j in range(5) if fake_labels[j] == real_labels[i]]
        if same:
            expected.append(min(same))
    assert torch.allclose(nearest_real(fake, fake_labels, real, real_labels), torch.stack(expected).mean())
    imle = TERMS["imle"](3.0, "cpu")
    weighted, value = imle(StepView(real, real_labels, fake, fake_labels))
    assert torch.allclose(value, torch.stack(expected).mean()) and torch.allclose(weighted, 3 * value)
    # only the nearest sample of each real image's class is pulled
    fake.requires_grad_(True)
    nearest_real(fake, fake_labels, real, real_labels).backward()
    pulled = {int(j) for j in range(5) if fake.grad[j].abs().sum() > 0}
    nearest = set()
    for i in (0, 1, 3):
        same = [j for j in range(5) if fake_labels[j] == real_labels[i]]
        nearest.add(min(same, key=lambda j: float(((half(real)[i] - half(fake.detach())[j]) ** 2).mean())))
    assert pulled == nearest
    assert nearest_real(real, real_labels, real, real_labels) == 0  # every real image is its own nearest sample


def test_nearest_real_split_over_processes_matches_one_process():
    """Over W slices of one batch, the processes' parts give, averaged as DDP averages gradients, the one-process
    term's gradient, and each reports the one-process value."""
    gen = torch.Generator().manual_seed(0)
    fake = torch.randn(12, 1, 4, 4, generator=gen, requires_grad=True)
    real = torch.randn(12, 1, 4, 4, generator=gen)
    fake_labels, real_labels = torch.randint(0, 3, (12,), generator=gen), torch.randint(0, 3, (12,), generator=gen)
    one = nearest_real(fake, fake_labels, real, real_labels)
    one.backward()
    world, n = 3, 4
    whole = [_rows(fake.detach(), 2), fake_labels, _rows(real, 2), real_labels]
    averaged = torch.zeros_like(fake)
    for rank in range(world):
        rows = slice(rank * n, rank * n + n)

        def gather(t):  # what all_gather of every process's slice returns: the whole tensor
            return next(w for w in whole if w[rows].shape == t.shape and torch.equal(w[rows], t.detach()))

        mine = fake.detach()[rows].clone().requires_grad_(True)
        imle = TERMS["imle"](1.0, "cpu", Peers(rank, world, gather=gather))
        part, value = imle(StepView(real[rows], real_labels[rows], mine, fake_labels[rows]))
        part.backward()
        averaged[rows] = mine.grad / world
        assert torch.allclose(value, one.detach())
    assert torch.allclose(averaged, fake.grad, atol=1e-7) and fake.grad.abs().sum() > 0
