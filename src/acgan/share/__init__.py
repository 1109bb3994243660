"""Sharing a trained generator: an export folder anyone can load (export.py, card.py), its ONNX graph (onnx.py),
and a local page to explore it (explore/)."""
