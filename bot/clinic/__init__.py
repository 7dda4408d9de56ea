"""Clinical domain rules without Telegram: safety screening, alerts, pain, summaries, invites, access."""
