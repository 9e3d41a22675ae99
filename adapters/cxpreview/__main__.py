"""``python -m cxpreview``: the command line, as the ``cxpreview`` script runs it."""

from adapters.cli import main

if __name__ == "__main__":
    main()
