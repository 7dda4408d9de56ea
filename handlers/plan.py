"""`/plan`: the patient's exercises as their therapist set them."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from bot.tg.context import BotContext
from handlers.common import ensure_user, translator_for
from storage import crud_therapist


async def plan(update: Update, context: BotContext) -> None:
    """List the active prescriptions (and say if the plan is paused)."""
    message = update.effective_message
    assert message is not None
    user = await ensure_user(update, context)
    tr = translator_for(update, context, user)
    prescriptions = await context.services.db(crud_therapist.active_prescriptions, patient_id=user.id)
    if not prescriptions:
        await message.reply_text(tr.gettext("You have no exercise plan yet. Your therapist can set one for you."))
        return
    lines = [tr.gettext("Your exercise plan:")]
    for item in prescriptions:
        line = tr.ngettext(
            "• %(exercise)s — %(count)s session per week",
            "• %(exercise)s — %(count)s sessions per week",
            item.sessions_per_week or 0,
            exercise=item.exercise,
        )
        if item.focus:
            line += "\n  " + tr.gettext("Focus: %(focus)s", focus=item.focus)
        lines.append(line)
    if user.plan_paused_at is not None:
        lines.append(tr.gettext("Your plan is paused after the fall you reported, until your therapist reviews it."))
    await message.reply_text("\n".join(lines))


def setup(application: Application) -> None:
    """Register /plan."""
    application.add_handler(CommandHandler("plan", plan, filters=filters.ChatType.PRIVATE))
