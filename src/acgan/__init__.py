"""acgan: class-conditional image synthesis with AC-GAN (Odena, Olah, Shlens, ICML 2017)."""
__version__ = "0.3.0"


def __getattr__(name: str):
    """load_generator on first use: importing a part of acgan (its data package, say) need not load the rest."""
    if name == "load_generator":
        from .sampling import load_generator
        return load_generator
    raise AttributeError(f"module 'acgan' has no attribute {name!r}")


def evaluate(generator, data, out, **options) -> dict:
    """The paper's evaluation of any class-conditional generator: `generator` is a callable (labels, z) -> images in
    [-1, 1], or a module with sample(labels, z); `data` a data-set name or a dict of config keys for the real side
    (e.g. {"dataset": "folder", "data_dir": "cifar10.zip"}); writes OUT/metrics.json and OUT/eval/. Options: z_dim
    (100), device, and every EvalOptions field (per_class, seed, evaluator, ...)."""
    from .evaluation.any_generator import evaluate_generator
    return evaluate_generator(generator, data, out, **options)


__all__ = ["load_generator", "evaluate", "__version__"]
