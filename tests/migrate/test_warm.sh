#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/migrate/test_warm.sh BUILD_DIR - warm migration: a VM with warm: true is
# copied while a writer changes its source, synced in passes, killed -9 in the
# middle of a pass and resumed (the pass is marked interrupted, the first copy is
# not made again), then cut over with --cutover: the stop_command runs (it stops
# the writer and writes a marker), one final sync, and the copy equals the source
# as it was when it stopped.  The report shows every pass and the downtime.  A
# second plan cuts over by itself at its cutover_at time.  The HTML report's warm
# table is checked in headless Chromium.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_warm "$build"
need_tools test_warm qemu-img python3 chromium

T=$(mktemp -d /tmp/imgtool-migrate-warm.XXXXXX)
writer=
trap '[ -n "$writer" ] && kill "$writer" 2>/dev/null; rm -rf "$T"' EXIT
cd "$T" || exit 1
setup python3 "$top/fixtures/make-raw.py" src.raw 256M --layout mixed --seed 9 || exit 1
mkdir out
cat >plan.yaml <<PLAN
defaults: {output_dir: $T/out, output_format: qcow2}
limits: {bandwidth_mib: 100}
vms:
  - name: web01
    disks: [$T/src.raw]
    format: raw
    warm: true
    sync_interval: 1
    stop_command: kill \$(cat $T/writer.run); while [ -e $T/writer.run ]; do sleep 0.05; done; echo "\$IMGTOOL_VM" >$T/marker; cp --sparse=always $T/src.raw $T/at-stop.raw
PLAN
sql() {   # sql QUERY: one value from the state
	python3 -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print(r[0] if r else "")' \
		out/imgtool-migrate.db "$1" 2>/dev/null
}
wait_for() {   # wait_for SECONDS QUERY: until QUERY gives a nonzero number (one process polls)
	python3 - out/imgtool-migrate.db "$1" "$2" <<'PY'
import sqlite3, sys, time
db, secs, query = sys.argv[1], float(sys.argv[2]), sys.argv[3]
end = time.monotonic() + secs
while time.monotonic() < end:
    try:
        r = sqlite3.connect(db, timeout=5).execute(query).fetchone()
        if r and r[0]:
            sys.exit(0)
    except sqlite3.Error:
        pass
    time.sleep(0.02)
sys.exit(1)
PY
}
kill_in_pass() {   # kill_in_pass PID: kill -9 PID as soon as a sync pass is running; prints its number
	python3 - out/imgtool-migrate.db "$1" <<'PY'
import os, signal, sqlite3, sys, time
db, pid = sys.argv[1], int(sys.argv[2])
end = time.monotonic() + 60
while time.monotonic() < end:
    try:
        r = sqlite3.connect(db, timeout=5).execute(
            "select n from passes where status = 'running' and kind = 'sync'").fetchone()
    except sqlite3.Error:
        r = None
    if r:
        os.kill(pid, signal.SIGKILL)
        print(r[0])
        sys.exit(0)
    time.sleep(0.01)
sys.exit(1)
PY
}

python3 "$top/tests/migrate/writer.py" src.raw writer.run &
writer=$!
check "the plan with warm keys validates" "$IMGTOOL" migrate --validate plan.yaml
"$IMGTOOL" migrate -q plan.yaml 2>run1.err &
mig=$!
check "two sync passes ran while the source was written" \
	wait_for 60 "select count(*) from passes where kind = 'sync' and status = 'done' and n >= 2"
inode=$(stat -c %i out/web01-sda.qcow2)
# kill -9 in the middle of a pass; should the pass end in the instant between
# seeing it and the kill, start again and kill the next one
for attempt in 1 2 3; do
	killed=$(kill_in_pass "$mig") || kill -9 "$mig" 2>/dev/null
	wait "$mig" 2>/dev/null
	[ "$(sql "select status from passes where n = ${killed:-0}")" = running ] && break
	"$IMGTOOL" migrate -q plan.yaml 2>>run1.err &
	mig=$!
done
check "kill -9 landed during sync pass ${killed:-?}" [ "$(sql "select status from passes where n = ${killed:-0}")" = running ]

"$IMGTOOL" migrate -q --report report.json --report report.html plan.yaml 2>run2.err &
mig=$!
check "the resumed run goes on with sync passes (the killed pass is interrupted)" \
	wait_for 60 "select count(*) from passes where status = 'done' and kind = 'sync' and n > ${killed:-0} and (select status from passes where n = ${killed:-0}) = 'interrupted'"
check "the first copy was not made again (same output file, disk still 'copied')" \
	[ "$(stat -c %i out/web01-sda.qcow2)" = "$inode" -a "$(sql "select status from disks")" = copied ]
