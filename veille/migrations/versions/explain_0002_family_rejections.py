"""each wave's number of rejections in its news and follow-up families

Revision ID: explain_0002
Revises: explain_0001
Hand-written. ``detection_runs`` gains ``n_rejected`` and ``n_follow_rejected``: with m tests
and R rejections, Benjamini-Hochberg at q rejects any test whose p-value is at most
q (R + 1) / m — what ``veille explain`` says a series needed. Waves run before this
migration have neither (the explanation then names the largest p rejected).
"""

import sqlalchemy as sa
from alembic import op

revision = "explain_0002"
down_revision = "explain_0001"
branch_labels = None
depends_on = None

RUN_COLUMNS = ("n_rejected", "n_follow_rejected")


def upgrade() -> None:
    with op.batch_alter_table("detection_runs") as batch:
        for name in RUN_COLUMNS:
            batch.add_column(sa.Column(name, sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("detection_runs") as batch:
        for name in RUN_COLUMNS:
            batch.drop_column(name)
