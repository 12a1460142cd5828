"""observations unique by their natural key (series, period, delivery)

Revision ID: keys_0001
Revises: 0002
Hand-written. The one observation index becomes unique and gains the delivery id, so the
store itself refuses a second copy of a delivery's rows (two ingests racing on one file).
Rows already doubled by such a race are reported (veille.store.integrity.DuplicateKeys)
and nothing is changed; the content hash of deliveries is unique since 0001.
"""

from alembic import op

from veille.store.integrity import refuse_duplicate_observations

revision = "keys_0001"
down_revision = "0002"
branch_labels = ("keys",)
depends_on = None


def upgrade() -> None:
    refuse_duplicate_observations(op.get_bind())
    op.drop_index("ix_observation_key", table_name="observations")
    op.create_index("ux_observation_key", "observations",
                    ["indicator", "period", "territory", "delivery_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_observation_key", table_name="observations")
    op.create_index("ix_observation_key", "observations", ["indicator", "period", "territory"])
