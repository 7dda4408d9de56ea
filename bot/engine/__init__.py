"""Video → frames → model → feedback: the assessment use cases, moment parsing and reply texts."""
