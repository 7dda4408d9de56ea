"""Telegram glue: the Application, worker pool, job delivery, progress, scheduler and sending."""
