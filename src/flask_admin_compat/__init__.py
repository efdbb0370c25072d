"""Measure which Flask-Admin stacks keep database sessions scoped per request."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("flask-admin-compat")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
