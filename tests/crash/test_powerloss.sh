#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/crash/test_powerloss.sh BUILD_DIR - power-loss tests of the qcow2 write
# path: "a cut at any instant leaves at worst leaked clusters".
#
# SIGKILL (tests/crash/run.sh) keeps the page cache, so it never tests flush
# ordering.  Here each operation - convert -O qcow2, commit, resize (L1 growth),
# amend, snapshot -c - runs under logwrites.so (an LD_PRELOAD logger built for
# this test only, standing in for dm-log-writes) that records every write,
# zeroing, size change and flush made to the image file.  replay.py then rebuilds
# the file as a power cut could leave it: right after every flush, and at random
# points between flushes with the unflushed records kept or dropped at random.
# Every state must pass `qemu-img check` with at worst leaks (exit 0 or 3; a new
# image may be unreadable only while it has no qcow2 header yet); the state after the whole
# log must be byte-identical to the real output (the log is complete), check
# clean and hold the operation's result (the data acknowledged by its last
# flush).  Each log must hold flushes, and the convert log replayed without its
# flushes must be caught as corrupt, so no case can pass without testing.
# A cut between every two flushes plus POWERLOSS_SAMPLES (default 12) more per
# operation; about 25 s.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_powerloss "$build"
need_tools test_powerloss qemu-img qemu-io python3 cc

SAMPLES=${POWERLOSS_SAMPLES:-12}
T=$(mktemp -d /tmp/imgtool-powerloss.XXXXXX)
trap '[ -n "${POWERLOSS_KEEP:-}" ] || rm -rf "$T"' EXIT
cd "$T" || exit 1
setup cc -shared -fPIC -O2 -o logwrites.so "$top/tests/crash/preload/logwrites.c" -ldl || { summary; exit 1; }

# the checker replay.py runs per state: KIND N STATE (see replay.py); the case's
# expectations come from the environment: NEW (the operation created the file),
# REAL (the real output), EXPECT (what the image must read as), EXTRA (a command
# about the final state, with $1 the state)
cat >check-state.sh <<'EOS'
#!/usr/bin/env bash
kind=$1 n=$2 state=$3 rc=0
qemu-img check -f qcow2 "$state" >check.out 2>&1 || rc=$?
case $kind in
final)
	cmp -s "$state" "$REAL" || { echo "final state differs from the real output"; exit 1; }
	[ $rc = 0 ] || { cat check.out; exit 1; }
	qemu-img compare -q "$EXPECT" "$state" || { echo "final state does not read as expected"; exit 1; }
	[ -z "$EXTRA" ] || bash -c "$EXTRA" _ "$state" || { echo "final: $EXTRA failed"; exit 1; }
	;;
*)
	[ $rc = 0 ] || [ $rc = 3 ] && exit 0
	# a new image that has no qcow2 header yet is no image, not a corrupt one
	[ $rc = 1 ] && [ "$NEW" = 1 ] && [ "$(head -c 4 "$state" | od -An -tx1 | tr -d ' ')" != 514649fb ] && exit 0
	echo "$kind $n: qemu-img check exit $rc"; head -n 5 check.out; exit 1
	;;
esac
EOS
chmod +x check-state.sh

# logged FILE CMD...: run CMD with the writes to FILE logged into FILE.log (FILE's
# content before goes to FILE.base, or "-" when it does not exist yet)
logged() {
	local f=$1
	shift
	rm -f "$f.log"
	if [ -e "$f" ]; then cp "$f" "$f.base"; else echo - >"$f.nobase"; fi
	# (an ASan build of imgtool accepts a preloaded library only with the check off)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		LOGWRITES_FILE=$(realpath -m "$f") LOGWRITES_LOG=$PWD/$f.log \
		LD_PRELOAD=$PWD/logwrites.so "$@"
	[ -s "$f.log" ]
}

