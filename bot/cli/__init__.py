"""The `rehab-bot` operator command line (DESIGN §11)."""
