"""The scoping suite: runs inside every cell and measures how Flask-Admin scopes DB sessions.

It is a package so its helper modules import as ``scoping.*`` and cannot clash with anything
installed in a cell. It never imports the harness (``src/`` or ``tests/harness``).
"""
