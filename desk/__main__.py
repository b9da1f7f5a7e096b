"""``python -m desk`` is the ``desk`` command."""

from desk.cli import main

main()
