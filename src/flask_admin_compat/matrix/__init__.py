"""From matrix.toml to cells: specs, expansion, selection, the index, freshness, shards.

Nothing here runs a cell, so listing (``nox -l``) imports only this package.
"""
