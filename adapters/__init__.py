"""The outside world: the CLI (the composition root) and, in time, CXone over HTTP.

Imports engine, journal and events; nothing imports it.
"""
