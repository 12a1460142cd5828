"""waves in flight and their tested chunks (the distributed runner's FDR gathering)

Revision ID: streams_0001
Revises: 0002
Hand-written: only the tables of streams/.
"""

import sqlalchemy as sa
from alembic import op

revision = "streams_0001"
down_revision = "0002"
branch_labels = ("streams",)
depends_on = None


def upgrade() -> None:
    # The detectors' method text outgrew VARCHAR(200): PostgreSQL (the distributed runner's
    # store) refused such shifts where SQLite let them through.
    with op.batch_alter_table("shifts") as batch:
        batch.alter_column("method", type_=sa.Text(), existing_type=sa.String(200),
                           existing_nullable=False)
    op.create_table(
        "waves",
        sa.Column("delivery_id", sa.Integer(), sa.ForeignKey("deliveries.id"),
                  primary_key=True),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("n_series", sa.Integer(), nullable=False),
        sa.Column("n_tests", sa.Integer(), nullable=False),
        sa.Column("expected_chunks", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.Column("outputs", sa.JSON(), nullable=False),
    )
    op.create_table(
        "wave_tests",
        sa.Column("delivery_id", sa.Integer(), sa.ForeignKey("deliveries.id"),
                  primary_key=True),
        sa.Column("chunk", sa.Integer(), primary_key=True),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("tested_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("wave_tests")
    op.drop_table("waves")
    with op.batch_alter_table("shifts") as batch:
        batch.alter_column("method", type_=sa.String(200), existing_type=sa.Text(),
                           existing_nullable=False)
