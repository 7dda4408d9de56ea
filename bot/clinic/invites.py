"""Invite links: random single-use tokens (192 bits), stored only as hashes, valid for seven days."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from storage.models import Invite

TOKEN_BYTES = 24
INVITE_VALIDITY = timedelta(days=7)
# Telegram deep-link payloads: at most 64 characters of [A-Za-z0-9_-]; ours are exactly 32.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32}$")


class InviteProblem(StrEnum):
    """Why an invite cannot be used."""

    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    OWN = "own"


def new_token() -> str:
    """A fresh unguessable token for a deep link."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What is stored instead of the token."""
    return hashlib.sha256(token.encode("ascii", errors="replace")).hexdigest()


def looks_like_token(payload: str) -> bool:
    """True for payloads shaped like our tokens (anything else is unknown without a lookup)."""
    return bool(TOKEN_PATTERN.match(payload))


def invite_link(bot_username: str, token: str) -> str:
    """The deep link a patient opens."""
    return f"https://t.me/{bot_username}?start={token}"


def invite_problem(invite: Invite | None, *, patient_id: int, now: datetime) -> InviteProblem | None:
    """Why this invite cannot link this patient now, or None when it can."""
    if invite is None:
        return InviteProblem.UNKNOWN
    if invite.therapist_id == patient_id:
        return InviteProblem.OWN
    if invite.used_at is not None:
        return InviteProblem.USED
    if invite.expires_at <= now:
        return InviteProblem.EXPIRED
    return None
