#!/usr/bin/env bash
# gpu-check.sh OUTDIR — run the conformance suite on cpu and cuda on a GPU machine, in one go.
#
# Made for a borrowed GPU box with a short time budget: the repo is copied there, maybe not
# pip-installed; torch, hypothesis, pytest and pytest-xdist are already installed.  Writes
#   OUTDIR/results.json   the run's results document (also when the time limit interrupts the run)
#   OUTDIR/pytest.log     pytest's output
#   OUTDIR/index.html     the HTML report, when this checkout has `conformance report`
# and prints one summary line.  Exit status: pytest's (0 all passed, 1 some failed), 2 setup problems.
#
# Settings (environment): DEVICES (cpu,cuda)  SPECS (specs)  WORKERS (min(nproc, 8))  PROFILE (ci)
#   TIME_LIMIT (480 s for the pytest run)  PYTHON (python3, else python)
#   WHEELS (.whl): a folder of wheels installed with --no-index when a needed module is missing
#   CONFORMANCE_PLUGIN_FROM_SOURCE=1: load the plugin from the source tree even if it is installed
set -uo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$1" || exit 2
OUTDIR=$(cd "$1" && pwd)
cd "$ROOT" || exit 2

PYTHON=${PYTHON:-$(command -v python3 || command -v python)}
DEVICES=${DEVICES:-cpu,cuda}
SPECS=${SPECS:-specs}
PROFILE=${PROFILE:-ci}
TIME_LIMIT=${TIME_LIMIT:-480}
NPROC=$(nproc 2>/dev/null || echo 2)
WORKERS=${WORKERS:-$(( NPROC < 8 ? NPROC : 8 ))}
WHEELS=${WHEELS:-$ROOT/.whl}

# The checkout itself is importable, installed or not.
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1

NEEDED="torch numpy hypothesis pytest xdist yaml jsonschema packaging"
missing() {
    "$PYTHON" - "$@" <<'EOF'
import importlib.util, sys
print(" ".join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))
EOF
}
absent=$(missing $NEEDED)
if [ -n "$absent" ] && compgen -G "$WHEELS/*.whl" >/dev/null; then
    site=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check-site.XXXXXX")
    echo "gpu-check: installing wheels from $WHEELS for: $absent"
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" "$WHEELS"/*.whl || exit 2
    export PYTHONPATH="$PYTHONPATH:$site"
    absent=$(missing $NEEDED)
fi
if [ -n "$absent" ]; then
    echo "gpu-check: missing Python modules: $absent (carry wheels in $WHEELS)" >&2
    exit 2
fi

# The pytest11 entry point exists only after `pip install`; otherwise load the plugin by module name.
# Loading it both ways would register it twice, hence the check (or an explicit opt-out of the entry point).
PLUGIN=()
if [ "${CONFORMANCE_PLUGIN_FROM_SOURCE:-0}" = 1 ]; then
    PLUGIN=(-p no:conformance -p conformance.pytest_plugin.hooks)
elif ! "$PYTHON" -c 'import sys, importlib.metadata as m
sys.exit(0 if any(e.value == "conformance.pytest_plugin.hooks" for e in m.entry_points(group="pytest11")) else 1)'; then
    PLUGIN=(-p conformance.pytest_plugin.hooks)
fi

"$PYTHON" - <<'EOF'
import torch
gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
print(f"gpu-check: torch {torch.__version__} (cuda {torch.version.cuda}); "
      + (f"GPUs: {', '.join(gpus)}" if gpus else "WARNING: cuda not available, cuda cells will be reported as not run"))
EOF

XDIST=()
[ "$WORKERS" -gt 1 ] 2>/dev/null && XDIST=(-n "$WORKERS")
start=$(date +%s)
# SIGINT at the time limit: pytest stops like on Ctrl-C and still writes the results document.
timeout -s INT -k 30 "$TIME_LIMIT" "$PYTHON" -m pytest "${PLUGIN[@]}" $SPECS -q -p no:cacheprovider \
    --device "$DEVICES" --hypothesis-profile "$PROFILE" "${XDIST[@]}" \
    --conformance-json "$OUTDIR/results.json" >"$OUTDIR/pytest.log" 2>&1
status=$?
wall=$(( $(date +%s) - start ))
tail -n 3 "$OUTDIR/pytest.log"
[ $status -eq 124 ] && echo "gpu-check: the run hit TIME_LIMIT=${TIME_LIMIT}s; results are partial" >&2

if [ ! -s "$OUTDIR/results.json" ]; then
    echo "gpu-check: no results written (pytest exit $status); see $OUTDIR/pytest.log" >&2
    exit 2
fi

if "$PYTHON" -c 'import conformance.outputs.report' 2>/dev/null; then
    "$PYTHON" -m conformance.cli report "$OUTDIR/results.json" -o "$OUTDIR/index.html" \
        || echo "gpu-check: the HTML report failed; results.json is complete" >&2
fi

"$PYTHON" - "$OUTDIR/results.json" "$wall" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
per: dict[str, dict[str, int]] = {}
for r in doc["results"]:
    per.setdefault(r["device"], {}).setdefault(r["status"], 0)
    per[r["device"]][r["status"]] += 1
order = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
cells = [f"{dev}: " + " ".join(f"{c.get(s, 0)} {s}" for s in order if c.get(s) or s in order[:4])
         for dev, c in sorted(per.items())]
print("gpu-check: " + " | ".join(cells) + f" | wall {sys.argv[2]}s | torch {doc['environment']['torch']['version']}")
EOF
exit $status
