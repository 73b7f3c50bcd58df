#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/backends/run.sh BUILD_DIR - imgtool on real storage servers: NFS (nfs-ganesha),
# iSCSI (tgtd), Ceph RBD (1 mon + 1 OSD) and SSH (OpenSSH, tests/backends/ssh.sh), started on loopback in a private network
# namespace by tests/servers/with-servers.sh and stopped by PID when this ends, even
# on failure.  qemu-img (with qemu-block-extra) is the oracle: it reads over the same
# URLs what imgtool wrote there (qemu-img compare / check / map).
#
# Covers: convert raw -> qcow2 / raw to each backend and back, create on each
# (on iSCSI: formats the existing LUN), convert -n into an existing LUN / image,
# info, check, compare, map, snapshots (qcow2 internal; RBD @snap read-only),
# 4K-sector LUNs (read-modify-write), and the failure paths: no such LUN / export /
# file / image / pool, read-only export and LUN, LUN too small, wrong CHAP password
# (never printed), wrong cephx key, a stalled server (bounded time, nonzero exit).
#
#   SERVERS="sshd ..."  only these sections (default: nfs iscsi ceph sshd)
#   BACKENDS_BENCH=1   also time 1 GiB raw -> qcow2 on each backend vs qemu-img
# Prints "N passed, N failed"; exits nonzero on any failure.
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
top=$root
. "$top/tests/lib.sh"
build=$(cd "$root" && cd "$build" 2>/dev/null && pwd) || { ko "backends: no build dir"; summary; exit 1; }

if [ -z "${IMGTOOL_SRV_NS:-}" ]; then
	if [ "$(id -u)" != 0 ]; then
		ko "backends: needs root (network namespace, nfs-ganesha, tgtd)"
		summary
		exit 1
	fi
	# hard upper bound for the whole suite; the servers' trap still runs on TERM
	export SERVERS=${SERVERS:-nfs iscsi ceph sshd}
	exec timeout -k 20 900 "$root/tests/servers/with-servers.sh" "$0" "$build"
fi

I=$build/imgtool
W=$(mktemp -d /tmp/imgtool-backends.XXXXXX)
trap 'rm -rf "$W"' EXIT
export IMGTOOL_NET_TIMEOUT=${IMGTOOL_NET_TIMEOUT:-10}
# expect_err NAME PATTERN CMD... : must fail (nonzero, within the timeout) with PATTERN in its output
expect_err() {
	local name=$1 pat=$2 rc
	shift 2
	out=$(timeout 120 "$@" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] && echo "$out" | grep -qi -- "$pat"; then
		ok "$name ($(echo "$out" | head -1))"
	else
		ko "$name: rc=$rc, wanted /$pat/: $(echo "$out" | head -3)"
	fi
}
# same_map NAME URL [fmt]: imgtool map --output=json equals qemu-img's
same_map() {
	local a b
	a=$("$I" map --output=json "$2" 2>&1)
	b=$(qemu-img map --output=json "$2" 2>&1)
	if [ "$a" = "$b" ]; then ok "$1"; else ko "$1: map differs"; diff <(echo "$b") <(echo "$a") | head -6; fi
}
server_up() { case " $SERVERS_FAILED " in *" $1 "*) return 1 ;; esac; return 0; }
# wanted SERVER: is it in SERVERS (SERVERS=sshd tests/backends/run.sh runs one section)
wanted() { case " $SERVERS " in *" $1 "*) return 0 ;; esac; return 1; }

