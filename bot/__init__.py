"""Rehab video coach: a Telegram bot that gives timestamped feedback on home-exercise videos."""
