"""Inception Score from classifier logits: exp(E_x KL(p(y|x) || p(y))), mean and std over splits.

The standard protocol (Salimans et al. 2016, as torch-fidelity does it): shuffle with a seeded permutation, cut into
`splits` equal chunks, score each chunk with its own marginal p(y), report the mean and the (population) std.
Which network produced the logits decides what the number means: record it with the result.

A reference core: the evaluation pipeline computes IS through torch-fidelity (evaluation/steps/scores.py); this function
is the independent computation the tests compare it with, and the API for logits of your own.
"""
from __future__ import annotations

import numpy as np
import torch


def inception_score(logits: torch.Tensor, splits: int = 10, shuffle_seed: int | None = 2020) -> tuple[float, float]:
    """(mean, std) of the Inception Score of `logits` [N, K]; no shuffle when shuffle_seed is None."""
    if logits.dim() != 2 or len(logits) < splits:
        raise ValueError(f"inception_score needs [N, K] logits with N >= splits ({splits}), got {tuple(logits.shape)}")
    logits = logits.double()
    if shuffle_seed is not None:
        logits = logits[torch.from_numpy(np.random.RandomState(shuffle_seed).permutation(len(logits)))]
    n = len(logits)
    log_p = logits.log_softmax(dim=1)
    scores = []
    for i in range(splits):
        chunk = log_p[i * n // splits:(i + 1) * n // splits]
        log_marginal = torch.logsumexp(chunk, dim=0) - np.log(len(chunk))
        kl = (chunk.exp() * (chunk - log_marginal)).sum(dim=1).mean()
        scores.append(kl.exp().item())
    return float(np.mean(scores)), float(np.std(scores))