check "--cutover web01 asks for the cutover" "$IMGTOOL" migrate --cutover web01 plan.yaml
wait "$mig"
rc=$?
check "the run ends with exit 0 after the cutover ($(cat run2.err))" [ "$rc" -eq 0 ]
writer=
check "the stop_command ran (marker names the VM)" [ "$(cat marker 2>/dev/null)" = web01 ]
check "the copy equals the source at stop time (qemu-img compare)" \
	qemu-img compare -q -f raw -F qcow2 at-stop.raw out/web01-sda.qcow2
check "and by imgtool checksum" [ "$("$IMGTOOL" checksum -f raw at-stop.raw | cut -d' ' -f1)" = \
	"$("$IMGTOOL" checksum -f qcow2 out/web01-sda.qcow2 | cut -d' ' -f1)" ]
qemu-img check -q out/web01-sda.qcow2 >/dev/null 2>&1
rc=$?
check "the copy passes qemu-img check (leaked clusters from the kill at worst: $rc)" [ $rc -eq 0 -o $rc -eq 3 ]
check "the report shows each pass and the downtime" python3 - report.json <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))["vms"][0]
w = v["warm"]
kinds = [p["kind"] for p in w["passes"]]
assert v["status"] == "done", v
assert kinds[0] == "copy" and kinds[-1] == "final" and kinds.count("sync") >= 3, kinds
assert [p["status"] for p in w["passes"]].count("interrupted") == 1, w["passes"]
assert all(p["duration"] is not None and p["duration"] >= 0 for p in w["passes"] if p["status"] == "done")
assert sum(p["bytes_written"] for p in w["passes"] if p["kind"] == "sync") > 0, w["passes"]
assert w["cutover_requested"] and w["stopped"] >= w["cutover_requested"] and w["ready"] > w["stopped"], w
assert 0 < w["downtime"] < 60 and w["ready"] <= v["ended"] and abs(w["downtime"] - (w["ready"] - w["stopped"])) < 1e-6, w
assert v["disks"][0]["status"] == "verified" and v["disks"][0]["source_checksum"] == v["disks"][0]["output_checksum"]
print("passes", kinds, "downtime", round(w["downtime"], 2))
PY
# the HTML report's warm table, drawn by its script in a real browser
timeout 120 chromium --headless=new --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
	--dump-dom "file://$T/report.html" >report.dom 2>report.log
check "the HTML report loads in Chromium with no console message" bash -c '! grep -q CONSOLE report.log'
check "and draws the warm table: passes, the final one, the downtime" \
	sh -c "grep -q '<h2>Warm migrations</h2>' report.dom && grep -q '<td>final</td>' report.dom && grep -q 'final sync done' report.dom"
check "--dry-run names the warm VM's passes" sh -c "\"$IMGTOOL\" migrate --dry-run plan.yaml | grep -q 'warm: sync every 1 s'"
check "--all asks for every warm VM's cutover" sh -c "\"$IMGTOOL\" migrate --all plan.yaml | grep -qx 'web01: cutover requested'"
out=$("$IMGTOOL" migrate --cutover nosuch plan.yaml 2>&1)
check "--cutover of a VM not in the plan: exit 1, named" [ $? -eq 1 -a -n "$(grep "no VM named 'nosuch'" <<<"$out")" ]

# cutover_at: the plan's own time, a few seconds ahead
mkdir out2
python3 "$top/fixtures/make-raw.py" small.raw 16M --layout mixed --seed 4 >/dev/null
at=$(date -u -d '+3 seconds' +%Y-%m-%dT%H:%M:%SZ)
cat >plan2.yaml <<PLAN
defaults: {output_dir: $T/out2}
vms:
  - {name: db01, disks: [$T/small.raw], format: raw, warm: true, sync_interval: 1, cutover_at: "$at", stop_command: "touch $T/stopped2"}
PLAN
check "a plan with cutover_at cuts over by itself" timeout 60 "$IMGTOOL" migrate -q --report r2.json plan2.yaml
check "its stop_command ran and the copy equals the source" sh -c \
	"[ -e stopped2 ] && qemu-img compare -q -f raw -F qcow2 small.raw out2/db01-sda.qcow2"
check "its cutover came no earlier than cutover_at" python3 -c '
import json, sys, datetime
w = json.load(open(sys.argv[1]))["vms"][0]["warm"]
at = datetime.datetime.strptime(sys.argv[2], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
assert w["stop_started"] >= at and not w["cutover_requested"], (w, at)
' r2.json "$at"
summary
