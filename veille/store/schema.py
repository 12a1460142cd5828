"""Tables of the system of record (SQLAlchemy Core). Alembic migrations create them.

The catalog files stay the source of truth for definitions; the store mirrors territories
and indicators so that queries (web, portrait) can join on them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

territories = Table(
    "territories", metadata,
    Column("code", String(40), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("parent", String(40)),
    Column("population", Integer),
)

indicators = Table(
    "indicators", metadata,
    Column("code", String(64), primary_key=True),
    Column("label", String(300), nullable=False),
    Column("theme", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("unit", String(40), nullable=False),
    Column("periodicity", String(16), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("polarity", String(16), nullable=False),
)

deliveries = Table(
    "deliveries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("content_hash", String(64), nullable=False, unique=True),
    Column("convention_id", String(64)),
    Column("filename", String(500), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("archive_path", String(1000), nullable=False),
    Column("report_path", String(1000)),
    Column("size_bytes", Integer, nullable=False),
    Column("rows_read", Integer, nullable=False, default=0),
    Column("observation_count", Integer, nullable=False, default=0),
    Column("secret_count", Integer, nullable=False, default=0),
    Column("revised_count", Integer, nullable=False, default=0),
    Column("problem_count", Integer, nullable=False, default=0),
    Column("periods", JSON, nullable=False, default=list),
    Column("indicators", JSON, nullable=False, default=list),
    Column("ingest_attempts", Integer, nullable=False, default=0, server_default="0"),
)

delivery_problems = Table(
    "delivery_problems", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", Integer, ForeignKey("deliveries.id"), nullable=False, index=True),
    Column("file", String(500), nullable=False),
    Column("sheet", String(200)),
    Column("line", Integer),
    Column("column", String(300)),
    Column("value", Text),
    Column("expected", Text, nullable=False),
)

delivery_attempts = Table(
    # Earlier attempts of a delivery re-processed by `veille deliveries retry`: what each
    # ended with, and where its report was kept (the current attempt is the delivery row).
    "delivery_attempts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", Integer, ForeignKey("deliveries.id"), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("convention_id", String(64)),
    Column("status", String(16), nullable=False),
    Column("rows_read", Integer, nullable=False),
    Column("problem_count", Integer, nullable=False),
    Column("report_path", String(1000)),
    Column("summary", JSON, nullable=False, default=list),
    Column("retried_at", DateTime(timezone=True), nullable=False),
    Column("retried_by", String(200)),
)

observations = Table(
    "observations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("indicator", String(64), nullable=False),
    Column("territory", String(40), nullable=False),
    Column("period", String(7), nullable=False),
    Column("value", Float),
    Column("numerator", Float),
    Column("denominator", Float),
    Column("status", String(12), nullable=False),
    Column("delivery_id", Integer, ForeignKey("deliveries.id"), nullable=False),
    Column("superseded_by", Integer),
    # delivered | rollup (sum of the parts) | estimate (QPV from IRIS shares): rollup_0001
    Column("origin", String(12), nullable=False, server_default="delivered"),
    # One index, led by what every bulk query knows (indicators and periods of a delivery);
    # each extra index costs seconds on a national delivery. It is also the natural key
    # (series, period, delivery), unique: two writers racing on one delivery cannot both
    # write it (keys_0001; veille.store.integrity).
    Index("ux_observation_key", "indicator", "period", "territory", "delivery_id",
          unique=True),
)

events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("type", String(40), nullable=False),
    Column("key", String(300), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("type", "key", name="uq_event_type_key"),
)

stage_offsets = Table(
    "stage_offsets", metadata,
    Column("stage", String(40), primary_key=True),
    Column("last_event_id", Integer, nullable=False),
)


shifts = Table(
    "shifts", metadata,
    Column("shift_id", String(32), primary_key=True),
    Column("delivery_id", Integer, ForeignKey("deliveries.id"), nullable=False),
    Column("indicator", String(64), nullable=False),
    Column("territory", String(40), nullable=False),
    Column("period", String(7), nullable=False),
    Column("last_period", String(7), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("direction", Integer, nullable=False),
    Column("good_news", Boolean),
    Column("observed", Float, nullable=False),
    Column("expected", Float, nullable=False),
    Column("interval_low", Float, nullable=False),
    Column("interval_high", Float, nullable=False),
    Column("abs_change", Float, nullable=False),
    Column("rel_change", Float),
    Column("people", Float),
    Column("p_value", Float, nullable=False),
    Column("q_value", Float, nullable=False),
    Column("method", Text, nullable=False),  # streams_0001 widened it (PostgreSQL)
    Column("baseline", String(300), nullable=False),
    Column("explained_by", String(32)),
    Column("status", String(12), nullable=False),
    Column("review_status", String(12), nullable=False),
    Column("detected_at", DateTime(timezone=True), nullable=False),
    Column("retracted_at", DateTime(timezone=True)),
    Column("retraction_reason", Text),
    Column("chart", JSON, nullable=False),
    Index("ix_shift_series", "indicator", "territory", "period"),
)

detection_runs = Table(
    "detection_runs", metadata,
    Column("delivery_id", Integer, ForeignKey("deliveries.id"), primary_key=True),
    Column("period", String(7), nullable=False),
    Column("n_series", Integer, nullable=False),
    Column("n_tests", Integer, nullable=False),
    Column("n_candidates", Integer, nullable=False),
    Column("n_shifts", Integer, nullable=False),
    Column("q", Float, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("ran_at", DateTime(timezone=True), nullable=False),
    # explain_0001: every series tested or told why not
    Column("n_tested", Integer),  # series with at least one test
    Column("untested", JSON),  # {reason code: series} (detectors.untested)
    Column("bh_threshold", Float),  # largest p the news family rejects (0: none)
    Column("n_follow_tests", Integer),  # the follow-up family's m
    Column("follow_threshold", Float),
    Column("screen_cutoff", Float),
    # explain_0002: each family's rejections (a test is rejected at p <= q (R + 1) / m)
    Column("n_rejected", Integer),  # the news family's R (None: a wave before explain_0002)
    Column("n_follow_rejected", Integer),  # the follow-up family's
)

series_tests = Table(
    "series_tests", metadata,
    Column("delivery_id", Integer, ForeignKey("deliveries.id"), primary_key=True),
    Column("indicator", String(64), primary_key=True),
    Column("period", String(7), nullable=False),
    Column("n_series", Integer, nullable=False),
    Column("arrays", LargeBinary, nullable=False),  # npz: one entry per series and test
    Column("details", JSON, nullable=False),  # confirmed tests: method, baseline, effect
    Index("ix_series_tests_period", "indicator", "period"),
)


# --- alerts and notifications (thresholds/, digests/) ---------------------------------

alerts = Table(
    "alerts", metadata,
    Column("dedup_key", String(300), primary_key=True),
    Column("cell_id", String(64), nullable=False),
    Column("subscription_id", String(100), nullable=False),
    Column("rule_kind", String(20), nullable=False),
    Column("indicator", String(64), nullable=False),
    Column("territory", String(40), nullable=False),
    Column("period", String(10), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("status", String(12), nullable=False),
    Column("shift_id", String(32)),
    Column("basis", JSON, nullable=False),
    Column("message", Text, nullable=False),
    Column("revision", Integer, nullable=False, default=0),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("retracted_at", DateTime(timezone=True)),
    Column("retraction_reason", Text),
    Column("digest_id", String(200)),
    Column("resolution_digest_id", String(200)),
    Column("retraction_digest_id", String(200)),
    Index("ix_alert_cell_status", "cell_id", "status"),
    Index("ix_alert_shift", "shift_id"),
    Index("ix_alert_digest", "digest_id"),
)

alert_state = Table(
    "alert_state", metadata,
    Column("subscription_id", String(100), primary_key=True),
    Column("territory", String(40), primary_key=True),
    Column("cell_id", String(64), nullable=False),
    Column("indicator", String(64), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("last_period", String(10), nullable=False),
    Column("prev_active", Boolean, nullable=False),
    Column("dedup_key", String(300)),
    Column("measure", Float),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

digests = Table(
    "digests", metadata,
    Column("digest_id", String(200), primary_key=True),
    Column("cell_id", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("slot", String(40), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("body_text", Text, nullable=False),
    Column("body_html", Text, nullable=False),
    Column("alert_count", Integer, nullable=False),
    Column("status", String(12), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Index("ix_digest_cell", "cell_id", "created_at"),
)

notification_outbox = Table(
    "notification_outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest_id", String(200), nullable=False),
    Column("cell_id", String(64), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("channel", String(500), nullable=False),
    Column("status", String(12), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("digest_id", "recipient", name="uq_outbox_digest_recipient"),
    Index("ix_outbox_due", "status", "next_attempt_at"),
)

notification_log = Table(
    "notification_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest_id", String(200), nullable=False),
    Column("cell_id", String(64), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("channel", String(500), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("outcome", String(12), nullable=False),
    Column("error", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_nflog_digest_recipient", "digest_id", "recipient"),
)


# --- review and web accounts (review/, portrait/) -----------------------------------------

users = Table(
    "users", metadata,
    Column("username", String(64), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(16), nullable=False),  # analyst, ccas, clspd, reader
    Column("commune", String(40)),  # ccas and clspd: the commune they belong to
    Column("scope", JSON, nullable=False, default=list),  # clspd: neighbourhood codes
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# A login opens a row here; the cookie holds only a random token whose SHA-256 is the id
# (a copy of this table opens no session). Logout revokes the row; a password change or a
# disabled account revokes every row of the account; every request checks its row.
web_sessions = Table(
    "web_sessions", metadata,
    Column("id", String(64), primary_key=True),
    Column("username", String(64), ForeignKey("users.username"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Index("ix_web_session_user", "username"),
)

# Every login attempt, known account or not: the throttle counts recent failures by account
# and by address from here.
login_attempts = Table(
    "login_attempts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("username", String(64), nullable=False),  # as typed (cut to 64 characters)
    Column("address", String(64), nullable=False),
    Column("outcome", String(12), nullable=False),  # success, failure, throttled
    Index("ix_login_attempt_user", "username", "at"),
    Index("ix_login_attempt_address", "address", "at"),
)

review_decisions = Table(
    "review_decisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("shift_id", String(32), ForeignKey("shifts.shift_id"), nullable=False),
    Column("decision", String(12), nullable=False),  # confirmed, dismissed, queried
    Column("reason", String(40)),  # dismissals: provider_error, definition_change, ...
    Column("comment", Text, nullable=False, default=""),
    Column("reviewer", String(64), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("previous_status", String(12), nullable=False),
    Index("ix_review_decision_shift", "shift_id", "decided_at"),
)

provider_queries = Table(
    "provider_queries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", Integer, ForeignKey("deliveries.id"), nullable=False),
    Column("shift_id", String(32), ForeignKey("shifts.shift_id"), nullable=False),
    Column("question", Text, nullable=False),
    Column("asked_by", String(64), nullable=False),
    Column("asked_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("closed_by", String(64)),
    Index("ix_provider_query_delivery", "delivery_id"),
)

# --- streams: the distributed runner's FDR gathering (system of record for waves in flight)

waves = Table(
    "waves", metadata,
    Column("delivery_id", Integer, ForeignKey("deliveries.id"), primary_key=True),
    Column("period", String(7), nullable=False),
    Column("indicators", JSON, nullable=False, default=list),
    Column("n_series", Integer, nullable=False),
    Column("n_tests", Integer, nullable=False),  # the BH m of the whole wave
    Column("expected_chunks", Integer, nullable=False),  # the wave's manifest
    Column("status", String(12), nullable=False),  # gathering, done
    Column("planned_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    Column("outputs", JSON, nullable=False, default=list),  # [type, key] of events produced
)

wave_tests = Table(
    "wave_tests", metadata,
    Column("delivery_id", Integer, ForeignKey("deliveries.id"), primary_key=True),
    Column("chunk", Integer, primary_key=True),
    Column("outcomes", JSON, nullable=False),  # confirmed tests with their evidence
    Column("tested_at", DateTime(timezone=True), nullable=False),
    Column("worker", String(200)),  # the worker that confirmed it (VEILLE_WORKER_NAME)
)

# --- secrecy: one mask per publication unit (linked indicators x year), persisted

secrecy_units = Table(
    "secrecy_units", metadata,
    Column("unit", String(200), primary_key=True),  # family of linked indicators | year
    Column("fingerprint", String(64), nullable=False),  # sha256 of the unit's current values
    Column("version", Integer, nullable=False),  # 1, then +1 at each revision of the unit
    Column("hidden", Integer, nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
)

secrecy_cells = Table(
    "secrecy_cells", metadata,
    Column("unit", String(200), nullable=False),
    Column("indicator", String(64), nullable=False),
    Column("territory", String(40), nullable=False),
    Column("period", String(7), nullable=False),
    Column("reason", String(16), nullable=False),  # secret, small, complementary, kept
    Column("value", Float),  # the value hidden, to audit a revision against (never shown)
    Index("ux_secrecy_cell", "indicator", "period", "territory", unique=True),
    Index("ix_secrecy_unit", "unit"),
)
