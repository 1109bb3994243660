"""Training: the step engine (loop), single runs (session), class splits (splits), the CLI entries (launch)."""
