"""``python -m analyzer.cli``: the same as the ``poolscope`` command."""

from analyzer.cli import main

main()
