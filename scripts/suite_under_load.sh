#!/usr/bin/env bash
# The whole suite RUNS times (default 20) with `pytest -n 2` while two CPU hogs (`yes > /dev/null`) run beside
# it, each run on a fresh clone of this repository's HEAD (docs/testing.md, "Under load"). Prints a line a run
# and the count of failures; the log of run N is left in $OUT/run-N.log.
#
#     bash scripts/suite_under_load.sh            # RUNS=5 bash scripts/suite_under_load.sh for fewer
set -u
repo=$(git rev-parse --show-toplevel) || exit 2
OUT=${OUT:-$(mktemp -d -t encodectl-under-load.XXXXXX)}
clone="$OUT/clone"
git clone -q "$repo" "$clone" && cd "$clone" && make install >/dev/null 2>&1 || { echo "could not set up $clone"; exit 2; }
yes > /dev/null & hog1=$!
yes > /dev/null & hog2=$!
trap 'kill $hog1 $hog2' EXIT
passed=0; failed=0
for run in $(seq 1 "${RUNS:-20}"); do
  started=$(date +%s)
  if .venv/bin/python -m pytest -q -n 2 --dist worksteal -p no:cacheprovider > "$OUT/run-$run.log" 2>&1; then
    passed=$((passed + 1)); verdict=ok
  else
    failed=$((failed + 1)); verdict=FAILED
  fi
  echo "run $run: $verdict, $(tail -1 "$OUT/run-$run.log") ($(( $(date +%s) - started )) s, load $(cut -d' ' -f1 /proc/loadavg))"
done
echo "passed $passed of ${RUNS:-20}, failed $failed; logs in $OUT"
[ "$failed" -eq 0 ]
