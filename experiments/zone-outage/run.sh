#!/usr/bin/env bash
# Study 3, zone outage: reproduces results/ and the figure (about 5 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")"
for design in failover no-failover; do
    chaossim sweep "$design.yaml" --param pools.api.replicas=6,9,12,15 -n 5 --analysis \
        --metric availability --metric recovery_s --metric stuck --metric latency_p99_s --out "results/$design" "$@"
done
chaossim search failover.yaml --param pools.api.replicas=3:30 --target "availability>=0.99" --confidence 0.9 -n 5 \
    --out results/search-failover --no-progress
chaossim search no-failover.yaml --param pools.api.replicas=3:30 --target "availability>=0.99" --confidence 0.9 \
    -n 5 --out results/search-no-failover --no-progress
python plot.py
