#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/migrate/test_clone_plan.sh BUILD_DIR - mode clone in a plan: three linked
# clones of a qcow2 template of the guest fixture (one appliance for the three;
# no boot: tests/clone boots clones):
#   - the clones' disks exist, each a qcow2 overlay whose backing file is the
#     template, and the template is unchanged;
#   - each clone's domain XML validates (virt-xml-validate), with its own name,
#     UUID and MAC;
#   - the state and the report say done, with the "clone" step;
#   - running the plan again is a no-op: exit 0, nothing rewritten.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_clone_plan "$build"
need_tools test_clone_plan qemu-img python3 virt-xml-validate
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg

T=$(mktemp -d /var/tmp/imgtool-migrate-clone.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

fixture=$(cd "$top" && fixtures/make-guest.sh) || { ko "fixture (fixtures/make-guest.sh)"; exit 1; }
qemu-img convert -f vmdk -O qcow2 "$fixture" tpl.qcow2
"$IMGTOOL" launch --bus sata --net user --accel tcg --libvirt-xml tpl.xml tpl.qcow2 >/dev/null
tpl_sum=$(sha256sum <tpl.qcow2)
mkdir clones
# the fixture is not sysprep'd: force, as imgtool clone --force
cat >plan.yaml <<PLAN
defaults: {output_dir: $T/clones}
vms:
  - name: web
    mode: clone
    template: $T/tpl.qcow2
    clone: linked
    count: 3
    name_pattern: 'web%02d'
    xml: $T/tpl.xml
    force: true
    customize: [{write: '/etc/clone-proof:from a plan'}]
PLAN
check "the plan validates" "$IMGTOOL" migrate --validate plan.yaml
t0=$(date +%s)
"$IMGTOOL" migrate -q --report report.json plan.yaml >run1.log 2>&1
rc=$?
echo "  (three linked clones: $(($(date +%s) - t0)) s)"
check "the plan runs: exit 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || tail -5 run1.log | sed 's/^/  /'
for n in web01 web02 web03; do
	check "$n: a qcow2 overlay backed by the template" python3 - "clones/$n.qcow2" "$T/tpl.qcow2" <<'PY'
import json, subprocess, sys
i = json.loads(subprocess.check_output(["qemu-img", "info", "--output=json", sys.argv[1]]))
assert i["format"] == "qcow2" and i.get("full-backing-filename", i.get("backing-filename")) == sys.argv[2], i
PY
	check "$n: its domain XML validates" virt-xml-validate "clones/$n.xml" domain
done
check "three different names, UUIDs and MACs in the XMLs" python3 - clones/web0{1,2,3}.xml <<'PY'
import sys, xml.etree.ElementTree as ET
d = [ET.parse(f).getroot() for f in sys.argv[1:]]
names = {x.findtext("name") for x in d}
uuids = {x.findtext("uuid") for x in d}
macs = {m.get("address") for x in d for m in x.iter("mac")}
assert names == {"web01", "web02", "web03"} and len(uuids) == 3 and len(macs) == 3, (names, uuids, macs)
PY
check "the template is unchanged" [ "$(sha256sum <tpl.qcow2)" = "$tpl_sum" ]
check "report: web done, mode clone, its clone step done" python3 - report.json <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))["vms"][0]
assert v["name"] == "web" and v["mode"] == "clone" and v["status"] == "done", v
assert [s["status"] for s in v["steps"] if s["name"] == "clone"] == ["done"], v["steps"]
PY
check "state: web done" python3 -c 'import sqlite3,sys
assert sqlite3.connect(sys.argv[1]).execute("select status from vms where name = \"web\"").fetchone()[0] == "done"' \
	clones/imgtool-migrate.db

# ---- again: nothing to do ----
before=$(stat -c '%n %Y %s' clones/web0*)
"$IMGTOOL" migrate --progress=json plan.yaml >run2.log 2>&1
rc=$?
check "a second run: exit 0" [ "$rc" -eq 0 ]
check "a second run: web done in an earlier run" grep -q "done in an earlier run" run2.log
check "a second run rewrote nothing" [ "$(stat -c '%n %Y %s' clones/web0*)" = "$before" ]
summary
