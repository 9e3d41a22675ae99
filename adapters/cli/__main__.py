"""``python -m adapters.cli``: the same as the ``cxpreview`` command."""

from adapters.cli.commands import main

if __name__ == "__main__":  # not when a worker process (verify's) imports this module again
    main()
