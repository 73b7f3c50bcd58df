#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/clone/run.sh BUILD_DIR - the clone suite: every tests/clone/test_*.sh, through
# tests/run-files.sh; ends with "N passed, N failed".
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../run-files.sh" "$here" "${1:-build}"
