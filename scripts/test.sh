#!/usr/bin/env bash
# The project's test command (run from anywhere; it works from the repo root):
#   scripts/test.sh
# 1. a Python venv at .venv with tests/python/requirements.txt (rebuilt when they change),
# 2. cargo build (debug, all targets, the whole workspace: the binary and the mt5-mcp-py
#    library it loads for the Python backends) and cargo test,
# 3. the end-to-end suite: the official MCP Python SDK driving target/debug/mt5-mcp over stdio,
# 4. the fake MetaTrader5 module's own tests (tests/fake_mt5),
# 5. a second end-to-end pass (Rust integration tests and the Python suite) on the native
#    backend, which embeds .venv's Python and imports the fake MetaTrader5 module.
# Respects CARGO_TARGET_DIR. PYTHON selects the interpreter for the venv (default python3.11).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

section() { printf '\n==== %s ====\n' "$*"; }

REQ="tests/python/requirements.txt"
VENV="$ROOT/.venv"
STAMP="$VENV/.requirements.stamp"

# ---------------------------------------------------------------- python venv
section "python venv (.venv)"
if [[ -n "${PYTHON:-}" ]]; then
    BASE_PY="$PYTHON"
elif command -v python3.11 >/dev/null 2>&1; then
    BASE_PY="python3.11"
else
    BASE_PY="python3"
fi
BASE_PY="$(command -v "$BASE_PY")" || { echo "error: no python3 interpreter found" >&2; exit 1; }
"$BASE_PY" - <<'PY' || { echo "error: $BASE_PY is too old: Python >= 3.11 is required" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
# Resolve pyenv shims and symlinks to the real interpreter, so the stamp names it exactly.
REAL_PY="$("$BASE_PY" -c 'import os, sys; print(os.path.realpath(sys.executable))')"
WANT="$(sha256sum "$REQ" | cut -d' ' -f1) $REAL_PY $("$REAL_PY" -c 'import platform; print(platform.python_version())')"
if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
    echo "up to date: $WANT"
else
    echo "creating .venv with $REAL_PY"
    rm -rf "$VENV"
    "$REAL_PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
    echo "$WANT" > "$STAMP"
fi
"$VENV/bin/python" -m pip list --disable-pip-version-check 2>/dev/null | grep -Ei '^(mcp|mcp-types|pytest|anyio) ' || true

# pyo3 (in crates/mt5-py) must see the same interpreter every time, or its build script
# reruns and rebuilds everything downstream. The Python-backend tests embed this one too.
PYO3_PYTHON="$("$VENV/bin/python" -c 'import os, sys; print(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))')"
export PYO3_PYTHON
echo "PYO3_PYTHON=$PYO3_PYTHON"

# ---------------------------------------------------------------- rust
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
[[ "$TARGET_DIR" = /* ]] || TARGET_DIR="$ROOT/$TARGET_DIR"

section "cargo build (debug, all targets, workspace)"
cargo build --workspace --all-targets

section "cargo test"
cargo test --workspace

# ---------------------------------------------------------------- end-to-end (Python SDK)
section "end-to-end: official MCP Python SDK over stdio"
export MT5_MCP_BIN="$TARGET_DIR/debug/mt5-mcp"
echo "MT5_MCP_BIN=$MT5_MCP_BIN"
[[ -x "$MT5_MCP_BIN" ]] || { echo "error: $MT5_MCP_BIN was not built" >&2; exit 1; }
# A private temp root: pytest prunes old basetemp dirs under the shared one, which would race
# with any other pytest run on the machine.
PYTEST_DEBUG_TEMPROOT="$(mktemp -d "${TMPDIR:-/tmp}/mt5-mcp-pytest.XXXXXX")"
export PYTEST_DEBUG_TEMPROOT
trap 'rm -rf "$PYTEST_DEBUG_TEMPROOT"' EXIT
"$VENV/bin/python" -m pytest tests/python -q

# ---------------------------------------------------------------- the fake MetaTrader5 module
section "fake MetaTrader5 module (tests/fake_mt5)"
"$VENV/bin/python" -m pytest tests/fake_mt5 -q -p no:cacheprovider

# ---------------------------------------------------------------- native backend (fake module)
section "end-to-end on the native backend: Rust e2e tests"
export MT5_MCP_TEST_BACKEND=native
export MT5_MCP_TEST_PYTHON="$VENV/bin/python"
cargo test --test 'e2e_*'

section "end-to-end on the native backend: official MCP Python SDK over stdio"
"$VENV/bin/python" -m pytest tests/python -q

section "all tests passed"
