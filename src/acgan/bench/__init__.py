"""`acgan bench`: speed of the trainer, its baseline, the metrics and the monitor on the current device."""
