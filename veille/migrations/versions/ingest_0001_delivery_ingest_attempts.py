"""count the ingest attempts of each delivery (a file that kills the process is set aside)

Revision ID: ingest_0001
Revises: 0002
Hand-written: one column of deliveries, on a branch of its own.
"""

import sqlalchemy as sa
from alembic import op

revision = "ingest_0001"
down_revision = "0002"
branch_labels = ("ingest",)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("ingest_attempts", sa.Integer(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("ingest_attempts")
