"""The `veille` command line. Commands stay thin: they parse options, call a job, print.

Each command group lives in its own module of this package and registers itself here; the
groups share ``cli.common`` and import only downward (stages, runners, site, core).
"""

from __future__ import annotations

import typer

from cli import (
    alerts,
    bus,
    conventions,
    deliveries,
    detect,
    explain,
    init_workspace,
    secrecy,
    web,
    workspace,
)
from cli.common import NamedErrors

app = typer.Typer(cls=NamedErrors, help="veille: social watch and alerts for social "
                  "observatories (veille sociale).", no_args_is_help=True,
                  add_completion=False)

for group in (workspace, init_workspace, conventions, deliveries, detect, explain, alerts, bus, web,
              secrecy):
    group.register(app)

if __name__ == "__main__":
    app()
