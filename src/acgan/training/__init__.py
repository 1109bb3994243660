"""Training: the step engine (loop), single runs (single_run), class splits (splits), the CLI entries (launch)."""
