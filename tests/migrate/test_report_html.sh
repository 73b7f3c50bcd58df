#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/migrate/test_report_html.sh BUILD_DIR - the HTML report in a real browser:
# headless Chromium loads the report of a finished plan and of a running one
# (written by --status while the plan runs) with no console message at all, the
# script draws the timeline (one bar per VM and step) and the throughput chart,
# the page fetches nothing from the network, and a screenshot of each is kept
# in BUILD_DIR/test-artifacts/.  The JSON report has the documented shape.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_report_html "$build"
need_tools test_report_html chromium python3 qemu-img

T=$(mktemp -d /tmp/imgtool-migrate-html.XXXXXX)
trap 'rm -rf "$T"; [ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null' EXIT
cd "$T" || exit 1
art=$(cd "$(dirname "$IMGTOOL")" && pwd)/test-artifacts
mkdir -p "$art" out
for i in 1 2 3 4; do
	python3 "$top/fixtures/make-raw.py" "s$i.raw" $((24 * i))M --layout mixed --seed "$i" >/dev/null
done
cat >plan.yaml <<PLAN
defaults: {output_dir: $T/out}
limits: {jobs: 2, bandwidth_mib: 25}
vms:
  - {name: alpha, disks: [$T/s1.raw, $T/s2.raw]}
  - {name: beta, disks: [$T/s3.raw]}
  - {name: gamma, disks: [$T/s4.raw, $T/s2.raw]}
  - {name: delta, disks: [$T/missing.raw]}
PLAN
touch missing.raw

# browse FILE PNG: load FILE headless; the DOM goes to FILE.dom, the console to
# FILE.log; fails on any console message or network request
browse() {
	timeout 120 chromium --headless=new --no-sandbox --disable-gpu --enable-logging=stderr \
		--v=0 --window-size=1200,1100 --screenshot="$2" "file://$1" >/dev/null 2>"$1.log" &&
	timeout 120 chromium --headless=new --no-sandbox --disable-gpu --dump-dom "file://$1" \
		>"$1.dom" 2>/dev/null
}

# a running plan: its report from --status, mid-run
"$IMGTOOL" migrate -q plan.yaml 2>/dev/null &
pid=$!
sleep 1
rm -f missing.raw
sleep 4
"$IMGTOOL" migrate --status --report "$T/running.html" --report "$T/running.json" plan.yaml >/dev/null
check "the plan was still running when its report was taken" kill -0 "$pid"
browse "$T/running.html" "$art/migrate-report-running.png"
check "running report: loads with no console message" bash -c '! grep -q CONSOLE "$1"' _ "$T/running.html.log"
check "running report: reloads itself" grep -q 'http-equiv="refresh"' running.html
check "running report: a VM shows running" grep -q '>running<' running.html.dom
wait "$pid"
rc=$?
pid=
check "the plan ended with one VM failed (exit $rc)" [ "$rc" -eq 2 ]

"$IMGTOOL" migrate --status --report "$T/done.html" --report "$T/done.json" plan.yaml >/dev/null
browse "$T/done.html" "$art/migrate-report-done.png"
check "finished report: loads with no console message" bash -c '! grep -q CONSOLE "$1"' _ "$T/done.html.log"
check "finished report: no reload" bash -c '! grep -q http-equiv done.html'
bars=$(grep -o '<rect' done.html.dom | wc -l)
check "finished report: the timeline has a bar per step ($bars)" [ "$bars" -ge 9 ]
check "finished report: the throughput chart is drawn" grep -q '<path d="M' done.html.dom
check "finished report: the failed VM and its error are shown" grep -q 'missing.raw' done.html.dom
check "no network asset (no http(s) URL loaded)" bash -c '! grep -Eq "(src|href)=\"https?:" done.html'
check "screenshots kept" test -s "$art/migrate-report-done.png" -a -s "$art/migrate-report-running.png"
check "JSON report: the documented shape" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert set(r) >= {"plan", "generated", "totals", "vms", "samples"}
st = {v["name"]: v["status"] for v in r["vms"]}
assert st == {"alpha": "done", "beta": "done", "gamma": "done", "delta": "failed"}, st
for v in r["vms"]:
    assert set(v) >= {"name", "status", "error", "steps", "disks"}
    for d in v["disks"]:
        assert set(d) >= {"source", "output", "source_checksum", "output_checksum", "bytes_written"}
assert r["vms"][3]["error"] and "missing.raw" in r["vms"][3]["error"]
' done.json
exit 0
