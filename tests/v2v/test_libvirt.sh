#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/v2v/test_libvirt.sh BUILD_DIR - `imgtool v2v -o libvirt -oc URI` against a
# REAL private libvirtd (tests/servers/lib.sh start_libvirt, in a private network +
# mount namespace: nothing reaches the host's libvirt): the checks v2v makes before
# it copies anything.  An unreachable URI, or a guest name already defined there
# (given with -on, or derived from the source: a file name, an iSCSI URL's IQN and
# LUN), fails at once with one line, a nonzero exit and nothing written; -oc goes
# with -o libvirt only; libvirt's in-process test:///default driver works as a URI.
# No conversion is run here by default: the full conversion that ends in `virsh
# define` (and the read-back with dumpxml) is test_p2v_net.sh's, so the suite converts
# once.  V2V_LIBVIRT_LATE=1 adds one conversion (~3-4 min): a define that fails at the
# end (the name was taken while converting) exits nonzero with one line and keeps the
# converted disk and the XML, which virsh then defines by hand.
# Prints "PASS name" / "FAIL name" lines.  Needs root (namespaces).
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
case $build in /*) ;; *) build=$top/$build ;; esac
if [ -z "${IMGTOOL_SRV_NS:-}" ]; then
	exec env SERVERS=libvirt timeout -k 20 600 "$top/tests/servers/with-servers.sh" bash "$0" "$build"
fi
IMGTOOL=$build/imgtool

dir=$(mktemp -d /var/tmp/imgtool-libvirt-test.XXXXXX)
trap 'rm -rf "$dir"' EXIT

case " $SERVERS_FAILED " in
*" libvirt "*) ko "libvirt: a private libvirtd starts (see the servers: lines)"; exit 1 ;;
esac
ok "libvirt: a private libvirtd answers at $LIBVIRT_URI"
V() { virsh -c "$LIBVIRT_URI" -q "$@"; }

# A defined domain to collide with: NAME, a disk that does not need to exist.
define_blocker() {
	cat >"$dir/$1.xml" <<EOF
<domain type='qemu'><name>$1</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>
EOF
	V define --file "$dir/$1.xml" >/dev/null
}

# refused NAME PATTERN ARGS... : v2v must fail with one line matching PATTERN and
# leave the output folder empty (nothing copied, no XML).
refused() {
	local name=$1 pat=$2 out rc
	shift 2
	rm -rf "$dir/out" && mkdir "$dir/out"
	out=$("$IMGTOOL" v2v "$@" -os "$dir/out" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && echo "$out" | grep -q -- "$pat" &&
		[ -z "$(ls -A "$dir/out")" ]; then
		ok "$name ($out)"
	else
		ko "$name: rc=$rc, wanted one line /$pat/ and an empty -os, got: $out; -os: $(ls "$dir/out")"
	fi
}

# a source: any disk image (the checks come before it is read)
qemu-img create -q -f qcow2 "$dir/web01.qcow2" 64M

refused "libvirt: an unreachable URI fails before any copy" "cannot connect to libvirt" \
	-i disk "$dir/web01.qcow2" -o libvirt -oc "qemu:///system?socket=$dir/no-such-sock"
refused "libvirt: -oc is refused with -o local" "applies to -o libvirt only" \
	-i disk "$dir/web01.qcow2" -o local -oc "$LIBVIRT_URI"

define_blocker taken && define_blocker web01 && define_blocker disk1-lun1 ||
	ko "libvirt: virsh define of the blocker domains"
refused "libvirt: -on NAME already defined fails before any copy" "domain named 'taken' is already defined" \
	-i disk "$dir/web01.qcow2" -o libvirt -oc "$LIBVIRT_URI" -on taken
refused "libvirt: the source's name already defined fails before any copy" "domain named 'web01' is already defined" \
	-i disk "$dir/web01.qcow2" -o libvirt -oc "$LIBVIRT_URI"
# an iSCSI URL names the guest after its IQN and LUN (not "1", which virsh takes for
# a domain id); the name check needs no connection to the target
refused "libvirt: an iSCSI source is named IQN-lunN (disk1-lun1), checked before any copy" \
	"domain named 'disk1-lun1' is already defined" \
	-i disk "iscsi://127.0.0.1/iqn.2026-01.test:disk1/1" -o libvirt -oc "$LIBVIRT_URI"
# libvirt's test driver (in-process, real parser) has a domain "test"
refused "libvirt: -oc test:///default is used (its domain 'test' is seen)" "domain named 'test' is already defined" \
	-i disk "$dir/web01.qcow2" -o libvirt -oc test:///default -on test
# the URI -oc names wins over virsh's environment
out=$(VIRSH_DEFAULT_CONNECT_URI="qemu:///system?socket=$dir/none" LIBVIRT_DEFAULT_URI="qemu:///system?socket=$dir/none" \
	"$IMGTOOL" v2v -i disk "$dir/web01.qcow2" -o libvirt -oc "$LIBVIRT_URI" -on taken -os "$dir" 2>&1)
if echo "$out" | grep -q "already defined"; then
	ok "libvirt: -oc overrides VIRSH_DEFAULT_CONNECT_URI / LIBVIRT_DEFAULT_URI"
else
	ko "libvirt: -oc overrides VIRSH_DEFAULT_CONNECT_URI / LIBVIRT_DEFAULT_URI: $out"
fi

# late_define_failure: a domain of the guest's name appears while v2v converts (after
# its check, once the copy step is printed); the final define must fail and keep all.
late_define_failure() {
	local fixture out=$dir/late rc pid
	fixture=$(cd "$top" && fixtures/make-guest.sh) || { ko "libvirt late: fixture"; return; }
	mkdir "$out"
	"$IMGTOOL" v2v -i disk "$fixture" -o libvirt -oc "$LIBVIRT_URI" -on late -os "$out" \
		>"$dir/late.log" 2>"$dir/late.err" &
	pid=$!
	while kill -0 $pid 2>/dev/null && ! grep -q "copy sda" "$dir/late.log"; do sleep 1; done
	define_blocker late || ko "libvirt late: define the blocker"
	wait $pid
	rc=$?
	sed 's/^/  /' "$dir/late.log" "$dir/late.err"
	if [ $rc -ne 0 ] && [ "$(wc -l <"$dir/late.err")" -eq 1 ] &&
		grep -q "virsh define failed.*already exists.*kept" "$dir/late.err"; then
		ok "libvirt late: a define failing after the conversion exits $rc with one line"
	else
		ko "libvirt late: a define failing after the conversion: rc=$rc, $(cat "$dir/late.err")"
	fi
	if [ -s "$out/late-sda.qcow2" ] && [ -s "$out/late.xml" ] &&
		qemu-img check -q "$out/late-sda.qcow2"; then
		ok "libvirt late: the converted disk and the XML are kept"
	else
		ko "libvirt late: the converted disk and the XML are kept: $(ls "$out")"
	fi
	if V undefine late >/dev/null && V define --file "$out/late.xml" >/dev/null &&
		V dumpxml late | grep -q "$out/late-sda.qcow2" && V undefine late >/dev/null; then
		ok "libvirt late: the kept XML defines by hand once the name is free"
	else
		ko "libvirt late: the kept XML defines by hand once the name is free"
	fi
}
[ -n "${V2V_LIBVIRT_LATE:-}" ] && late_define_failure

if V undefine taken >/dev/null && V undefine web01 >/dev/null && V undefine disk1-lun1 >/dev/null &&
	[ -z "$(V list --all --name)" ]; then
	ok "libvirt: the blocker domains are undefined"
else
	ko "libvirt: the blocker domains are undefined: $(V list --all --name | tr '\n' ' ')"
fi
exit 0
