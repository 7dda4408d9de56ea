"""The role check every therapist and admin command goes through, and patient lookup among linked ones."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from telegram import Update

from bot.clinic.access import is_admin, is_therapist
from bot.tg.context import BotContext
from handlers.common import ensure_user, translator_for
from storage import crud_therapist
from storage.models import User

logger = logging.getLogger(__name__)

Callback = Callable[[Update, BotContext], Awaitable[object]]
GuardedCallback = Callable[[Update, BotContext, User], Awaitable[object]]


async def _refuse(update: Update, context: BotContext, user: User, text_for: Callable[..., str]) -> None:
    """Say no without revealing anything (same words for patients, strangers and other therapists)."""
    tr = translator_for(update, context, user)
    if update.callback_query is not None:
        await update.callback_query.answer(text_for(tr), show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text_for(tr))
    logger.info("refused %s to user %s", "admin/therapist command", user.id)


def therapist_only(callback: GuardedCallback) -> Callback:
    """Run the callback only for therapists (and admins acting as therapists); passes the user in."""

    @functools.wraps(callback)
    async def guarded(update: Update, context: BotContext) -> object:
        """Check the role, then call through."""
        user = await ensure_user(update, context)
        if not is_therapist(context.services.settings, user):
            await _refuse(update, context, user, lambda tr: tr.gettext("This command is for therapists."))
            return None
        return await callback(update, context, user)

    return guarded


def admin_only(callback: GuardedCallback) -> Callback:
    """Run the callback only for admins listed in ADMIN_IDS; passes the user in."""

    @functools.wraps(callback)
    async def guarded(update: Update, context: BotContext) -> object:
        """Check the admin list, then call through."""
        user = await ensure_user(update, context)
        if not is_admin(context.services.settings, user.id):
            await _refuse(update, context, user, lambda tr: tr.gettext("This command is for administrators."))
            return None
        return await callback(update, context, user)

    return guarded


async def find_linked_patient(context: BotContext, therapist: User, reference: str | None) -> User | None:
    """A patient of this therapist by id or @username; None for anyone else (nothing leaks)."""
    if not reference:
        return None
    reference = reference.strip()
    patients = await context.services.db(crud_therapist.linked_patients, therapist_id=therapist.id)
    if reference.lstrip("-").isdigit():
        return next((p for p in patients if p.id == int(reference)), None)
    handle = reference.removeprefix("@").casefold()
    return next((p for p in patients if (p.username or "").casefold() == handle), None)
