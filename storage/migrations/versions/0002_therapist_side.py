"""Therapist side: when a patient was linked, summary claims, one pain report per feedback.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("linked_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("weekly_summaries") as batch:
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("pain_reports") as batch:
        batch.create_unique_constraint(op.f("uq_pain_reports_assessment_id"), ["assessment_id"])


def downgrade() -> None:
    with op.batch_alter_table("pain_reports") as batch:
        batch.drop_constraint(op.f("uq_pain_reports_assessment_id"), type_="unique")
    with op.batch_alter_table("weekly_summaries") as batch:
        batch.drop_column("claimed_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("linked_at")
