"""`python -m api.cli`: the `tracker` command."""

from api.cli import main

main()
