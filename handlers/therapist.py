"""Therapist commands: /invite, /patients, /report, /resume, /timezone (every one behind the role check)."""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_skeleton
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.clinic.alerts import patient_label
from bot.clinic.invites import INVITE_VALIDITY, invite_link, new_token, token_hash
from bot.clinic.weeks import last_seven_days, zone_of
from bot.i18n import Translator
from bot.tg.context import BotContext
from bot.tg.weekly import send_patient_summary
from handlers.common import ensure_user, translator_for
from handlers.guard import find_linked_patient, therapist_only
from storage import crud_therapist
from storage.models import User
from storage.types import utcnow

logger = logging.getLogger(__name__)

FLAG_WINDOW = timedelta(days=7)


@therapist_only
async def invite(update: Update, context: BotContext, therapist: User) -> None:
    """`/invite`: a single-use deep link, valid for seven days."""
    message = update.effective_message
    assert message is not None
    tr = translator_for(update, context, therapist)
    token = new_token()
    await context.services.db(
        crud_therapist.create_invite,
        therapist_id=therapist.id,
        token_hash=token_hash(token),
        expires_at=utcnow() + INVITE_VALIDITY,
    )
    link = invite_link(context.bot.username, token)
    await message.reply_text(
        tr.gettext(
            "Send this link to one patient. It works once and expires in 7 days; when they open it and "
            "agree, they are linked to you.\n%(link)s",
            link=link,
        )
    )


def _patient_buttons(tr: Translator, patient: User) -> list[InlineKeyboardButton]:
    """Actions on one patient."""
    name = (patient.first_name or str(patient.id))[:20]
    buttons = [
        InlineKeyboardButton(tr.gettext("Plan: %(name)s", name=name), callback_data=f"rx:{patient.id}"),
        InlineKeyboardButton(tr.gettext("Report"), callback_data=f"report:{patient.id}"),
    ]
    if patient.plan_paused_at is not None:
        buttons.append(InlineKeyboardButton(tr.gettext("Resume"), callback_data=f"resume:{patient.id}"))
    return buttons


@therapist_only
async def patients(update: Update, context: BotContext, therapist: User) -> None:
    """`/patients`: each linked patient with last activity and flags, and buttons to act."""
    message = update.effective_message
    assert message is not None
    services = context.services
    tr = translator_for(update, context, therapist)
    rows = await services.db(crud_therapist.patient_overview, therapist_id=therapist.id, since=utcnow() - FLAG_WINDOW)
    if not rows:
        await message.reply_text(tr.gettext("You have no linked patients yet. Create an invite link with /invite."))
        return
    tz = zone_of(therapist, services.settings.default_timezone)
    lines, keyboard = [tr.gettext("Your patients:")], []
    for row in rows:
        last = (
            format_skeleton("MMMd", row.last_activity.astimezone(tz).date(), locale=tr.babel_locale)
            if row.last_activity
            else tr.gettext("no videos yet")
        )
        parts = [tr.gettext("last video: %(date)s", date=last)]
        if row.open_alerts:
            parts.append(tr.ngettext("%(count)s alert this week", "%(count)s alerts this week", row.open_alerts))
        if row.paused:
            parts.append(tr.gettext("plan paused"))
        lines.append(f"• {patient_label(row.patient)} — " + "; ".join(parts))
        keyboard.append(_patient_buttons(tr, row.patient))
        await services.db(crud_therapist.record_audit, actor_id=therapist.id, patient_id=row.patient.id, action="list")
    await message.reply_text("\n".join(lines), reply_markup=InlineKeyboardMarkup(keyboard))


async def _target_patient(update: Update, context: BotContext, therapist: User) -> User | None:
    """The patient named by a command argument or a button, if linked to this therapist."""
    query = update.callback_query
    reference = query.data.split(":", 1)[1] if query is not None and query.data else None
    if reference is None and context.args:
        reference = context.args[0]
    return await find_linked_patient(context, therapist, reference)


async def _answer(update: Update, text: str) -> None:
    """Reply to a command, or to a button press in its chat."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    chat = update.effective_chat
    assert chat is not None
    await update.get_bot().send_message(chat_id=chat.id, text=text)


@therapist_only
async def report(update: Update, context: BotContext, therapist: User) -> None:
    """`/report <patient>`: the summary of the last seven days, now."""
    tr = translator_for(update, context, therapist)
    patient = await _target_patient(update, context, therapist)
    if patient is None:
        await _answer(update, tr.gettext("None of your patients matches that. Use /patients to see them."))
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    tz = zone_of(therapist, context.services.settings.default_timezone)
    await send_patient_summary(
        context.services,
        context.bot,
        therapist=therapist,
        patient=patient,
        period=last_seven_days(utcnow(), tz),
        action="report",
    )


@therapist_only
async def resume(update: Update, context: BotContext, therapist: User) -> None:
    """`/resume <patient>`: lift the pause a reported fall put on the plan, and tell the patient."""
    services = context.services
    tr = translator_for(update, context, therapist)
    patient = await _target_patient(update, context, therapist)
    if patient is None:
        await _answer(update, tr.gettext("None of your patients matches that. Use /patients to see them."))
        return
    if not await services.db(crud_therapist.resume_plan, user_id=patient.id):
        await _answer(update, tr.gettext("%(patient)s's plan is not paused.", patient=patient_label(patient)))
        return
    await _answer(update, tr.gettext("%(patient)s's plan is active again.", patient=patient_label(patient)))
    patient_tr = services.translator(patient)
    await context.bot.send_message(
        chat_id=patient.id,
        text=patient_tr.gettext("Your therapist reviewed your report and resumed your plan. See it with /plan."),
    )


async def set_timezone(update: Update, context: BotContext) -> None:
    """`/timezone Area/City`: the zone summaries and dates use (anyone may set their own)."""
    message = update.effective_message
    assert message is not None
    user = await ensure_user(update, context)
    tr = translator_for(update, context, user)
    name = context.args[0] if context.args else ""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        current = user.timezone or context.services.settings.default_timezone
        await message.reply_text(
            tr.gettext(
                "Your time zone is %(zone)s. To change it, send for example /timezone Europe/Berlin.", zone=current
            )
        )
        return
    await context.services.db(crud_therapist.set_timezone, user_id=user.id, timezone=name)
    await message.reply_text(tr.gettext("Time zone set to %(zone)s.", zone=name))


def setup(application: Application) -> None:
    """Register the therapist commands and their buttons."""
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("invite", invite, filters=private))
    application.add_handler(CommandHandler("patients", patients, filters=private))
    application.add_handler(CommandHandler("report", report, filters=private))
    application.add_handler(CommandHandler("resume", resume, filters=private))
    application.add_handler(CommandHandler("timezone", set_timezone, filters=private))
    application.add_handler(CallbackQueryHandler(report, pattern=r"^report:\d+$"))
    application.add_handler(CallbackQueryHandler(resume, pattern=r"^resume:\d+$"))
