"""Every exit status the project's commands end with, named once.

Each command keeps to the meanings below, so a script can read any of them the same way:
0 is always success, 2 always bad input (nothing was done), and 1 what the command exists to
report (a harness error for ``run``, a regression for ``merge --check`` and ``compare``, a
scoping failure for ``check-app``).
"""

from __future__ import annotations

from typing import Final

OK: Final = 0
#: ``run``, ``bisect``: some cell could not be measured: the harness failed, not the stack.
HARNESS_ERROR: Final = 1
#: ``merge``: a cell that was compatible is not any more.
REGRESSION: Final = 1
#: ``check-app``: a check observed a Session kept beyond its request.
CHECK_FAILED: Final = 1
#: Bad input or nothing to do: a usage error, one line saying which file, key and value.
USAGE: Final = 2
#: ``merge``: the grid was written, but some result could not be used as it stands
#: (unreadable, or in another cell's folder): the reports folder needs a look.
DAMAGED: Final = 3
#: sysexits' EX_TEMPFAIL: another run holds the checkout; try again later.
BUSY: Final = 75
#: 128 + SIGINT: the run was interrupted; every finished cell is kept.
INTERRUPTED: Final = 130