# url_backing_cases NAME DIR URL [QUERY]: DIR on the server is URL (QUERY: the
# URL's options).  A relative backing file of an image opened by URL lies beside
# it on the server, never in the current folder (which holds a decoy
# base.qcow2), and keeps the URL's options; a URL inside an image is refused
# unless --allow-ref-urls.
url_backing_cases() {
	local name=$1 dir=$2 url=$3 q=${4:-}
	mkdir -p "$dir/chain" &&
		qemu-img create -q -f qcow2 "$dir/chain/base.qcow2" 1M &&
		qemu-io -c 'write -P 0x61 0 64k' "$dir/chain/base.qcow2" >/dev/null &&
		qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$dir/chain/top.qcow2"
	(cd "$W" && qemu-img create -q -f qcow2 base.qcow2 1M)
	check "$name: relative backing resolves on the server" \
		sh -c "cd '$W' && '$I' compare '$dir/chain/top.qcow2' '$url/chain/top.qcow2$q'"
	check "$name: info shows the backing's URL" \
		sh -c "cd '$W' && '$I' info '$url/chain/top.qcow2$q' | grep -qF 'actual path: $url/chain/base.qcow2$q'"
	qemu-img create -q -f qcow2 -u -b "$url/chain/base.qcow2$q" -F qcow2 "$W/$name-urltop.qcow2" 1M
	expect_err "$name: a backing URL inside an image is refused" "names a URL or protocol" \
		"$I" convert -O raw "$W/$name-urltop.qcow2" "$W/$name-urltop.raw"
	check "$name: --allow-ref-urls follows it" \
		"$I" compare --allow-ref-urls "$W/$name-urltop.qcow2" "$dir/chain/top.qcow2"
}

# ---- source images ----
src=$W/src.raw
qemu-img create -q -f raw "$src" 64M
python3 - "$src" <<'EOF'
import os, sys, random
r = random.Random(5)
with open(sys.argv[1], "r+b") as f:
    for mb in range(0, 64, 3):            # data, holes, and zeros inside data
        f.seek(mb * 1048576 + r.randrange(0, 4096))
        f.write(bytes(r.getrandbits(8) for _ in range(1000)) + b"\0" * 70000 + os.urandom(200000))
EOF
small=$W/small.raw                        # 8 MiB for the 16 MiB LUNs
qemu-img create -q -f raw "$small" 8M
dd if=/dev/urandom of="$small" bs=1000 seek=3 count=3000 conv=notrunc status=none

# ---- NFS ----
if ! wanted nfs; then
	:
elif server_up nfs; then
	N=$NFS_URL
	check "nfs: convert raw -> qcow2" "$I" convert -f raw -O qcow2 "$src" "$N/a.qcow2"
	check "nfs: qemu-img compare" qemu-img compare "$src" "$N/a.qcow2"
	check "nfs: qemu-img check" qemu-img check "$N/a.qcow2"
	check "nfs: imgtool check" "$I" check "$N/a.qcow2"
	check "nfs: imgtool compare" "$I" compare "$src" "$N/a.qcow2"
	check "nfs: info json" sh -c "'$I' info --output=json '$N/a.qcow2' | grep -q '\"format\": \"qcow2\"'"
	same_map "nfs: map = qemu-img map" "$N/a.qcow2"
	check "nfs: convert back to local raw" "$I" convert -O raw "$N/a.qcow2" "$W/back.raw"
	check "nfs: round trip is byte-identical" cmp "$src" "$W/back.raw"
	check "nfs: convert -c (compressed)" "$I" convert -c -O qcow2 "$src" "$N/c.qcow2"
	check "nfs: compressed compare (qemu-img)" qemu-img compare "$src" "$N/c.qcow2"
	check "nfs: raw target" "$I" convert -O raw "$src" "$N/r.raw"
	check "nfs: raw target compare" cmp "$src" "$NFS_DIR/r.raw"
	check "nfs: create qcow2" "$I" create -f qcow2 "$N/new.qcow2" 1G
	check "nfs: created image passes qemu-img check" qemu-img check "$N/new.qcow2"
	check "nfs: snapshot -c" "$I" snapshot -c snap1 "$N/a.qcow2"
	check "nfs: qemu-img sees the snapshot" sh -c "qemu-img snapshot -l '$N/a.qcow2' | grep -q snap1"
	check "nfs: convert -n into existing" "$I" convert -n -O qcow2 "$src" "$N/new.qcow2"
	check "nfs: convert -n compare" qemu-img compare "$src" "$N/new.qcow2"
	check "nfs: nfs -> nfs convert" "$I" convert -O qcow2 "$N/a.qcow2" "$N/b.qcow2"
	check "nfs: nfs -> nfs compare" qemu-img compare "$N/a.qcow2" "$N/b.qcow2"
	check "nfs: ?version=3&uid=0&gid=0 options" "$I" info "$N/a.qcow2?version=3&uid=0&gid=0"
	url_backing_cases nfs "$NFS_DIR" "$N"
	expect_err "nfs: no such file" "no such file" "$I" info "$N/missing.qcow2"
	expect_err "nfs: no such export" "export" "$I" info "nfs://127.0.0.1/nonexport/x.qcow2"
	expect_err "nfs: read-only export" "read-only" "$I" convert -O qcow2 "$src" "$NFS_RO_URL/x.qcow2"
	expect_err "nfs: unknown URL option" "unknown NFS URL option" "$I" info "$N/a.qcow2?bogus=1"
	expect_err "nfs: unreachable server" "cannot reach\|unreachable\|refused" "$I" info "nfs://127.0.0.1/export/a.qcow2?nfsport=1&mountport=1"
