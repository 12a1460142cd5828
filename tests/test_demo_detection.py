"""The product's power test: the whole demo (generation, ingestion wave by wave, detection,
retraction, scoring against the ground truth) on the fictional territory.

What holds, strictly: the revised delivery's understated original (half the true value in a
quartier, its commune and the agglomeration) is detected as a dip on its own wave and
retracted when the rectified delivery arrives; sustained level shifts of 3 noise SDs or
more are found within their window, all but one at most (the level-shift test searches
the change's position, so its evidence accumulates wave after wave).

The issue's recall and precision targets are properties of the method, checked over ten
seeded territories in `tests/test_demo_power.py` (one territory moves recall in steps of
0.11).
"""

import io
from pathlib import Path

import pytest
import rich.console
import rich.progress
import yaml

from cli.demo_run import run_demo
from veille.runtime import open_runtime
from veille.store.deliveries import list_deliveries
from veille.store.shifts import list_shifts


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    workspace = tmp_path_factory.mktemp("demo")
    figures = run_demo(
        workspace,
        seed=2026,
        console=rich.console.Console(file=io.StringIO()),
        progress=rich.progress.Progress(disable=True),
    )
    return workspace, figures


@pytest.mark.slow
def test_demo_precision_and_data_hygiene(demo: tuple[Path, dict]) -> None:
    workspace, figures = demo
    truth = yaml.safe_load((workspace / "ground_truth.yaml").read_text(encoding="utf-8"))
    assert figures["shifts"] >= 5
    assert figures["quarantined"] == 1
    assert truth["late_delivery"]["convention"] in figures["overdue"]
    runtime = open_runtime(workspace)
    with runtime.engine.connect() as conn:
        shifts = list_shifts(conn)
        rows = list_deliveries(conn)
    quarantined = [r.filename for r in rows if r.status == "quarantined"]
    assert quarantined == [truth["malformed"]["file"]]
    brk = truth["breaks"][0]
    at_break = [
        s for s in shifts
        if s["indicator"] == brk["indicator"] and s["period"] >= str(brk["period"])
    ]
    assert not at_break, at_break


@pytest.mark.slow
def test_revision_dip_is_detected_then_retracted(demo: tuple[Path, dict]) -> None:
    workspace, figures = demo
    truth = yaml.safe_load((workspace / "ground_truth.yaml").read_text(encoding="utf-8"))
    rev = truth["revision"]
    runtime = open_runtime(workspace)
    with runtime.engine.connect() as conn:
        shifts = list_shifts(conn)
    cells = {(c["indicator"], c["territory"]) for c in rev["cells"]}
    at_revision = [s for s in shifts if (s["indicator"], s["territory"]) in cells
                   and s["period"] == str(rev["period"])]
    assert at_revision, "the understated original is news on its own wave"
    assert all(s["direction"] == -1 for s in at_revision)
    assert all(s["status"] == "retracted" for s in at_revision), at_revision
    assert figures["retractions"] >= len(at_revision) >= 1


@pytest.mark.slow
def test_sustained_level_shifts_meet_the_recall_target(demo: tuple[Path, dict]) -> None:
    _, figures = demo
    found, total = figures["recall_by_kind"]["level_shift"]
    # One territory: a level shift realised small in its noise may be missed (seed 2026's
    # commune level shift of 4 SDs came out at 2.6 SDs a month in negative-binomial noise
    # that grows with the level); the method's figure is over ten territories.
    assert total >= 3 and found >= total - 1, figures["recall_by_kind"]
