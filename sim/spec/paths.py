"""Files a scenario names, resolved against the folder of the scenario file that names them.

A trace path such as ``traces/launch.csv`` in ``studies/launch.yaml`` means
``studies/traces/launch.csv`` wherever chaossim is started from, as a path in any config file
does. The path is made absolute before validation, so the run directory's scenario.yaml names the
file that was actually read. ``builtin:`` names and absolute paths are kept as they are.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def resolve_path(path: str, base_dir: Path) -> str:
    """``path`` taken relative to ``base_dir`` (absolute, normalised); builtin: and absolute paths unchanged."""
    if path.startswith("builtin:") or os.path.isabs(path) or not path:
        return path
    return os.path.normpath(os.path.join(os.path.abspath(base_dir), path))


def resolve_trace_paths(data: Any, base_dir: Path) -> Any:
    """The raw scenario with every client's trace path resolved against ``base_dir``.

    Works on the data as read from YAML, before validation, and leaves anything malformed alone
    (validation reports it); the input is not modified.
    """
    try:
        clients = data["workload"]["clients"]
    except (TypeError, KeyError, IndexError):
        return data
    if not isinstance(clients, list):
        return data
    new_clients = []
    for client in clients:
        arrival = client.get("arrival") if isinstance(client, dict) else None
        if isinstance(arrival, dict) and arrival.get("kind") == "trace" and isinstance(arrival.get("path"), str):
            client = {**client, "arrival": {**arrival, "path": resolve_path(arrival["path"], base_dir)}}
        new_clients.append(client)
    return {**data, "workload": {**data["workload"], "clients": new_clients}}
