#!/usr/bin/env bash
# A dataset written by a Ray cluster of two nodes on this machine (a head and one more
# node, one CPU each, on the loopback address), then the same dataset written by this
# machine's processes; the two must hold the same rows.  docs/dataset.md shows a run.
#
#   bash tools/ray_two_nodes.sh TEXTS.txt [LINES] [WORK_DIR]
#
# Needs `pip install "handwrite-synthesis[dataset,ray]"`.  Ray's head turns on token
# authentication; every node and driver then sends the token (~/.ray/auth_token, made by
# the head) when RAY_AUTH_MODE=token, as on a real cluster.
set -euo pipefail
texts=$(realpath "$1")
lines=${2:-200}
work=${3:-$(mktemp -d)}
port=6390
address=127.0.0.1:$port
export RAY_AUTH_MODE=token
mkdir -p "$work" && cd "$work"
rm -rf cluster local

ray stop --force >/dev/null 2>&1 || true
trap 'ray stop --force >/dev/null 2>&1 || true' EXIT
ray start --head --node-ip-address 127.0.0.1 --port "$port" --num-cpus 1 --include-dashboard false \
    --disable-usage-stats >/dev/null
ray start --address "$address" --node-ip-address 127.0.0.1 --num-cpus 1 --disable-usage-stats >/dev/null
sleep 8                                   # the second node's resources reach the head
ray status --address "$address" | sed -n '/^Active/,/^Pending/p'

# small shards, so that both nodes get several (a task takes a node's one CPU)
SECONDS=0
handwrite dataset "$texts" --out cluster --lines "$lines" --shard-lines 50 --group-lines 50 --seed 3 \
    --ray "$address"
echo "cluster: ${SECONDS} s"
ray stop --force >/dev/null

SECONDS=0
handwrite dataset "$texts" --out local --lines "$lines" --shard-lines 50 --group-lines 50 --seed 3 --workers 2
echo "local: ${SECONDS} s"

python - <<'PY'
import glob

import pyarrow.parquet as pq


def rows(folder):
    out = []
    for path in sorted(glob.glob(f"{folder}/data/*.parquet")):
        out += pq.read_table(path, columns=["text", "hand", "seed", "bias", "strokes"]).to_pylist()
    return out


a, b = rows("cluster"), rows("local")
print(f"rows: cluster {len(a)}, local {len(b)}; identical: {a == b}")
raise SystemExit(0 if a == b else 1)
PY
