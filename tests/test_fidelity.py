"""torch-fidelity plumbing: Inception weights from a local file the test writes, and our evaluator as extractor."""
import math

import pytest
import torch
import torch_fidelity

from acgan.errors import UserError
from acgan.evaluation.evaluator import EvalNet, save_evaluator
from acgan.evaluation.evaluator.extractor import EVALUATOR_EXTRACTOR
from acgan.evaluation.evaluator.inception import find_inception_weights, random_weights_inception
from acgan.evaluation.steps.scores import Uint8Images, fidelity_metrics
from acgan.metrics import inception_score


@pytest.fixture(scope="module")
def inception_weights(tmp_path_factory):
    """A state_dict with the TF-compatible Inception's layout and random values (the real file cannot be fetched)."""
    net = random_weights_inception(["2048"])
    path = tmp_path_factory.mktemp("w") / "inception.pth"
    torch.save(net.state_dict(), path)
    return path


def images(n, seed, channels=3, size=32):
    return torch.rand(n, channels, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_missing_and_unsafe_weights_are_clear_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(UserError, match="--inception-weights PATH"):
        find_inception_weights(None)
    with pytest.raises(UserError, match="does not exist"):
        find_inception_weights(str(tmp_path / "nope.pth"))
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    torch.save({"x": Evil()}, tmp_path / "evil.pth")
    with pytest.raises(UserError, match="refusing to unpickle"):
        find_inception_weights(str(tmp_path / "evil.pth"))


@pytest.mark.slow
def test_inception_metrics_from_a_local_weights_file(inception_weights):
    fake, real = images(12, 0), images(12, 1)
    path = find_inception_weights(str(inception_weights))
    ours = fidelity_metrics(fake, real, extractor="inception-v3-compat", weights=path, cuda=False)
    direct = torch_fidelity.calculate_metrics(
        input1=Uint8Images(fake), input2=Uint8Images(real), isc=True, fid=True, cuda=False, verbose=False,
        feature_extractor="inception-v3-compat", feature_extractor_weights_path=str(inception_weights), cache=False,
        save_cpu_ram=True)
    assert math.isclose(ours["inception_score"], direct["inception_score_mean"], rel_tol=1e-6)
    assert math.isclose(ours["fid"], direct["frechet_inception_distance"], rel_tol=1e-6)
    assert ours["weights_sha256"] and ours["network"] == "inception-v3-compat"
    assert 0 <= ours["precision"] <= 1 and 0 <= ours["recall"] <= 1


def test_evaluator_registered_as_feature_extractor(tmp_path):
    torch.manual_seed(0)
    net = EvalNet(1, 4)
    save_evaluator(net, {"channels": 1, "num_classes": 4, "resolution": 16, "class_names": list("abcd")}, tmp_path)
    fake, real = images(40, 2, channels=1, size=16), images(40, 3, channels=1, size=16)
    out = fidelity_metrics(fake, real, extractor=EVALUATOR_EXTRACTOR, weights=tmp_path, cuda=False)
    # the same IS from our own core on the evaluator's logits of the same uint8-rounded images
    x = Uint8Images(fake).images[:, :1].float() / 127.5 - 1
    logits = net.eval().fc(net.features(x)).detach()
    mean, _ = inception_score(logits, splits=10, shuffle_seed=0)
    assert math.isclose(out["inception_score"], mean, rel_tol=1e-5)
    assert out["fid"] > 0
