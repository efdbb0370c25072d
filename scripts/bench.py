"""Benchmark the matrix run against venv + pip + pytest run by hand (see `nox -s bench`)."""

from flask_admin_compat.bench import main

if __name__ == "__main__":
    raise SystemExit(main())
