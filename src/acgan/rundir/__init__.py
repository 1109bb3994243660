"""The run-directory format: one owner for config.json's schema, checkpoints, stats, grids and split layout."""
from .checkpoints import list_checkpoints, load_checkpoint
from .directory import RunDir
from .record import RunRecord, data_difference, data_record, same_data

__all__ = ["RunDir", "RunRecord", "data_record", "data_difference", "same_data", "list_checkpoints",
           "load_checkpoint"]
