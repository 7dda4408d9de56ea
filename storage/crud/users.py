"""Users: created on first contact, their language, role, consent and blocked state."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from storage.db import dialect_insert
from storage.models import (
    Role,
    User,
)
from storage.types import utcnow

logger = logging.getLogger(__name__)


def _dialect(session: Session) -> str:
    """Return the session's database dialect name."""
    return session.get_bind().dialect.name


def get_user(session: Session, *, user_id: int) -> User | None:
    """Return the user with this Telegram id, if known."""
    return session.get(User, user_id)


def get_or_create_user(
    session: Session,
    *,
    user_id: int,
    first_name: str | None,
    username: str | None,
    telegram_language: str | None,
) -> User:
    """Create the user on first contact, else refresh their Telegram profile and last-seen time."""
    now = utcnow()
    users = User.__table__  # type: ignore[attr-defined]
    statement = dialect_insert(_dialect(session), users).values(
        id=user_id,
        first_name=first_name,
        username=username,
        telegram_language=telegram_language,
        created_at=now,
        last_seen_at=now,
    )
    # An upsert, so two updates from a new user arriving together cannot collide on the key.
    statement = statement.on_conflict_do_update(
        index_elements=["id"],
        set_={
            "first_name": statement.excluded.first_name,
            "username": statement.excluded.username,
            "telegram_language": statement.excluded.telegram_language,
            "last_seen_at": statement.excluded.last_seen_at,
            "blocked_at": None,
        },
    )
    session.exec(statement)
    session.commit()
    user = session.get(User, user_id, populate_existing=True)
    assert user is not None
    return user


def set_locale(session: Session, *, user_id: int, locale: str | None) -> User | None:
    """Store the user's explicit language choice (None returns to Telegram's language)."""
    user = session.get(User, user_id)
    if user is None:
        return None
    user.locale = locale
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def set_role(session: Session, *, user_id: int, role: str) -> User | None:
    """Change a user's role (patient, therapist, admin)."""
    user = session.get(User, user_id)
    if user is None:
        return None
    user.role = role
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def ensure_therapist(session: Session, *, user_id: int) -> User:
    """Give a Telegram user the therapist role, creating the row if they never wrote to the bot."""
    user = session.get(User, user_id)
    if user is None:
        user = User(id=user_id, role=Role.THERAPIST)
        session.add(user)
    elif user.role != Role.ADMIN:
        user.role = Role.THERAPIST
    session.commit()
    session.refresh(user)
    return user


def record_consent(session: Session, *, user_id: int, at: datetime | None = None) -> User | None:
    """Record the user's consent to processing their health data; the first consent time is kept."""
    user = session.get(User, user_id)
    if user is None:
        return None
    if user.consented_at is None:
        user.consented_at = at or utcnow()
        session.add(user)
        session.commit()
        session.refresh(user)
    return user


def mark_blocked(session: Session, *, user_id: int) -> bool:
    """Remember that the user blocked the bot (Telegram answered 403)."""
    result = session.exec(
        update(User).where(col(User.id) == user_id, col(User.blocked_at).is_(None)).values(blocked_at=utcnow())
    )
    session.commit()
    return result.rowcount == 1
