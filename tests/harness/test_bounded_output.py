"""A cell's command that prints without end: bounded memory, a capped log that says so."""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from flask_admin_compat.run.output import LOG_HEAD_CHARS, TAIL_CHARS, Output
from flask_admin_compat.run.process import run_logged

# 60 MB in lines of 1 KB, then a last line, as a pytest that prints without end would.
PRINTS_60_MB = (
    "import sys\n"
    "line = 'x' * 1023 + '\\n'\n"
    "for _ in range(60 * 1024): sys.stdout.write(line)\n"
    "print('the last line')\n"
)
# One line of 20 MB with no newline at all.
ONE_LONG_LINE = "import sys; sys.stdout.write('y' * 20_000_000)"


def _run(tmp_path: Path, script: str) -> tuple[str, str, int]:
    log_path = tmp_path / "log.txt"
    tracemalloc.start()
    try:
        with log_path.open("w", encoding="utf-8") as log:
            done = run_logged([sys.executable, "-c", script], log=log, timeout_s=300)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert done.returncode == 0
    return log_path.read_text(encoding="utf-8"), done.output, peak


def test_output_of_60_mb_is_held_in_bounded_memory_and_the_log_is_capped(tmp_path: Path) -> None:
    """The issue's 200 MB pytest: the harness peaked at 517 MB, log.txt held all of it."""
    log, output, peak = _run(tmp_path, PRINTS_60_MB)
    assert peak < 16 * 1024 * 1024  # what it held, whatever was printed
    assert len(log) < LOG_HEAD_CHARS + TAIL_CHARS + 4096
    assert "characters of this command's output cut here" in log
    assert log.rstrip().endswith("the last line")  # the tail, where a crash says why
    assert ("x" * 1023 + "\n") * 3 in log[:8192]  # and the head, right after the command
    assert output.rstrip().endswith("the last line")
    assert len(output) < 3 * 1024 * 1024


def test_one_line_without_end_is_not_held_whole(tmp_path: Path) -> None:
    log, output, peak = _run(tmp_path, ONE_LONG_LINE)
    assert peak < 16 * 1024 * 1024
    assert len(log) < LOG_HEAD_CHARS + TAIL_CHARS + 4096
    assert "cut here" in output


def test_small_output_is_kept_whole_and_streamed(tmp_path: Path) -> None:
    log_path = tmp_path / "log.txt"
    with log_path.open("w", encoding="utf-8") as log:
        script = "import time; print('first', flush=True); time.sleep(1); print('second')"
        seen: list[str] = []

        class Echo:
            def write(self, text: str) -> None:
                seen.append(f"{time.monotonic():.3f} {text}")

            def flush(self) -> None:
                pass

        echo: Any = Echo()
        done = run_logged([sys.executable, "-c", script], log=log, timeout_s=60, echo=echo)
    assert done.output == "first\nsecond\n"
    assert log_path.read_text(encoding="utf-8").endswith("first\nsecond\n")
    pieces = [s.split(" ", 1)[1] for s in seen]
    assert "".join(pieces) == "first\nsecond\n"
    assert "second" not in pieces[0]  # echoed as it came, not when the command ended


def test_the_tail_overlapping_the_head_is_written_once(tmp_path: Path) -> None:
    log_path = tmp_path / "log.txt"
    with log_path.open("w", encoding="utf-8") as log:
        output = Output(log)
        text = "".join(f"{i:09d}\n" for i in range((LOG_HEAD_CHARS + 1000) // 10))
        for start in range(0, len(text), 4096):
            output.add(text[start : start + 4096])
        output.finish()
    assert log_path.read_text(encoding="utf-8") == text
