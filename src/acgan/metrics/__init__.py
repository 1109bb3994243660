"""Metric cores: tensors in, numbers out."""
from .fid import fid_from_features
from .inception_score import inception_score
from .ms_ssim import ms_ssim

__all__ = ["ms_ssim", "inception_score", "fid_from_features"]
