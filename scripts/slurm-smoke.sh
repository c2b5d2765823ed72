#!/usr/bin/env bash
# Submits an experiment (default: the smoke) to SLURM with --executor slurm,
# follows it with `bench status --watch`, and checks that its results.csv has
# the numbers of a local run's (default: results/<name>/results.csv, as
# `bench run` leaves it). Needs a SLURM that sees this folder
# (scripts/slurm-local.sh start).
#
#   scripts/slurm-smoke.sh [experiment.json] [local results.csv]
set -euo pipefail
cd "$(dirname "$0")/.."
exp=${1:-experiments/smoke.json}
name=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$exp','utf8')).name)")
local_csv=${2:-results/$name/results.csv}
out=$PWD/scratch/slurm-smoke
rm -rf "$out"
npx bench run "$exp" --backend wasm --results "$out" --executor slurm
npx bench status "$exp" --results "$out" --watch | tail -1
node scripts/same-results.mjs "$local_csv" "$out/$name/results.csv"
