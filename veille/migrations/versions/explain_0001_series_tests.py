"""every series of a wave recorded: tested or why not, its tests and the verdict

Revision ID: explain_0001
Revises: 0002
Hand-written. ``detection_runs`` gains the wave's counts of tested and untested series (by
reason), the BH threshold of its news and follow-up families and the screen's cutoff;
``series_tests`` holds, per wave and indicator, one compact block of every series' test
results (``veille explain``). Waves run before this migration have neither.
"""

import sqlalchemy as sa
from alembic import op

revision = "explain_0001"
down_revision = "0002"
branch_labels = ("explain",)
depends_on = None

RUN_COLUMNS = {"n_tested": sa.Integer, "untested": sa.JSON, "bh_threshold": sa.Float,
               "n_follow_tests": sa.Integer, "follow_threshold": sa.Float,
               "screen_cutoff": sa.Float}


def upgrade() -> None:
    with op.batch_alter_table("detection_runs") as batch:
        for name, kind in RUN_COLUMNS.items():
            batch.add_column(sa.Column(name, kind, nullable=True))
    op.create_table(
        "series_tests",
        sa.Column("delivery_id", sa.Integer, sa.ForeignKey("deliveries.id"),
                  primary_key=True),
        sa.Column("indicator", sa.String(64), primary_key=True),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("n_series", sa.Integer, nullable=False),
        sa.Column("arrays", sa.LargeBinary, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
    )
    op.create_index("ix_series_tests_period", "series_tests", ["indicator", "period"])


def downgrade() -> None:
    op.drop_index("ix_series_tests_period", table_name="series_tests")
    op.drop_table("series_tests")
    with op.batch_alter_table("detection_runs") as batch:
        for name in RUN_COLUMNS:
            batch.drop_column(name)
