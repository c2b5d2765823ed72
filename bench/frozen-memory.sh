#!/usr/bin/env bash
# Peak RSS of a frozen classification job (random AlexNet at 227 px, full
# width, fc head on pool5 features of 4 augmented views per training image)
# on folders of non-square JPEGs of different sizes, same steps. The job
# computes the features of every training image: at 20,000 images the views
# are 20,000 x 4 x 9216 floats = 2.9 GB, which must sit in the job folder's
# feature store, not on the heap. Each run is a fresh `bench run`; peak RSS
# from GNU time. See BENCHMARKS.md.
#   bench/frozen-memory.sh [steps] [work dir] [image counts...]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-20}
work=${2:-/tmp/ceb-loader-memory}
shift $(( $# < 2 ? $# : 2 ))
counts=("$@")
[ ${#counts[@]} -eq 0 ] && counts=(2000 20000)
mkdir -p "$work"
for n in "${counts[@]}"; do
  npx tsx bench/make-jpeg-folder.ts "$work/folder-$n" "$n"
  cat > "$work/frozen-$n.json" <<JSON
{
  "name": "frozen-memory-$n",
  "seeds": [1],
  "datasets": { "folder": { "format": "folder", "root": "$work/folder-$n" } },
  "model": { "inputSize": 227, "widthMultiplier": 1 },
  "pretext": [{ "method": "random", "heldoutImages": 16 }],
  "downstream": [{ "task": "classification", "protocols": ["frozen"], "layer": "pool5", "steps": $steps, "batchSize": 32, "maxTestImages": 64 }]
}
JSON
  rm -rf "$work/frozen-results-$n"
  /usr/bin/time -v node dist/src/cli.js run "$work/frozen-$n.json" --backend wasm --results "$work/frozen-results-$n" 2> "$work/frozen-log-$n.txt"
  rss=$(grep 'Maximum resident set size' "$work/frozen-log-$n.txt" | grep -Eo '[0-9]+$')
  wall=$(grep 'Elapsed (wall clock)' "$work/frozen-log-$n.txt" | awk '{print $NF}')
  echo "images $n: peak RSS $((rss / 1024)) MiB, wall $wall (frozen classification, pool5, $steps steps of 32 at 227 px)"
done
