#!/bin/bash
# Runs `translate bench` and its PyTorch twin back to back at the same settings, with the load average
# before each, so that the two can be compared in one sitting. Run by hand on a quiet machine:
#   benchmarks/side_by_side.sh [extra bench flags, e.g. --length 512]
# Needs a release build (swift build -c release) and a Python with torch (PYTHON, default /root/refvenv/bin/python).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
translate=${TRANSLATE:-$here/../.build/release/translate}
python=${PYTHON:-/root/refvenv/bin/python}
echo "# $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $translate bench --json $*"
"$translate" bench --json "$@"
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $python benchmarks/layer_bench.py --json $*"
"$python" "$here/layer_bench.py" --json "$@"
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
