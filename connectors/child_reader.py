"""The reading children's entry point: ``python -I child_reader.py KIND`` limits its own
address space and CPU time, then answers one JSON request on stdin with the reader of KIND
(``sheet``: ``sheet_child.py``, ``json``: ``json_child.py``) as JSON on stdout.

Run by ``connectors.read`` so that a hostile file costs this process only. The reader is
loaded by path, not as part of the ``connectors`` package, so the child imports nothing else
from the project and starts in tens of milliseconds.
"""

from __future__ import annotations

import importlib.util
import json
import resource
import sys
from pathlib import Path

READERS = {"sheet": "sheet_child.py", "json": "json_child.py"}


def main() -> None:
    """Limit this process, answer one request, and let any failure end it (the parent reads
    the exit status and the last line of stderr)."""
    spec = importlib.util.spec_from_file_location(
        "reader", Path(__file__).with_name(READERS[sys.argv[1]]))
    assert spec is not None and spec.loader is not None
    reader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reader)
    request = json.load(sys.stdin)
    memory = int(request["memory_mb"]) << 20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(request["seconds"]) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    json.dump(reader.read(request), sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
