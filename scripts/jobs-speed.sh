#!/usr/bin/env bash
# Times `bench run` of an experiment (default: the smoke) with --jobs 1 and
# --jobs N (default 2), one after the other from empty results folders, and
# checks that both give the same numbers. Prints both wall times and the
# speed-up. Results go to scratch/jobs-speed/ (git-ignored).
#
#   scripts/jobs-speed.sh [experiment.json] [N]
#
# Run it on a quiet machine: any other load shifts both times.
set -euo pipefail
cd "$(dirname "$0")/.."
exp=${1:-experiments/smoke.json}
n=${2:-2}
out=scratch/jobs-speed
rm -rf "$out"
mkdir -p "$out"
npx tsc -p .
# Synthesize a missing dataset first, outside both timings.
node --input-type=module -e "
  const { loadExperiment } = await import('./dist/src/experiment/load.js');
  const { prepareDatasets } = await import('./dist/src/experiment/datasets.js');
  const exp = await loadExperiment('$exp');
  await prepareDatasets(exp);
  console.log(exp.name);
" >"$out/name"
name=$(cat "$out/name")

run() {
  local jobs=$1 start end
  start=$(date +%s%N)
  npx bench run "$exp" --backend wasm --results "$out/jobs-$jobs" --jobs "$jobs" 2>"$out/jobs-$jobs.log"
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}

ms1=$(run 1)
msn=$(run "$n")
node scripts/same-results.mjs "$out/jobs-1/$name/results.csv" "$out/jobs-$n/$name/results.csv"
node -e "console.log('--jobs 1: ' + ($ms1 / 1000).toFixed(1) + ' s; --jobs $n: ' + ($msn / 1000).toFixed(1) + ' s; speed-up ' + ($ms1 / $msn).toFixed(2) + 'x')"
