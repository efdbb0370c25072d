"""Running cells: the pool, one cell, its environment, the suites, PostgreSQL, processes."""
