"""Studies that train several models under one folder and measure them with one evaluator: the paper's (classes
per model, resolution) and the family's (losses side by side, overlapping classes). Each writes results.json, a PNG
figure and report.html in its folder."""
from .common import measure, parse_ints
from .paper import classes_per_model, resolution

__all__ = ["classes_per_model", "resolution", "parse_ints", "measure"]
