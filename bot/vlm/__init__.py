"""Model backends, prompts, and the assessment schema, parsing and rendering."""
