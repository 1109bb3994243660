"""The AC-GAN objective, checked against the formulas computed by hand in plain Python."""
import math

import torch

from acgan.losses import ACGANLoss


def log_sigmoid(x):
    return -math.log1p(math.exp(-x))


def log_softmax(row, j):
    return row[j] - math.log(sum(math.exp(v) for v in row))


SRC_R, SRC_F = [1.5, -0.3], [-2.0, 0.7]
CLS_R, CLS_F = [[2.0, 0.1, -1.0], [0.0, 0.5, 0.2]], [[-0.5, 1.0, 0.3], [0.4, 0.4, -2.0]]
Y_R, Y_F = [0, 2], [1, 0]


def outputs(src, cls):
    return torch.tensor(src), torch.tensor(cls)


def test_discriminator_loss_is_minus_ls_plus_lc():
    w = 0.7
    out = ACGANLoss(class_weight=w).discriminator(outputs(SRC_R, CLS_R), outputs(SRC_F, CLS_F),
                                                  torch.tensor(Y_R), torch.tensor(Y_F))
    # L_S = E log P(real|x_real) + E log P(fake|x_fake);  P(fake|x) = sigmoid(-logit)
    l_s = sum(log_sigmoid(s) for s in SRC_R) / 2 + sum(log_sigmoid(-s) for s in SRC_F) / 2
    # L_C over real AND fake images
    l_c = (sum(log_softmax(r, y) for r, y in zip(CLS_R, Y_R)) / 2
           + sum(log_softmax(r, y) for r, y in zip(CLS_F, Y_F)) / 2)
    assert math.isclose(out["loss"].item(), -(l_s + w * l_c), rel_tol=1e-6)
    assert math.isclose(out["d_source"].item(), -l_s, rel_tol=1e-6)
    assert math.isclose(out["d_class"].item(), -l_c, rel_tol=1e-6)
    assert out["acc_real"].item() == 0.5  # row 0 -> class 0 right, row 1 -> class 1 (wanted 2) wrong
    assert out["acc_fake"].item() == 1.0  # both fake rows argmax to their label


def test_generator_loss_is_non_saturating_minus_lc_plus_ls():
    w = 1.3
    out = ACGANLoss(class_weight=w).generator(outputs(SRC_F, CLS_F), torch.tensor(Y_F))
    source = -sum(log_sigmoid(s) for s in SRC_F) / 2  # -log D(G(z)), the non-saturating form
    l_c_fake = sum(log_softmax(r, y) for r, y in zip(CLS_F, Y_F)) / 2
    assert math.isclose(out["loss"].item(), source - w * l_c_fake, rel_tol=1e-6)


def test_bf16_logits_are_scored_in_fp32():
    src, cls = torch.tensor(SRC_F).bfloat16(), torch.tensor(CLS_F).bfloat16()
    out = ACGANLoss().generator((src, cls), torch.tensor(Y_F))
    assert out["loss"].dtype == torch.float32
