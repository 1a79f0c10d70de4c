#!/usr/bin/env bash
# The benchmark run behind BENCHMARKS.md, in one go, with examples/stdio_bench.rs driving
# every server over stdio:
#
#   scripts/bench.sh [--reps N] [--calls N] [--roundtrips N]
#
# Rows (each repeated --reps times, servers alternating, so drift hits all alike):
#   get_quote  : mt5-mcp on sim, mt5-mcp on native + the fake MetaTrader5 module, and
#                upstream mt5-trading-mcp 1.6.1 on the same fake (cold start + --calls calls)
#   get_rates  : count=5000 M1 bars on the same three servers (50 calls each)
#   trading    : --roundtrips place_order + close_position pairs on sim, with the audit log
#                and the idempotency store on (every call carries an idempotency key)
#
# Upstream is installed with pip into a throwaway venv OUTSIDE the repository
# ($UPSTREAM_VENV, default ${TMPDIR:-/tmp}/mt5-mcp-upstream-venv): mt5-trading-mcp==1.6.1,
# the mcp SDK it was built for (1.27.0; mcp 2.x removed FastMCP) and numpy for the fake.
# Nothing of upstream enters this repository. Respects CARGO_TARGET_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

REPS=3
CALLS=2000
ROUNDTRIPS=2000
while [[ $# -gt 0 ]]; do
    case "$1" in
        --reps) REPS="$2"; shift 2 ;;
        --calls) CALLS="$2"; shift 2 ;;
        --roundtrips) ROUNDTRIPS="$2"; shift 2 ;;
        -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}"; exit 0 ;;
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

# ---------------------------------------------------------------- builds
TGT="${CARGO_TARGET_DIR:-target}"
[[ "$TGT" = /* ]] || TGT="$ROOT/$TGT"
# The native backend embeds the upstream venv's interpreter (it has numpy for the fake);
# PYO3_PYTHON pins the version the mt5-mcp-py library is built for to the same one.
PYO3_PYTHON="$("$VENV/bin/python" -c 'import os, sys; print(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))')"
export PYO3_PYTHON
# `--workspace` alone builds the mt5-mcp-py library beside the binary; a `--bin` filter
# would leave it out.
cargo build --release --workspace
cargo build --release --example stdio_bench
BENCH="$TGT/release/examples/stdio_bench"
OURS="$TGT/release/mt5-mcp"

# ---------------------------------------------------------------- sandbox
# OPENBLAS_NUM_THREADS=1: the fake computes its bars with numpy, whose BLAS threads keep
# spinning after each matrix product and take a core from the server on a 2-core machine.
# The real MetaTrader5 library uses no BLAS. Both Python servers get the same setting.
T="$(mktemp -d "${TMPDIR:-/tmp}/mt5-bench.XXXXXX")"
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/home" "$T/data" "$T/config" "$T/run"
COMMON=(--env "HOME=$T/home" --env "XDG_DATA_HOME=$T/data" --env "XDG_CONFIG_HOME=$T/config"
        --env "PYTHONPATH=$ROOT/tests/fake_mt5" --env "OPENBLAS_NUM_THREADS=1" --quiet-child)
printf '[mt5]\nbackend = "sim"\n[sim]\nseed = 42\nstate_path = "%s/run/sim.json"\n' "$T" > "$T/config/sim.toml"
printf '[mt5]\nbackend = "native"\npython = "%s"\n' "$VENV/bin/python" > "$T/config/native.toml"
printf '[mt5]\nbackend = "sim"\n[sim]\nseed = 42\nstate_path = "%s/run/trade-sim.json"\n[idempotency]\npath = "%s/run/idempotency.db"\n[audit]\npath = "%s/run/audit.jsonl"\n' \
    "$T" "$T" "$T" > "$T/config/trade.toml"

sim=(-- "$OURS" serve --config "$T/config/sim.toml")
native=(--env "MT5_FAKE_STATE=$T/run/ours-fake.json" -- "$OURS" serve --config "$T/config/native.toml")
upstream=(--env "MT5_FAKE_STATE=$T/run/upstream-fake.json" -- "$VENV/bin/mt5-mcp" serve)

QUOTE=(--tool get_quote --args '{"symbol":"EURUSD"}' --calls "$CALLS")
RATES=(--tool get_rates --args '{"symbol":"EURUSD","timeframe":"M1","count":5000}' --calls 50 --warmup 5 --spawns 0)

uptime
for rep in $(seq 1 "$REPS"); do
    echo "==== run $rep/$REPS: get_quote"
    "$BENCH" --label mt5-mcp-sim "${QUOTE[@]}" "${COMMON[@]}" "${sim[@]}"
    "$BENCH" --label mt5-mcp-native-fake "${QUOTE[@]}" "${COMMON[@]}" "${native[@]}"
    "$BENCH" --label upstream-1.6.1-fake "${QUOTE[@]}" --spawns 5 "${COMMON[@]}" "${upstream[@]}"
    echo "==== run $rep/$REPS: get_rates count=5000"
    "$BENCH" --label mt5-mcp-sim "${RATES[@]}" "${COMMON[@]}" "${sim[@]}"
    "$BENCH" --label mt5-mcp-native-fake "${RATES[@]}" "${COMMON[@]}" "${native[@]}"
    "$BENCH" --label upstream-1.6.1-fake "${RATES[@]}" "${COMMON[@]}" "${upstream[@]}"
    echo "==== run $rep/$REPS: trading round trips (sim, audit + idempotency on)"
    "$BENCH" --label mt5-mcp-sim-trading --spawns 0 --calls 0 --roundtrips "$ROUNDTRIPS" \
        "${COMMON[@]}" -- "$OURS" serve --config "$T/config/trade.toml"
done
uptime
