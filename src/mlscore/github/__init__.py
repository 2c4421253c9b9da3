"""GitHub Actions integration: event reading, workflow commands and files, the sticky PR comment."""
