#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/sync/run.sh BUILD_DIR - `imgtool sync`: only differing blocks written,
# holes kept, raw and qcow2 targets, the digest stream (--print-digests then
# --digests-from) and its bad inputs.  One test_*.sh per concern (tests/run-files.sh).
set -u
exec "$(dirname "$0")/../run-files.sh" "$(dirname "$0")" "${1:-build}"
