"""``python -m derelay`` runs the command line."""

from derelay.cli import main

main()
