"""`mlscore data`: readers, validation, drift/skew and model checks over real datasets, and the DataReport."""
