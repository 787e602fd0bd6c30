"""Output for people: the run directory (``files``), figures (matplotlib), the HTML report."""
