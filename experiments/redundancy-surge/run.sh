#!/usr/bin/env bash
# Study 1, redundancy against a surge: reproduces results/ and the figures (about 5 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")"
SURGE=faults.surge.multiplier=1:2:0.25
chaossim sweep n-plus.yaml --param "$SURGE" --param pools.gpu.replicas=4,5,6 -n 8 --out results/n-plus "$@"
chaossim sweep two-zones.yaml --param "$SURGE" -n 8 --out results/two-zones "$@"
for replicas in 4 5 6; do
    chaossim search n-plus.yaml --set pools.gpu.replicas=$replicas --param faults.surge.multiplier=1.0:3.0 \
        --tolerance 0.05 --largest --target "availability>=0.99" --confidence 0.9 -n 5 \
        --out "results/search-$replicas-replicas" --no-progress
done
chaossim search two-zones.yaml --param faults.surge.multiplier=1.0:3.0 --tolerance 0.05 --largest \
    --target "availability>=0.99" --confidence 0.9 -n 5 --out results/search-2zones --no-progress
python plot.py
