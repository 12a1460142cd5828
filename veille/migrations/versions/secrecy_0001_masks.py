"""secrecy masks persisted per publication unit

Revision ID: secrecy_0001
Revises: 0002
Hand-written. One row per unit (a family of linked indicators and a year) with the
fingerprint of the values it was computed from, and one row per hidden cell, so that every
edge shows the same mask and a restart recomputes nothing.
"""

import sqlalchemy as sa
from alembic import op

revision = "secrecy_0001"
down_revision = "0002"
branch_labels = ("secrecy",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "secrecy_units",
        sa.Column("unit", sa.String(200), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("hidden", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "secrecy_cells",
        sa.Column("unit", sa.String(200), nullable=False),
        sa.Column("indicator", sa.String(64), nullable=False),
        sa.Column("territory", sa.String(40), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
    )
    op.create_index("ux_secrecy_cell", "secrecy_cells", ["indicator", "period", "territory"],
                    unique=True)
    op.create_index("ix_secrecy_unit", "secrecy_cells", ["unit"])


def downgrade() -> None:
    op.drop_table("secrecy_cells")
    op.drop_table("secrecy_units")
