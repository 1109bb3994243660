"""Metric cores: tensors in, numbers out. Nothing here knows about runs, models or files."""
from .fid import fid_from_features
from .inception_score import inception_score
from .ms_ssim import ms_ssim
from .per_class import class_ms_ssim, distance_ratio, mean_pairwise_distance, random_pairs

__all__ = ["ms_ssim", "inception_score", "fid_from_features", "class_ms_ssim", "mean_pairwise_distance",
           "distance_ratio", "random_pairs"]
