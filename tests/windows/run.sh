#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/windows/run.sh BUILD_DIR - the Windows suite: imgtool v2v on the phony
# Windows guests (fixtures/make-windows.sh) with the phony virtio-win tree, every
# tests/windows/test_*.sh through tests/run-files.sh; ends with "N passed, N failed".
# Its own suite so that tests/run-all.sh can run it in the lane the Linux v2v suite
# does not use.
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../run-files.sh" "$here" "${1:-build}"
