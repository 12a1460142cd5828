"""earlier attempts of a delivery re-processed from its archive (veille deliveries retry)

Revision ID: retry_0001
Revises: 0002
Hand-written: one new table, on a branch of its own.
"""

import sqlalchemy as sa
from alembic import op

revision = "retry_0001"
down_revision = "0002"
branch_labels = ("retry",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.Integer(), sa.ForeignKey("deliveries.id"), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("convention_id", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("problem_count", sa.Integer(), nullable=False),
        sa.Column("report_path", sa.String(1000)),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("retried_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retried_by", sa.String(200)),
    )
    op.create_index("ix_delivery_attempts_delivery_id", "delivery_attempts", ["delivery_id"])


def downgrade() -> None:
    op.drop_index("ix_delivery_attempts_delivery_id", "delivery_attempts")
    op.drop_table("delivery_attempts")
