"""Reporters turn a run's findings into text; rules never print."""
