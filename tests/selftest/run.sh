#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/selftest/run.sh BUILD_DIR - the test scaffolding tests itself (tests/lib.sh
# and tests/run-files.sh): runs tests/selftest/test_*.sh through tests/run-files.sh;
# ends with "N passed, N failed".
exec "$(dirname "$0")/../run-files.sh" "$(dirname "$0")" "${1:-build}"
