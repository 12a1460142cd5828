"""events name the provider's contact by id, not by its Apprise URL (issue 18)

Revision ID: events_0001
Revises: 0002
Hand-written data migration: DeliveryQuarantined and DeliveryOverdue payloads carried the
contact's Apprise URL, password included; they move to schema version 2, whose payload
names the provider instead (the notifier resolves the URL from the catalog when it sends).
"""

import sqlalchemy as sa
from alembic import op

revision = "events_0001"
down_revision = "0002"
branch_labels = ("events",)
depends_on = None

EVENTS = sa.table("events", sa.column("id", sa.Integer), sa.column("type", sa.String),
                  sa.column("payload", sa.JSON))
TYPES = ("DeliveryQuarantined", "DeliveryOverdue")


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(EVENTS.c.id, EVENTS.c.payload)
                        .where(EVENTS.c.type.in_(TYPES))).all()
    for row in rows:
        payload = dict(row.payload)
        payload.pop("contact_url", None)
        payload["schema_version"] = 2
        conn.execute(sa.update(EVENTS).where(EVENTS.c.id == row.id).values(payload=payload))


def downgrade() -> None:
    """Back to version 1 without the URL: a secret once scrubbed is not written again."""
    conn = op.get_bind()
    rows = conn.execute(sa.select(EVENTS.c.id, EVENTS.c.type, EVENTS.c.payload)
                        .where(EVENTS.c.type.in_(TYPES))).all()
    for row in rows:
        payload = dict(row.payload)
        if row.type == "DeliveryQuarantined":  # version 1 had no provider field
            payload.pop("provider", None)
        payload["schema_version"] = 1
        conn.execute(sa.update(EVENTS).where(EVENTS.c.id == row.id).values(payload=payload))
