"""Evaluation: domain classifiers and the paper's metrics."""
