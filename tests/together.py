"""Real processes that run CLI commands in step, so that a race is met in every round.

Each process imports the CLI once, says it is ready, then runs every command line it is
sent (``veille`` arguments as JSON) and prints the command's exit code. A round sends one
line to each process at the same moment: started as separate commands, their start-up
times (2-3 s of imports, varying with the load) would decide by chance whether they meet.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
READY, EXIT = "@@ready", "@@exit "

BOOT = r"""
import gc, json, sys, traceback
from cli.main import app
import cli.jobs, connectors.ingest, detectors.stage, streams.embedded  # the slow imports
print("@@ready", flush=True)
for line in sys.stdin:
    try:
        app(args=json.loads(line), prog_name="veille")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException:
        traceback.print_exc(file=sys.stdout)
        code = 99
    gc.collect()  # the command's engine and its connections go now, not at exit
    print(f"@@exit {code}", flush=True)
"""


class Racers:
    """``count`` processes sharing ``env`` (the store's URL), started and ready."""

    def __init__(self, count: int, env: dict[str, str], timeout: float = 120) -> None:
        self.timeout = timeout
        full = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="200", **env)
        self.procs = [subprocess.Popen([sys.executable, "-c", BOOT], env=full, cwd=REPO,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True)
                      for _ in range(count)]
        self.lines: list[queue.Queue[str]] = [queue.Queue() for _ in self.procs]
        for proc, lines in zip(self.procs, self.lines, strict=True):
            threading.Thread(target=self._pump, args=(proc, lines), daemon=True).start()
        for lines in self.lines:
            self._until(lines, lambda line: line == READY)

    @staticmethod
    def _pump(proc: subprocess.Popen, lines: queue.Queue[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(EXIT + "gone")

    def _until(self, lines: queue.Queue[str], done) -> list[str]:
        seen = []
        while True:
            line = lines.get(timeout=self.timeout)
            seen.append(line)
            if line == EXIT + "gone":
                raise AssertionError("process ended:\n" + "\n".join(seen))
            if done(line):
                return seen

    def round(self, commands: list[list[str]]) -> list[tuple[int, str]]:
        """Run ``commands[i]`` in process i, all at once; (exit code, output) of each, the
        output's white space made single (messages are wrapped on the terminal)."""
        for proc, args in zip(self.procs, commands, strict=True):
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(args) + "\n")
            proc.stdin.flush()
        out = []
        for lines in self.lines:
            seen = self._until(lines, lambda line: line.startswith(EXIT))
            out.append((int(seen[-1].removeprefix(EXIT)), " ".join(" ".join(seen[:-1]).split())))
        return out

    def close(self) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.close()
        for proc in self.procs:
            proc.wait(timeout=self.timeout)
