"""Routing and rendering figures.

1. Route 100,000 shifts against 10,000 subscriptions with the subscription index (the
   matching and the alert keys the route stage computes), and compare with a naive loop
   that checks every subscription for every shift. The naive loop is timed on a sample of
   shifts in the same run and scaled per shift (running it in full would take minutes).
2. Render 1,000 digests (grouping, French wording, charts as PNG, Jinja2 HTML and text),
   and compare with the same digests drawing their charts with matplotlib, timed on a
   sample in the same run.

    python benchmarks/routing.py [--shifts 100000] [--subscriptions 10000] [--digests 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import time
from pathlib import Path

import numpy as np

from digests.present import digest_view
from digests.render import render
from thresholds.index import ShiftFacts, SubscriptionIndex, shift_indicators, shift_rule_matches
from thresholds.routing import dedup_key
from thresholds.rules import ShiftRule
from thresholds.subscriptions import Subscription, SubscriptionSet
from veille.catalog import Catalog
from veille.model import (
    Cell,
    CellKind,
    Indicator,
    IndicatorKind,
    Member,
    Territory,
    TerritoryKind,
    Theme,
)
from veille.periods import Periodicity

KINDS = ["spike", "level_shift", "trend_change", "gap_widening"]


def synthetic_catalog(rng: np.random.Generator, communes: int = 60, quartiers: int = 12,
                      iris: int = 4, indicators: int = 80) -> Catalog:
    """An agglomeration of 60 communes x 12 quartiers x 4 IRIS and 80 indicators."""
    catalog = Catalog(root=Path("."))
    catalog.territories["200000001"] = Territory(code="200000001", kind=TerritoryKind.EPCI,
                                                 name="Agglo")
    for c in range(communes):
        code = f"{10000 + c:05d}"
        catalog.territories[code] = Territory(code=code, kind=TerritoryKind.COMMUNE,
                                              name=f"Commune {c}", parent="200000001")
        for q in range(quartiers):
            qcode = f"Q{c:03d}-{q:02d}"
            catalog.territories[qcode] = Territory(code=qcode, kind=TerritoryKind.QUARTIER,
                                                   name=f"Quartier {c}-{q}", parent=code)
            for i in range(iris):
                icode = f"{code}{q:02d}{i:02d}"
                catalog.territories[icode] = Territory(code=icode, kind=TerritoryKind.IRIS,
                                                       name=f"IRIS {icode}", parent=qcode)
    themes = list(Theme)
    for n in range(indicators):
        code = f"ind_{n:03d}"
        catalog.indicators[code] = Indicator(
            code=code, label=f"Indicateur {n}", definition="-", theme=themes[n % len(themes)],
            unit="personnes", kind=IndicatorKind.COUNT, periodicity=Periodicity.MONTHLY,
            provider="p")
    for c in range(communes):
        code = f"{10000 + c:05d}"
        for kind in (CellKind.CCAS, CellKind.CLSPD):
            cid = f"{kind.value}-{c:03d}"
            catalog.cells[cid] = Cell(id=cid, name=cid, kind=kind, scope=[code],
                                      themes=[themes[c % 6], themes[(c + 1) % 6]],
                                      members=[Member(name="m", url="mailto://m@x.example")],
                                      reviewed_only=False)
    return catalog


def synthetic_subscriptions(rng: np.random.Generator, catalog: Catalog, n: int,
                            ) -> SubscriptionSet:
    cells = list(catalog.cells.values())
    indicators = list(catalog.indicators)
    items: dict[str, Subscription] = {}
    for k in range(n):
        cell = cells[int(rng.integers(len(cells)))]
        commune = cell.scope[0]
        children = [t.code for t in catalog.children(commune)]
        scope = [commune] if rng.random() < 0.5 else [children[int(rng.integers(len(children)))]]
        by_theme = rng.random() < 0.3
        rule = ShiftRule(
            indicators=[] if by_theme else list(rng.choice(indicators, size=3, replace=False)),
            themes=[Theme(list(Theme)[int(rng.integers(6))])] if by_theme else [],
            kinds=list(rng.choice(KINDS, size=2, replace=False)) if rng.random() < 0.5 else [],
            direction="any" if rng.random() < 0.7 else "up")
        items[f"s{k:05d}"] = Subscription(id=f"s{k:05d}", owner=cell.id, scope=scope, rule=rule)
    return SubscriptionSet(items)


def synthetic_shifts(rng: np.random.Generator, catalog: Catalog, n: int) -> list[ShiftFacts]:
    territories = [t for t, v in catalog.territories.items()
                   if v.kind in (TerritoryKind.QUARTIER, TerritoryKind.COMMUNE,
                                 TerritoryKind.IRIS)]
    indicators = list(catalog.indicators)
    t_idx = rng.integers(len(territories), size=n)
    i_idx = rng.integers(len(indicators), size=n)
    k_idx = rng.integers(len(KINDS), size=n)
    direction = rng.choice([-1, 1], size=n)
    q = rng.uniform(0.0001, 0.05, size=n)
    return [ShiftFacts(indicators[i_idx[j]], territories[t_idx[j]], KINDS[k_idx[j]],
                       int(direction[j]), bool(direction[j] < 0), float(q[j]))
            for j in range(n)]


def route_indexed(index: SubscriptionIndex, shifts: list[ShiftFacts]) -> list[str]:
    keys: list[str] = []
    for facts in shifts:
        for sub in index.shift_matches(facts):
            keys.append(dedup_key(sub.owner, sub.id, facts.indicator, facts.territory,
                                  "2026-01"))
    return keys


def route_naive(catalog: Catalog, subs: SubscriptionSet, shifts: list[ShiftFacts],
                ) -> list[str]:
    """What routing costs without an index: every subscription, for every shift (each
    subscription's indicator set computed once beforehand, to be fair to the loop)."""
    wanted = {}
    for sub in subs.items.values():
        rule = sub.rule
        assert isinstance(rule, ShiftRule)
        wanted[sub.id] = shift_indicators(sub, rule, catalog, catalog.cells.get(sub.owner))
    keys: list[str] = []
    for facts in shifts:
        for sub in subs.items.values():
            if facts.indicator not in wanted[sub.id] or not catalog.within(sub.scope,
                                                                          facts.territory):
                continue
            if shift_rule_matches(sub, facts, catalog):
                keys.append(dedup_key(sub.owner, sub.id, facts.indicator, facts.territory,
                                      "2026-01"))
    return keys


def bench_routing(n_shifts: int, n_subs: int, sample: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    catalog = synthetic_catalog(rng)
    subs = synthetic_subscriptions(rng, catalog, n_subs)
    shifts = synthetic_shifts(rng, catalog, n_shifts)
    started = time.perf_counter()
    index = SubscriptionIndex.build(catalog, subs)
    build = time.perf_counter() - started
    started = time.perf_counter()
    keys = route_indexed(index, shifts)
    indexed = time.perf_counter() - started
    started = time.perf_counter()
    naive_keys = route_naive(catalog, subs, shifts[:sample])
    naive_sample = time.perf_counter() - started
    check = route_indexed(index, shifts[:sample])
    assert sorted(check) == sorted(naive_keys), "index and naive loop disagree"
    naive_total = naive_sample / sample * n_shifts
    return {"shifts": n_shifts, "subscriptions": n_subs, "alerts": len(keys),
            "index_build_s": build, "indexed_s": indexed, "naive_sample": sample,
            "naive_sample_s": naive_sample, "naive_projected_s": naive_total,
            "ratio": naive_total / indexed}


def _alert(k: int, catalog: Catalog, rng: np.random.Generator) -> dict:
    territory = f"Q{k % 60:03d}-{k % 12:02d}"
    kind = ["level", "change", "shift"][k % 3]
    value = float(rng.uniform(50, 500))
    rule: dict = {"kind": kind, "above": 40.0, "leave": 35.0, "periods": 12, "by": 15,
                  "mode": "relative"}
    basis = {"value": value, "period": "2026-01", "then": value * 0.8,
             "period_then": "2025-01", "change": 25.0, "rule": rule, "shift_id": f"x{k}",
             "shift_kind": "level_shift", "direction": 1, "observed": value,
             "expected": value * 0.7, "interval_low": value * 0.6,
             "interval_high": value * 0.8, "abs_change": value * 0.3, "rel_change": 0.43,
             "q_value": 0.004, "baseline": "10 ans", "reviewed": False}
    return {"dedup_key": f"a{k}", "rule_kind": kind, "indicator": f"ind_{k % 80:03d}",
            "territory": territory, "period": "2026-01", "severity": "warning",
            "status": "active", "shift_id": f"x{k}", "basis": basis,
            "message": f"Indicateur {k % 80} – {territory} : alerte"}


def bench_render(n_digests: int, per_digest: int, sample: int, seed: int) -> dict:
    from digests.charts import sparkline

    rng = np.random.default_rng(seed)
    catalog = synthetic_catalog(rng)
    cells = list(catalog.cells.values())
    series = [list(rng.normal(100, 10, size=24)) for _ in range(50)]
    now = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)

    def one(d: int, chart) -> int:  # type: ignore[no-untyped-def]
        alerts = [_alert(d * per_digest + j, catalog, rng) for j in range(per_digest)]
        charts = {a["dedup_key"]: chart(series[(d + j) % 50]) for j, a in enumerate(alerts)}
        view = digest_view(cells[d % len(cells)], "digest", alerts, [], catalog,
                           "https://veille.example", charts, now)
        out = render(view)
        return len(out.html) + len(out.text)

    one(0, sparkline)  # template compilation
    started = time.perf_counter()
    size = sum(one(d, sparkline) for d in range(n_digests))
    ours = time.perf_counter() - started
    _matplotlib_chart(series[0])  # import and first figure outside the timing
    started = time.perf_counter()
    for d in range(sample):
        one(d, _matplotlib_chart)
    mpl_sample = time.perf_counter() - started
    projected = mpl_sample / sample * n_digests
    return {"digests": n_digests, "alerts_per_digest": per_digest, "render_s": ours,
            "bytes": size, "matplotlib_sample": sample, "matplotlib_sample_s": mpl_sample,
            "matplotlib_projected_s": projected, "ratio": projected / ours}


def _matplotlib_chart(values: list[float]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(2.4, 0.64), dpi=100)
    ax.plot(values, color="#1f4e79")
    ax.axis("off")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shifts", type=int, default=100_000)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--naive-sample", type=int, default=200)
    parser.add_argument("--digests", type=int, default=1_000)
    parser.add_argument("--alerts-per-digest", type=int, default=8)
    parser.add_argument("--matplotlib-sample", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    r = bench_routing(args.shifts, args.subscriptions, args.naive_sample, args.seed)
    print(f"routing: {r['shifts']:,} shifts x {r['subscriptions']:,} subscriptions -> "
          f"{r['alerts']:,} alerts in {r['indexed_s']:.2f} s (index built in "
          f"{r['index_build_s']:.2f} s)")
    print(f"  naive loop: {r['naive_sample_s']:.2f} s for {r['naive_sample']} shifts -> "
          f"{r['naive_projected_s']:.0f} s projected for all; ratio naive/indexed "
          f"{r['ratio']:.0f}x; same alerts on the sample")
    d = bench_render(args.digests, args.alerts_per_digest, args.matplotlib_sample, args.seed)
    print(f"rendering: {d['digests']:,} digests x {d['alerts_per_digest']} alerts (HTML + "
          f"text + PNG charts) in {d['render_s']:.2f} s ({d['bytes'] / 1e6:.1f} MB)")
    print(f"  with matplotlib charts: {d['matplotlib_sample_s']:.2f} s for "
          f"{d['matplotlib_sample']} digests -> {d['matplotlib_projected_s']:.0f} s projected; "
          f"ratio {d['ratio']:.1f}x")


if __name__ == "__main__":
    main()
