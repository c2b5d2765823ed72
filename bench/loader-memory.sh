#!/usr/bin/env bash
# Peak RSS of a pretext job (context encoder, AlexNet at 227 px, full width)
# streaming from a folder of 2,000 and of 20,000 non-square JPEGs, same steps.
# Each run is a fresh `bench run`; peak RSS from GNU time. See BENCHMARKS.md.
#   bench/loader-memory.sh [steps] [work dir]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-10}
work=${2:-/tmp/ceb-loader-memory}
mkdir -p "$work"
for n in 2000 20000; do
  npx tsx bench/make-jpeg-folder.ts "$work/folder-$n" "$n"
  cat > "$work/exp-$n.json" <<JSON
{
  "name": "loader-memory-$n",
  "seeds": [1],
  "datasets": { "folder": { "format": "folder", "root": "$work/folder-$n" } },
  "model": { "inputSize": 227, "widthMultiplier": 1 },
  "pretext": [{ "method": "context-encoder", "mask": "center", "steps": $steps, "batchSize": 16, "heldoutImages": 16, "logEvery": 1 }]
}
JSON
  rm -rf "$work/results-$n"
  /usr/bin/time -v node dist/src/cli.js run "$work/exp-$n.json" --backend wasm --results "$work/results-$n" 2> "$work/log-$n.txt"
  rss=$(grep 'Maximum resident set size' "$work/log-$n.txt" | grep -Eo '[0-9]+$')
  echo "images $n: peak RSS $((rss / 1024)) MiB ($steps steps of 16 at 227 px)"
done
