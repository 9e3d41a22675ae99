"""The ``cxpreview`` import name, as installed: ``python -m cxpreview`` is the command line.

The wheel installs this folder as the top-level package ``cxpreview`` (pyproject.toml's
``package-dir``), beside ``events``, ``journal``, ``engine`` and ``adapters``."""
