#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/packaging/run.sh BUILD_DIR - the packaging suite: make deb, lintian, and the
# packages installed on this machine, used, and removed (root).
exec "$(dirname "$0")/../run-files.sh" "$(dirname "$0")" "${1:-build}"
