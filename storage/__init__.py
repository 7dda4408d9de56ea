"""SQLModel tables, engine set-up, the durable job queue and the video file store."""
