#!/usr/bin/env bash
# Benchmarks upstream mt5-trading-mcp 1.6.1 over stdio against the fake MetaTrader5 module
# (tests/fake_mt5), with our driver examples/stdio_bench.rs, so its numbers can sit next to
# mt5-mcp's in BENCHMARKS.md. Run from anywhere:
#
#   scripts/bench_upstream.sh [--ours] [--reps N] [-- <extra stdio_bench args>]
#
#   --ours     also run mt5-mcp itself on the native backend with the same fake, alternating
#              with upstream (ABAB), for a like-for-like row (needs a build with the python
#              feature)
#   --reps N   repetitions of each row (default 3; report the median of the runs)
#   after --   passed to stdio_bench (e.g. --spawns 5 --calls 500 --json)
#
# Upstream is installed with pip into a throwaway venv OUTSIDE the repository
# ($UPSTREAM_VENV, default ${TMPDIR:-/tmp}/mt5-mcp-upstream-venv), created on first use:
# mt5-trading-mcp==1.6.1 with the mcp SDK it was built for (1.27.0; mcp 2.x removed FastMCP)
# and numpy for the fake. Nothing of upstream enters this repository. PYTHON picks the base
# interpreter (default python3.11, else python3). Respects CARGO_TARGET_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

OURS=0
REPS=3
EXTRA=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --ours) OURS=1; shift ;;
        --reps) REPS="$2"; shift 2 ;;
        --) shift; EXTRA=("$@"); break ;;
        -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

# ---------------------------------------------------------------- upstream venv
VENV="${UPSTREAM_VENV:-${TMPDIR:-/tmp}/mt5-mcp-upstream-venv}"
case "$VENV" in
    "$ROOT"|"$ROOT"/*) echo "error: UPSTREAM_VENV must be outside the repository" >&2; exit 2 ;;
esac
PINS=("mt5-trading-mcp==1.6.1" "mcp[cli]==1.27.0" "numpy")
if [[ ! -x "$VENV/bin/mt5-mcp" ]]; then
    BASE_PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
    echo "creating $VENV with $BASE_PY: ${PINS[*]}"
    "$BASE_PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}"
fi
"$VENV/bin/python" -m pip list --disable-pip-version-check 2>/dev/null | grep -Ei '^(mt5-trading-mcp|mcp|numpy) ' || true

# ---------------------------------------------------------------- our driver (and binary)
TGT="${CARGO_TARGET_DIR:-target}"
[[ "$TGT" = /* ]] || TGT="$ROOT/$TGT"
cargo build --release --example stdio_bench
if [[ $OURS = 1 ]]; then
    # The binary and the mt5-mcp-py library it loads for the native backend.
    cargo build --release --bin mt5-mcp
    cargo build --release -p mt5-mcp-py
fi
BENCH="$TGT/release/examples/stdio_bench"

# ---------------------------------------------------------------- sandbox
T="$(mktemp -d "${TMPDIR:-/tmp}/mt5-bench-upstream.XXXXXX")"
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/home" "$T/data" "$T/config"
COMMON=(--env "HOME=$T/home" --env "XDG_DATA_HOME=$T/data" --env "XDG_CONFIG_HOME=$T/config"
        --env "PYTHONPATH=$ROOT/tests/fake_mt5" --quiet-child)
UPSTREAM_ENV=("${COMMON[@]}" --env "MT5_FAKE_STATE=$T/upstream-fake.json")
OURS_ENV=("${COMMON[@]}" --env "MT5_FAKE_STATE=$T/ours-fake.json")
if [[ $OURS = 1 ]]; then
    # The native backend embeds the upstream venv's interpreter, which has numpy for the fake.
    printf '[mt5]\nbackend = "native"\npython = "%s"\n' "$VENV/bin/python" > "$T/ours.toml"
fi

ARGS=(--tool get_quote --args '{"symbol":"EURUSD"}')
for rep in $(seq 1 "$REPS"); do
    echo "==== run $rep/$REPS"
    "$BENCH" --label upstream-1.6.1-fake "${ARGS[@]}" "${UPSTREAM_ENV[@]}" "${EXTRA[@]}" \
        -- "$VENV/bin/mt5-mcp" serve
    if [[ $OURS = 1 ]]; then
        "$BENCH" --label mt5-mcp-native-fake "${ARGS[@]}" "${OURS_ENV[@]}" "${EXTRA[@]}" \
            -- "$TGT/release/mt5-mcp" serve --config "$T/ours.toml"
    fi
done
