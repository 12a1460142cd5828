"""server-side web sessions (revocable) and login attempts (throttling) (issue 18)

Revision ID: review_0002
Revises: review_0001
Hand-written: only the tables of review/.
"""

import sqlalchemy as sa
from alembic import op

revision = "review_0002"
down_revision = "review_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(64), sa.ForeignKey("users.username"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_web_session_user", "web_sessions", ["username"])
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(12), nullable=False),
    )
    op.create_index("ix_login_attempt_user", "login_attempts", ["username", "at"])
    op.create_index("ix_login_attempt_address", "login_attempts", ["address", "at"])


def downgrade() -> None:
    op.drop_index("ix_login_attempt_address", table_name="login_attempts")
    op.drop_index("ix_login_attempt_user", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_index("ix_web_session_user", table_name="web_sessions")
    op.drop_table("web_sessions")
