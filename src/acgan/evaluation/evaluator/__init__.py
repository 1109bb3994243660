"""The evaluator: a classifier of the data set's classes, trained on its real training split (net.py), stored and
found by data selection (store.py); ImageNet's Inception for synset-named classes and the TF-Inception weights
(inception.py); our evaluator as a torch-fidelity feature extractor (extractor.py)."""
from .net import EVALUATOR_EPOCHS, EvalNet, Evaluator, train_evaluator
from .store import (
    DamagedEvaluator,
    check_compatible,
    default_evaluator_dir,
    evaluator_dir_for,
    evaluator_resolution,
    get_evaluator,
    load_evaluator,
    record_evaluator_dir,
    save_evaluator,
    train_and_save,
    weak_evaluator,
)

__all__ = ["EVALUATOR_EPOCHS", "EvalNet", "Evaluator", "train_evaluator", "DamagedEvaluator", "check_compatible",
           "default_evaluator_dir", "evaluator_dir_for", "evaluator_resolution", "get_evaluator", "load_evaluator",
           "record_evaluator_dir", "save_evaluator", "train_and_save", "weak_evaluator"]
