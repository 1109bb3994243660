"""acgan: class-conditional image synthesis with AC-GAN (Odena, Olah, Shlens, ICML 2017)."""
from .sampling import load_generator

__version__ = "0.1.0"
__all__ = ["load_generator", "__version__"]