# replayed FILE EXPECT [EXTRA]: every state of FILE's log checked
replayed() {
	local f=$1 base=$1.base new=0
	[ -e "$f.nobase" ] && { base=-; new=1; }
	NEW=$new REAL=$f EXPECT=$2 EXTRA=${3:-} python3 "$top/tests/crash/replay.py" \
		"$f.log" "$base" "$f.state" "$SAMPLES" "${POWERLOSS_SEED:-$RANDOM}" ./check-state.sh >"$f.replay"
	cat "$f.replay"
	grep -Eq ' [1-9][0-9]* flushes, ' "$f.replay"
}
export top

# sources: 3 MiB of data with zero runs and holes between
setup python3 -c '
import sys
with open("src.raw", "wb") as f:
    for i in range(48):
        f.write(bytes([i + 1]) * 49152 + bytes(16384) if i % 4 else bytes(65536))
' || { summary; exit 1; }

convert_case() {
	logged out.qcow2 "$IMGTOOL" convert -t writeback -O qcow2 -o cluster_size=4k src.raw out.qcow2
	replayed out.qcow2 src.raw
}
run_case "power loss during convert -O qcow2 (create, then copy; 4 KiB clusters): at worst leaks" convert_case

# the test of the test: the same log without its flushes (no ordering left) must
# give corrupt states, so the checks above could have failed
unordered_caught() {
	local rc=0
	NEW=1 REAL=out.qcow2 EXPECT=src.raw EXTRA= REPLAY_DROP_FLUSHES=1 python3 \
		"$top/tests/crash/replay.py" out.qcow2.log - unordered.qcow2 40 7 ./check-state.sh \
		>unordered.out || rc=$?
	tail -n 1 unordered.out
	[ $rc = 1 ]
	grep -q 'qemu-img check exit 2' unordered.out
}
run_case "a replay without the flushes is caught (corrupt states, exit 2)" unordered_caught

commit_case() {
	qemu-img create -q -f qcow2 -o cluster_size=4k base.qcow2 8M
	qemu-io -f qcow2 -c 'write -P 0x61 0 2M' base.qcow2 >/dev/null
	qemu-img create -q -f qcow2 -o cluster_size=4k -b base.qcow2 -F qcow2 top.qcow2
	qemu-io -f qcow2 -c 'write -P 0x62 1M 2M' -c 'write -P 0x63 6M 512k' -c 'write -z 256k 64k' \
		top.qcow2 >/dev/null
	qemu-img convert -O raw top.qcow2 commit-expect.raw
	logged base.qcow2 "$IMGTOOL" commit -t writeback top.qcow2
	replayed base.qcow2 commit-expect.raw
}
run_case "power loss during commit (into the base): at worst leaks" commit_case

resize_case() {
	qemu-img convert -O qcow2 -o cluster_size=4k src.raw grow.qcow2
	logged grow.qcow2 "$IMGTOOL" resize grow.qcow2 +1G
	replayed grow.qcow2 src.raw \
		'[ "$(qemu-img info --output=json "$1" | grep -c "\"virtual-size\": $(( 1024 * 1024 * 1024 + 3 * 1024 * 1024 ))")" = 1 ]'
}
run_case "power loss during resize +1G (the L1 table moves): at worst leaks" resize_case

amend_case() {
	qemu-img convert -O qcow2 -o cluster_size=4k src.raw am.qcow2
	logged am.qcow2 "$IMGTOOL" amend -o lazy_refcounts=on am.qcow2
	replayed am.qcow2 src.raw 'qemu-img info "$1" | grep -q "lazy refcounts: true"'
}
run_case "power loss during amend -o lazy_refcounts=on: at worst leaks" amend_case

snapshot_case() {
	qemu-img convert -O qcow2 -o cluster_size=4k src.raw snap.qcow2
	qemu-img snapshot -c first snap.qcow2
	logged snap.qcow2 "$IMGTOOL" snapshot -c second snap.qcow2
	replayed snap.qcow2 src.raw 'qemu-img snapshot -l "$1" | grep -q " second "'
}
run_case "power loss during snapshot -c: at worst leaks" snapshot_case
summary
