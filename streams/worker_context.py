"""What a worker opens on first use (never at import): the workspace's runtime, routing and
its own copy of the history, and how stage work runs off the event loop."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from streams.faust_app import env_float

log = logging.getLogger("veille.streams")
T = TypeVar("T")


@dataclass
class Context:
    runtime: Any
    name: str
    routing: Any
    history: Any
    history_lock: threading.Lock
    q: float
    chunk_tests: int
    digest_on_alert: bool
    wave_wait: float


@cache
def context() -> Context:
    from streams.waves import CHUNK_TESTS
    from thresholds.routing import Routing
    from thresholds.subscriptions import load_subscriptions
    from veille.runtime import open_runtime
    from veille.store.columnar import ColumnarHistory

    runtime = open_runtime(Path(os.environ.get("VEILLE_WORKSPACE", "workspace")))
    name = os.environ.get("VEILLE_WORKER_NAME") or socket.gethostname()
    # each worker keeps its own derived copy of the history, synced from the store
    history = ColumnarHistory(runtime.workspace.root / "worker-history" / name)
    return Context(
        runtime=runtime, name=name,
        routing=Routing.build(runtime.catalog, load_subscriptions(runtime.catalog)),
        history=history, history_lock=threading.Lock(),
        q=runtime.workspace.settings.fdr_q,
        chunk_tests=int(os.environ.get("VEILLE_CHUNK_TESTS", CHUNK_TESTS)),
        digest_on_alert=os.environ.get("VEILLE_DIGEST_ON_ALERT", "1") not in {"0", "false"},
        wave_wait=env_float("VEILLE_WAVE_WAIT", 600.0))


async def work(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Stage work runs in a thread: the loop keeps the consumer group's heartbeats going.
    Its duration is logged (info) to see where a wave's time goes."""
    started = time.perf_counter()
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    finally:
        log.info("%s: %.3f s", getattr(fn, "__name__", fn), time.perf_counter() - started)
