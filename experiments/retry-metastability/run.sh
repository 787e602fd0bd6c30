#!/usr/bin/env bash
# Study 2, retry policies against metastable failure: reproduces results/, thresholds.md and the figure
# (about 5 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")"
for policy in no-retries retry-3 retry-3-jitter retry-budget retry-token-bucket lifo-drop; do
    chaossim sweep "$policy.yaml" --param faults.capacity-loss.duration_s=5,10,20,40 \
        --param workload.clients.users.arrival.rate_rps=16,22,28,34 -n 3 --analysis \
        --metric stuck --metric availability --metric recovery_s --out "results/$policy" "$@"
done
python thresholds.py
