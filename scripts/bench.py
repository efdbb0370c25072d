"""Benchmark the matrix run against venv + pip + pytest run by hand (see `nox -s bench`)."""

from bench import main

if __name__ == "__main__":
    raise SystemExit(main())
