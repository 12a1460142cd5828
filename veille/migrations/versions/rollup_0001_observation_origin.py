"""observations say where their value comes from: delivered, rolled up or estimated

Revision ID: rollup_0001
Revises: 0002
Hand-written. Roll-ups (sums of a parent's parts, QPV estimates from IRIS shares) are
stored as observations of the delivery that caused them, with origin 'rollup' or
'estimate'; every row already stored was delivered.
"""

import sqlalchemy as sa
from alembic import op

revision = "rollup_0001"
down_revision = "0002"
branch_labels = ("rollup",)
depends_on = None


def upgrade() -> None:
    op.add_column("observations", sa.Column("origin", sa.String(12), nullable=False,
                                            server_default="delivered"))


def downgrade() -> None:
    with op.batch_alter_table("observations") as batch:
        batch.drop_column("origin")
