"""which worker confirmed each chunk of a wave (to see the work spread over workers)

Revision ID: streams_0002
Revises: streams_0001
Hand-written: only the tables of streams/.
"""

import sqlalchemy as sa
from alembic import op

revision = "streams_0002"
down_revision = "streams_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("wave_tests") as batch:
        batch.add_column(sa.Column("worker", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("wave_tests") as batch:
        batch.drop_column("worker")
