"""The command line: click commands (commands.py, audit.py, simulator.py), their views
(views.py), logs (logs.py), what every command shares (kit.py), and the one place where a
journal, a gateway and an engine are wired from settings (bootstrap.py)."""

from adapters.cli.commands import cli, main

__all__ = ["cli", "main"]
