"""Thin Telegram handlers: parse the update, call a service, reply. One module per area."""