else
	ko "nfs: server did not start (see above); every nfs case counts as failed"
fi

# ---- iSCSI ----
if ! wanted iscsi; then
	:
elif server_up iscsi; then
	L=$ISCSI_URL
	check "iscsi: convert -n raw into LUN 1" "$I" convert -n -f raw -O raw "$src" "$L/1"
	check "iscsi: qemu-img compare (raw LUN)" qemu-img compare -f raw -F raw "$src" "$L/1"
	check "iscsi: backing file holds the bytes" cmp -n 67108864 "$src" "$ISCSI_DIR/lun1.img"
	check "iscsi: create qcow2 formats the LUN" "$I" create -f qcow2 "$L/1" 64M
	check "iscsi: qemu-img check after create" qemu-img check "$L/1"
	check "iscsi: convert -n raw -> qcow2 LUN" "$I" convert -n -O qcow2 "$src" "$L/1"
	check "iscsi: qemu-img compare (qcow2 LUN)" qemu-img compare "$src" "$L/1"
	check "iscsi: qemu-img check" qemu-img check "$L/1"
	check "iscsi: imgtool check" "$I" check "$L/1"
	check "iscsi: imgtool compare" "$I" compare "$src" "$L/1"
	check "iscsi: info" sh -c "'$I' info '$L/1' | grep -q 'file format: qcow2'"
	same_map "iscsi: map = qemu-img map" "$L/1"
	check "iscsi: convert (no -n) to LUN" "$I" convert -O qcow2 "$src" "$L/1"
	check "iscsi: compare after convert" qemu-img compare "$src" "$L/1"
	check "iscsi: back to local" "$I" convert -O raw "$L/1" "$W/lun.raw"
	check "iscsi: round trip" cmp "$src" "$W/lun.raw"
	check "iscsi: 4K-sector LUN raw (RMW)" "$I" convert -n -O raw "$small" "$L/2"
	check "iscsi: 4K LUN compare" qemu-img compare -f raw -F raw "$small" "$L/2"
	check "iscsi: 4K-sector LUN qcow2" "$I" convert -O qcow2 "$small" "$L/2"
	check "iscsi: 4K LUN qcow2 check" qemu-img check "$L/2"
	check "iscsi: 4K LUN qcow2 compare" qemu-img compare "$small" "$L/2"
	expect_err "iscsi: no such LUN" "no such LUN" "$I" info "$L/9"
	expect_err "iscsi: no such target" "no such target" "$I" info "iscsi://127.0.0.1/iqn.2026-01.test:none/1"
	expect_err "iscsi: read-only LUN" "write-protected" "$I" convert -n -O raw "$small" "$L/3"
	expect_err "iscsi: LUN too small" "LUN holds 8388608 bytes, fewer than the" "$I" convert -O raw "$src" "$L/4"
	expect_err "iscsi: LUN too small (qcow2 create)" "fewer than the" "$I" create -f qcow2 -o preallocation=full "$L/4" 64M
	C=$ISCSI_CHAP_URL/1
	badpw=WrongPassw0rd77
	out=$("$I" info "iscsi://$ISCSI_CHAP_USER%$badpw@127.0.0.1/iqn.2026-01.test:chap/1" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && echo "$out" | grep -q "CHAP" && ! echo "$out" | grep -q "$badpw"; then
		ok "iscsi: wrong CHAP password fails, never printed ($out)"
	else
		ko "iscsi: wrong CHAP password: rc=$rc out=$out"
	fi
	out=$(IMGTOOL_ISCSI_USER=$ISCSI_CHAP_USER IMGTOOL_ISCSI_PASSWORD=$badpw "$I" info "$C" 2>&1)
	if [ $? -ne 0 ] && ! echo "$out" | grep -q "$badpw"; then ok "iscsi: wrong password from env fails, not printed"; else ko "iscsi: env wrong pw: $out"; fi
	expect_err "iscsi: CHAP target without credentials" "CHAP" "$I" info "$C"
	check "iscsi: CHAP via environment" env IMGTOOL_ISCSI_USER="$ISCSI_CHAP_USER" IMGTOOL_ISCSI_PASSWORD="$ISCSI_CHAP_PASSWORD" "$I" convert -O qcow2 "$small" "$C"
	check "iscsi: CHAP via LIBISCSI_CHAP_* (qemu's variables)" env LIBISCSI_CHAP_USERNAME="$ISCSI_CHAP_USER" LIBISCSI_CHAP_PASSWORD="$ISCSI_CHAP_PASSWORD" "$I" compare "$small" "$C"
	printf '%s\n' "$ISCSI_CHAP_PASSWORD" >"$W/pw"
	check "iscsi: CHAP via secret file" env IMGTOOL_ISCSI_USER="$ISCSI_CHAP_USER" "$I" info "$C?password-file=$W/pw"
	check "iscsi: qemu-img reads the CHAP LUN" qemu-img compare "$small" "iscsi://$ISCSI_CHAP_USER%$ISCSI_CHAP_PASSWORD@127.0.0.1/iqn.2026-01.test:chap/1"
	out=$(IMGTOOL_ISCSI_USER=$ISCSI_CHAP_USER IMGTOOL_ISCSI_PASSWORD=$ISCSI_CHAP_PASSWORD "$I" info --output=json "iscsi://$ISCSI_CHAP_USER%$ISCSI_CHAP_PASSWORD@127.0.0.1/iqn.2026-01.test:chap/1" 2>&1)
	if echo "$out" | grep -q "$ISCSI_CHAP_PASSWORD"; then
		ko "iscsi: info printed the password given inside the URL: $out"
	else ok "iscsi: info never shows the URL's password"; fi
else
	ko "iscsi: server did not start (see above); every iscsi case counts as failed"
fi

# ---- RBD ----
if ! wanted ceph; then
	:
elif server_up ceph; then
	check "rbd: convert raw -> qcow2" "$I" convert -O qcow2 "$src" rbd:rbd/q1
	check "rbd: qemu-img compare" qemu-img compare "$src" rbd:rbd/q1
	check "rbd: qemu-img check" qemu-img check rbd:rbd/q1
	check "rbd: imgtool check" "$I" check rbd:rbd/q1
	check "rbd: imgtool compare" "$I" compare "$src" rbd:rbd/q1
	check "rbd: info" sh -c "'$I' info rbd:rbd/q1 | grep -q 'file format: qcow2'"
	same_map "rbd: map = qemu-img map" rbd:rbd/q1
	check "rbd: back to local" "$I" convert -O raw rbd:rbd/q1 "$W/rbd.raw"
	check "rbd: round trip" cmp "$src" "$W/rbd.raw"
	check "rbd: raw image" "$I" convert -O raw "$src" rbd:rbd/r1
	check "rbd: raw compare (qemu-img)" qemu-img compare -f raw -F raw "$src" rbd:rbd/r1
	check "rbd: image size" sh -c "rbd info rbd/r1 | grep -q '64 MiB'"
	check "rbd: create qcow2" "$I" create -f qcow2 rbd:rbd/c1 1G
	check "rbd: created passes qemu-img check" qemu-img check rbd:rbd/c1
	check "rbd: convert -n into existing" "$I" convert -n -O qcow2 "$src" rbd:rbd/c1
	check "rbd: convert -n compare" qemu-img compare "$src" rbd:rbd/c1
	check "rbd: options id/conf/keyring" "$I" info "rbd:rbd/q1:id=admin:conf=$CEPH_CONF:keyring=$CEPH_DIR/keyring"
	check "rbd: rbd:// form" "$I" info "rbd://rbd/q1?id=admin"
	check "rbd: snap create" rbd snap create rbd/r1@s1
	check "rbd: overwrite head" "$I" convert -n -O raw "$small" rbd:rbd/r1
	check "rbd: @snap still holds the old data" "$I" compare -f raw -F raw "$src" rbd:rbd/r1@s1
	check "rbd: qemu-img agrees on @snap" qemu-img compare -f raw -F raw "$src" rbd:rbd/r1@s1
	expect_err "rbd: @snap is read-only" "read-only" "$I" convert -n -O raw "$small" rbd:rbd/r1@s1
	expect_err "rbd: no such snapshot" "no such snapshot" "$I" info rbd:rbd/r1@nosnap
	expect_err "rbd: no such image" "no such image" "$I" info rbd:rbd/missing
	expect_err "rbd: no such pool" "no such pool" "$I" info rbd:nopool/img
	ceph-authtool --create-keyring "$W/bad.keyring" --gen-key -n client.admin >/dev/null 2>&1
	expect_err "rbd: wrong cephx key" "credentials\|permission\|refused" "$I" info "rbd:rbd/q1:keyring=$W/bad.keyring"
	out=$("$I" info "rbd:rbd/missing:key=AQDsecretsecretsecret==" 2>&1)
	if ! echo "$out" | grep -q secretsecret; then ok "rbd: :key= secret never printed"; else ko "rbd: key printed: $out"; fi
else
	ko "rbd: ceph did not start (see above); every rbd case counts as failed"
fi

# ---- SSH (tests/backends/ssh.sh) ----
. "$here/ssh.sh"
if ! wanted sshd; then
	:
elif server_up sshd; then
	ssh_cases
else
	ko "ssh: sshd did not start (see above); every ssh case counts as failed"
fi

# ---- cross-backend ----
if wanted nfs && wanted ceph && wanted iscsi && server_up nfs && server_up ceph && server_up iscsi; then
	check "cross: nfs qcow2 -> rbd raw" "$I" convert -O raw "$NFS_URL/a.qcow2" rbd:rbd/x1
	check "cross: rbd -> iscsi qcow2" "$I" convert -O qcow2 rbd:rbd/x1 "$ISCSI_URL/1"
	check "cross: compare nfs vs iscsi" "$I" compare "$NFS_URL/a.qcow2" "$ISCSI_URL/1"
fi

# ---- stalls: a frozen server ends in an error within the timeout ----
stall_test() {   # NAME PIDNAME CMD...
	local name=$1 pat=$2 pid t0 t1 rc
	shift 2
	pid=
	for e in $SRV_PIDLIST; do [ "${e%%:*}" = "$pat" ] && pid=${e##*:}; done
	[ -n "$pid" ] || { ko "$name: no $pat process"; return; }
	kill -STOP "$pid"
	t0=$(date +%s)
	IMGTOOL_NET_TIMEOUT=3 timeout 60 "$@" >"$W/stall.out" 2>&1
	rc=$?
	t1=$(date +%s)
	kill -CONT "$pid"
	if [ $rc -ne 0 ] && [ $rc -ne 124 ]; then
		ok "$name: failed in $((t1 - t0)) s: $(head -1 "$W/stall.out")"
	else
		ko "$name: rc=$rc after $((t1 - t0)) s: $(head -2 "$W/stall.out")"
	fi
}
wanted nfs && server_up nfs && stall_test "nfs: frozen server" ganesha "$I" convert -O qcow2 "$src" "$NFS_URL/stall.qcow2"
wanted iscsi && server_up iscsi && stall_test "iscsi: frozen target" tgtd "$I" convert -n -O raw "$src" "$ISCSI_URL/1"
wanted ceph && server_up ceph && stall_test "rbd: frozen OSD" ceph-osd "$I" convert -O raw "$src" rbd:rbd/stall

# ---- optional benchmark ----
if [ -n "${BACKENDS_BENCH:-}" ]; then
	"$here/bench.sh" "$I" "$W" || ko "bench failed"
fi

summary
