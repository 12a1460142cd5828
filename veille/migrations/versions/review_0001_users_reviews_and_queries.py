"""web accounts, review decisions (audit trail) and queries to providers

Revision ID: review_0001
Revises: 0002
Hand-written: only the tables of review/ (users, review_decisions, provider_queries).
"""

import sqlalchemy as sa
from alembic import op

revision = "review_0001"
down_revision = "0002"
branch_labels = ("review",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("commune", sa.String(40)),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("shift_id", sa.String(32), sa.ForeignKey("shifts.shift_id"), nullable=False),
        sa.Column("decision", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(40)),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous_status", sa.String(12), nullable=False),
    )
    op.create_index("ix_review_decision_shift", "review_decisions", ["shift_id", "decided_at"])
    op.create_table(
        "provider_queries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.Integer(), sa.ForeignKey("deliveries.id"), nullable=False),
        sa.Column("shift_id", sa.String(32), sa.ForeignKey("shifts.shift_id"), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("asked_by", sa.String(64), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("closed_by", sa.String(64)),
    )
    op.create_index("ix_provider_query_delivery", "provider_queries", ["delivery_id"])


def downgrade() -> None:
    op.drop_index("ix_provider_query_delivery", table_name="provider_queries")
    op.drop_table("provider_queries")
    op.drop_index("ix_review_decision_shift", table_name="review_decisions")
    op.drop_table("review_decisions")
    op.drop_table("users")
