"""Turning a finished run into plain results: ``RunResult`` (picklable data) and ``collect``."""
