#!/usr/bin/env bash
# The report charts of the docs (docs/img/report-loss.png, report-time.png): a small real run --
# scripts/quickstart's data and model on Spark local[2] -- and `rnn-spark report` on it.
# Run by `scripts/docs pictures`; the PNGs are committed (they change with every run's timings).
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d "${TMPDIR:-/tmp}/rnn-spark-docs-charts.XXXXXX")
trap 'rm -rf "$work"' EXIT
stdlib=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
rnn-spark ingest text "$stdlib/email/*.py" --out "$work/data" --seq-len 128 --val-fraction 0.05 \
  --seed 0 --quiet > /dev/null
rnn-spark train --data "$work/data" --run-dir "$work/run" --runner spark --master 'local[2]' \
  --workers 2 --steps-per-round 4 --batch-size 32 --cell lstm --hidden-sizes 128 \
  --embedding-size 32 --k1 64 --lr 0.005 --epochs 3 --validate-every 10 --quiet > /dev/null
rnn-spark report "$work/run" > /dev/null
for chart in loss time; do cp "$work/run/report-$chart.png" "docs/img/report-$chart.png"; done
echo "docs/img/report-loss.png, docs/img/report-time.png written" >&2
