#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/serve/run.sh BUILD_DIR - the serve suite: every tests/serve/test_*.sh, through
# tests/run-files.sh; ends with "N passed, N failed".
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../run-files.sh" "$here" "${1:-build}"
