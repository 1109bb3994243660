"""The one exception type that reaches the user as a single line and exit status 2."""


class UserError(Exception):
    """Bad input from the user: the message says what is wrong and what to do."""


class Interrupted(Exception):
    """Training stopped on SIGINT or SIGTERM after saving a checkpoint; the CLI exits with 128 + signum."""

    def __init__(self, signum: int, message: str):
        super().__init__(message)
        self.signum = signum
