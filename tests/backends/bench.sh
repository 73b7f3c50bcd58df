#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/backends/bench.sh IMGTOOL WORKDIR - 1 GiB raw -> qcow2 onto NFS, an iSCSI LUN
# and RBD, and back to a local raw file, imgtool vs qemu-img on the same servers.
# Runs inside tests/servers/with-servers.sh (tests/backends/run.sh with
# BACKENDS_BENCH=1, or directly: tests/servers/with-servers.sh tests/backends/bench.sh
# build/imgtool /tmp/x).  Prints one line per case with the ratio imgtool/qemu-img
# (lower is better) and "bench: N cases, worst ratio R".
set -u
I=$1
W=$2
mkdir -p "$W"
src=$W/bench-src.raw
back=$W/bench-back.raw
if [ ! -s "$src" ]; then
	# 1 GiB: 4 MiB of random data, then 2 MiB hole, ... (about 680 MiB of data)
	qemu-img create -q -f raw "$src" 1G
	python3 - "$src" <<'EOF'
import os, sys
with open(sys.argv[1], "r+b") as f:
    chunk = os.urandom(4 << 20)
    for off in range(0, 1 << 30, 6 << 20):
        f.seek(off)
        f.write(chunk[: min(4 << 20, (1 << 30) - off)])
EOF
fi
cat "$src" >/dev/null

now() { date +%s.%N; }
worst=0
n=0
# run LABEL PREP_CMD CMD_IMGTOOL CMD_QEMU  (PREP runs before each, untimed)
run() {
	local label=$1 prep=$2 a=$3 b=$4 t0 ti tq r
	eval "$prep" >/dev/null 2>&1
	t0=$(now); eval "$a" >/dev/null 2>"$W/bench.err" || { echo "bench $label: imgtool failed: $(head -2 "$W/bench.err")"; return 1; }
	ti=$(echo "$(now) - $t0" | bc)
	eval "$prep" >/dev/null 2>&1
	t0=$(now); eval "$b" >/dev/null 2>"$W/bench.err" || { echo "bench $label: qemu-img failed: $(head -2 "$W/bench.err")"; return 1; }
	tq=$(echo "$(now) - $t0" | bc)
	r=$(echo "scale=2; $ti / $tq" | bc)
	printf 'bench %-28s imgtool %6.2f s  qemu-img %6.2f s  ratio %s\n' "$label" "$ti" "$tq" "$r"
	n=$((n + 1))
	if [ "$(echo "$r > $worst" | bc)" = 1 ]; then worst=$r; fi
}

rc=0
case " ${SERVERS_FAILED:-} " in *" nfs "*) ;; *)
	T=$NFS_URL/bench.qcow2
	run "nfs raw->qcow2" "rm -f $NFS_DIR/bench.qcow2" \
		"$I convert -O qcow2 $src $T" "qemu-img convert -O qcow2 $src $T" || rc=1
	run "nfs qcow2->local raw" "rm -f $back" \
		"$I convert -O raw $T $back" "qemu-img convert -O raw $T $back" || rc=1
	rm -f "$NFS_DIR/bench.qcow2" ;;
esac
case " ${SERVERS_FAILED:-} " in *" iscsi "*) ;; *)
	T=$ISCSI_URL/1
	run "iscsi raw->qcow2 (-n)" "qemu-img create -q -f qcow2 $T 1G" \
		"$I convert -n -O qcow2 $src $T" "qemu-img convert -n -O qcow2 $src $T" || rc=1
	run "iscsi qcow2->local raw" "rm -f $back" \
		"$I convert -O raw $T $back" "qemu-img convert -O raw $T $back" || rc=1 ;;
esac
case " ${SERVERS_FAILED:-} " in *" ceph "*) ;; *)
	T=rbd:rbd/bench
	run "rbd raw->qcow2" "rbd rm rbd/bench" \
		"$I convert -O qcow2 $src $T" "qemu-img convert -O qcow2 $src $T" || rc=1
	run "rbd qcow2->local raw" "rm -f $back" \
		"$I convert -O raw $T $back" "qemu-img convert -O raw $T $back" || rc=1
	rbd rm rbd/bench >/dev/null 2>&1 ;;
esac
rm -f "$back"
echo "bench: $n cases, worst ratio $worst"
exit $rc
