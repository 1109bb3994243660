"""`python -m acgan` is the `acgan` command."""
from .cli import main

main()
