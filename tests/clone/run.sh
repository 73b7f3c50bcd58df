#!/usr/bin/env bash
# tests/clone/run.sh BUILD_DIR - the clone suite: every tests/clone/test_*.sh, through
# tests/run-files.sh; ends with "N passed, N failed".
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../run-files.sh" "$here" "${1:-build}"
