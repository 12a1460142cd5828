"""Benchmark: how many password guesses a second an attacker gets on the site's login.

The site is the real app (``review.app``, in-process through Starlette's test client) on a
SQLite store and the demo's catalog, with a clock the attacker moves: after a refused
attempt (429) the attacker waits exactly the ``Retry-After`` it was given, otherwise it
tries again at once (the clock moves by the request's real duration). So the figures are
those of an optimal attacker, over a simulated hour or day, in seconds of real time.

Two attacks: many passwords on one account, from one address; and a spray of one
password over many account names from one address. Without the throttle, an attempt costs
one argon2 verification: that rate is measured on the first, free attempts.

    python -m benchmarks.login_throttle [--hours 1 24]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# this file's name is the package's: run as a script, its folder must not shadow it
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]

from fastapi.testclient import TestClient  # noqa: E402

from demo import generate  # noqa: E402
from review.app import create_app  # noqa: E402
from review.auth import create_user  # noqa: E402
from veille.clock import FixedClock  # noqa: E402
from veille.runtime import Runtime, open_runtime  # noqa: E402

START = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
PASSWORD = "le-bon-mot-de-passe"


@dataclass(frozen=True)
class Figures:
    """What one attack got over ``seconds`` of simulated time."""

    attack: str
    seconds: float
    checked: int  # attempts whose password was checked (answered 401 or 303)
    refused: int  # attempts refused without a check (429)
    free_rate: float  # checks a second before the throttle started (argon2's cost)

    @property
    def rate(self) -> float:
        return self.checked / self.seconds

    def line(self) -> str:
        hours = self.seconds / 3600
        return (f"{self.attack}: {self.checked} passwords checked in {hours:g} h "
                f"({self.rate:.5f} a second, {self.checked / hours:.1f} an hour; "
                f"{self.refused} attempts refused unchecked); unthrottled "
                f"{self.free_rate:.1f} a second")


def site(root: Path) -> tuple[Runtime, FixedClock, object]:
    """The demo's catalog, a fresh SQLite store, one account, the real app."""
    generate(root, seed=2026)
    clock = FixedClock(START)
    (root / "veille.yaml").write_text(f"database_url: sqlite:///{root / 'veille.db'}\n",
                                      encoding="utf-8")
    runtime = open_runtime(root, clock=clock)
    create_user(runtime.engine, runtime.catalog, username="cible", password=PASSWORD,
                role="analyst", now=START)
    return runtime, clock, create_app(runtime, session_secret="benchmark")


def attack(app: object, clock: FixedClock, *, name: str, accounts: list[str],
           seconds: float, address: str = "203.0.113.7") -> Figures:
    """Guess wrong passwords for ``seconds`` of simulated time, cycling over ``accounts``."""
    client = TestClient(app, client=(address, 40000),  # type: ignore[arg-type]
                        follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/connexion").text)
    assert token
    end = clock.now() + dt.timedelta(seconds=seconds)
    checked = refused = 0
    free_time = 0.0
    free = 0
    while clock.now() < end:
        started = time.perf_counter()
        response = client.post("/connexion", data={
            "username": accounts[(checked + refused) % len(accounts)],
            "password": f"essai-{checked + refused}", "csrf_token": token.group(1)})
        took = time.perf_counter() - started
        if response.status_code == 429:
            refused += 1
            clock.advance(dt.timedelta(seconds=int(response.headers["retry-after"])))
            continue
        assert response.status_code == 401, response.status_code
        checked += 1
        if refused == 0:
            free, free_time = free + 1, free_time + took
        clock.advance(dt.timedelta(seconds=took))
    return Figures(name, seconds, checked, refused, free / free_time if free_time else 0.0)


def run(hours: float, root: Path) -> list[Figures]:
    """Both attacks over ``hours`` of simulated time, each on a fresh store."""
    out = []
    for name, accounts in (("one account, one address", ["cible"]),
                           ("spray over 500 accounts, one address",
                            [f"compte-{i:03d}" for i in range(500)])):
        folder = root / f"{name.split()[0]}-{hours:g}h"
        runtime, clock, app = site(folder)
        out.append(attack(app, clock, name=name, accounts=accounts, seconds=hours * 3600))
        runtime.engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, nargs="+", default=[1.0, 24.0])
    args = parser.parse_args()
    logging.getLogger("veille.review.login").setLevel(logging.ERROR)  # one line per attempt
    with tempfile.TemporaryDirectory() as tmp:
        for hours in args.hours:
            for figures in run(hours, Path(tmp)):
                print(figures.line())


if __name__ == "__main__":
    main()
