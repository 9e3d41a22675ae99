"""``python -m adapters.cli``: the same as the ``cxpreview`` command."""

from adapters.cli.commands import main

main()
