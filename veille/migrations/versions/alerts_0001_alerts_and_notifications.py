"""alerts, hysteresis state, digests, notification outbox and notification log

Revision ID: alerts_0001
Revises: 0002
Hand-written: only the tables of thresholds/ and digests/.
"""

import sqlalchemy as sa
from alembic import op

revision = "alerts_0001"
down_revision = "0002"
branch_labels = ("alerts",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("dedup_key", sa.String(300), primary_key=True),
        sa.Column("cell_id", sa.String(64), nullable=False),
        sa.Column("subscription_id", sa.String(100), nullable=False),
        sa.Column("rule_kind", sa.String(20), nullable=False),
        sa.Column("indicator", sa.String(64), nullable=False),
        sa.Column("territory", sa.String(40), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("shift_id", sa.String(32)),
        sa.Column("basis", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("retracted_at", sa.DateTime(timezone=True)),
        sa.Column("retraction_reason", sa.Text()),
        sa.Column("digest_id", sa.String(200)),
        sa.Column("resolution_digest_id", sa.String(200)),
        sa.Column("retraction_digest_id", sa.String(200)),
    )
    op.create_index("ix_alert_cell_status", "alerts", ["cell_id", "status"])
    op.create_index("ix_alert_shift", "alerts", ["shift_id"])
    op.create_index("ix_alert_digest", "alerts", ["digest_id"])
    op.create_table(
        "alert_state",
        sa.Column("subscription_id", sa.String(100), primary_key=True),
        sa.Column("territory", sa.String(40), primary_key=True),
        sa.Column("cell_id", sa.String(64), nullable=False),
        sa.Column("indicator", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_period", sa.String(10), nullable=False),
        sa.Column("prev_active", sa.Boolean(), nullable=False),
        sa.Column("dedup_key", sa.String(300)),
        sa.Column("measure", sa.Float()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "digests",
        sa.Column("digest_id", sa.String(200), primary_key=True),
        sa.Column("cell_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("slot", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("alert_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_digest_cell", "digests", ["cell_id", "created_at"])
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("digest_id", sa.String(200), nullable=False),
        sa.Column("cell_id", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(500), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("digest_id", "recipient", name="uq_outbox_digest_recipient"),
    )
    op.create_index("ix_outbox_due", "notification_outbox", ["status", "next_attempt_at"])
    op.create_table(
        "notification_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("digest_id", sa.String(200), nullable=False),
        sa.Column("cell_id", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(500), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_nflog_digest_recipient", "notification_log", ["digest_id", "recipient"])


def downgrade() -> None:
    op.drop_index("ix_nflog_digest_recipient", "notification_log")
    op.drop_table("notification_log")
    op.drop_index("ix_outbox_due", "notification_outbox")
    op.drop_table("notification_outbox")
    op.drop_index("ix_digest_cell", "digests")
    op.drop_table("digests")
    op.drop_table("alert_state")
    op.drop_index("ix_alert_digest", "alerts")
    op.drop_index("ix_alert_shift", "alerts")
    op.drop_index("ix_alert_cell_status", "alerts")
    op.drop_table("alerts")
