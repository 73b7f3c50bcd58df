#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/run.sh BUILD_DIR - imgtool against qemu-img/qemu-io 7.2 as the oracle:
# runs tests/interop/test_*.sh through tests/run-files.sh (test_qemu_oracle.sh: qcow2
# in depth, vmdk and vpc both ways; one file per format driver and for qcow2 chains
# and snapshots); ends with "N passed, N failed".
exec "$(dirname "$0")/../run-files.sh" "$(dirname "$0")" "${1:-build}"
