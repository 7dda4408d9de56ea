"""Who may do what: the one place where roles and patient access are decided."""

from __future__ import annotations

from bot.config import Settings
from storage.models import Role, User


def is_admin(settings: Settings, user_id: int) -> bool:
    """Admins are listed in ADMIN_IDS."""
    return user_id in settings.admin_ids


def is_therapist(settings: Settings, user: User | None) -> bool:
    """Therapists have the role; admins may act as therapists for their own patients."""
    return user is not None and (user.role == Role.THERAPIST or is_admin(settings, user.id))


def may_read_patient(settings: Settings, viewer: User, patient: User) -> bool:
    """A patient reads only their own data; a therapist only their linked patients'."""
    if viewer.id == patient.id:
        return True
    return is_therapist(settings, viewer) and patient.therapist_id == viewer.id
