#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/migrate/run.sh BUILD_DIR - `imgtool migrate`: plans and their errors, copy
# plans over every backend with a shared disk, kills at random instants and
# resumes, two processes on one state, a vanishing source, a full target, the
# HTML report in a real browser, shards under a real single-node Slurm, and a v2v
# VM that boots.  One test_*.sh per concern (tests/run-files.sh).
set -u
exec "$(dirname "$0")/../run-files.sh" "$(dirname "$0")" "${1:-build}"
