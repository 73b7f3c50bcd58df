#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/docs/run.sh BUILD_DIR - the docs suite: man pages against --help, the bash
# completion, libimgtool (exports, the example built against an installed copy).
# Quick (seconds); no servers, no guests.
exec "$(dirname "$0")/../run-files.sh" "$(dirname "$0")" "${1:-build}"
