#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/bad-input/test_luks.sh BUILD_DIR - malformed LUKS1 headers (run by
# tests/bad-input/run.sh, its PASS/FAIL lines counted there).
#
# A valid luks image and a qcow2 with encrypt.format=luks (made by imgtool,
# iter-time=10) are broken one field at a time.  "reject" images are refused by info and by an unlocking convert;
# "unlock" images have a header info accepts but the key slots must not be
# used (a PBKDF2 count of 4 billion, an unknown cipher).  Every failure is one
# "imgtool: ..." line and exit 1, within 10 s and 2 GiB of address space, and
# the passphrase is in no message.
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool bad-luks "$build"
need_tools bad-luks python3 timeout

T=$(mktemp -d /tmp/imgtool-bad-luks.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
printf 'bad-input-passphrase' >pw
SEC="--object secret,id=s,file=$T/pw"

if ! "$IMGTOOL" create -q -f luks $SEC -o key-secret=s,iter-time=10 base.luks 1M >setup.log 2>&1 ||
   ! "$IMGTOOL" create -q -f qcow2 $SEC -o encrypt.format=luks,encrypt.key-secret=s,encrypt.iter-time=10 \
	base.qcow2 1M >>setup.log 2>&1; then
	ko "bad-luks: setup: imgtool create"
	cat setup.log
	summary
	exit 1
fi

# break NAME OFFSET HEXBYTES: a copy of base.luks with bytes replaced
python3 - <<'PY' >MANIFEST
import struct, shutil
base = open('base.luks', 'rb').read()
H = 208          # first key slot
SLOT = 48
def make(name, kind, patches=(), size=None):
    b = bytearray(base)
    for off, data in patches:
        b[off:off + len(data)] = data
    if size is not None:
        b = b[:size]
    open(name, 'wb').write(b)
    print(name, kind)
be32 = lambda v: struct.pack('>I', v)
make('bad-magic.luks', 'reject', [(0, b'LUKZ')])
make('bad-version.luks', 'reject', [(6, struct.pack('>H', 2))])
make('bad-tiny.luks', 'reject', size=100)
make('bad-truncated.luks', 'reject', size=300 * 1024)
make('bad-payload-eof.luks', 'reject', [(104, be32(0x7fffffff))])
make('bad-keybytes-zero.luks', 'reject', [(108, be32(0))])
make('bad-keybytes-huge.luks', 'reject', [(108, be32(0xffffffff))])
make('bad-cipher-unterminated.luks', 'reject', [(8, b'A' * 32)])
make('bad-slot-offset-eof.luks', 'reject', [(H + 40, be32(0xfffffff0))])
make('bad-slot-offset-header.luks', 'reject', [(H + 40, be32(0))])
make('bad-slot-overlap.luks', 'reject', [(H + SLOT + 40, be32(8 + 100))])
make('bad-stripes-zero.luks', 'reject', [(H + 44, be32(0))])
make('bad-stripes-huge.luks', 'reject', [(H + 44, be32(0xffffffff))])
make('bad-slot-state.luks', 'reject', [(H, be32(0x12345678))])
make('bad-iters-huge.luks', 'unlock', [(H + 4, be32(0xffffffff))])
make('bad-iters-zero.luks', 'unlock', [(H + 4, be32(0))])
make('bad-mk-iters-huge.luks', 'unlock', [(164, be32(0xffffffff))])
make('bad-cipher-unknown.luks', 'unlock', [(8, b'serpent\0')])
make('bad-mode-unknown.luks', 'unlock', [(40, b'lrw-benbi\0')])
make('bad-hash-unknown.luks', 'unlock', [(72, b'whirlygig\0')])
make('bad-slots-inactive.luks', 'unlock', [(H, be32(0x0000DEAD))])
# qcow2 with encrypt.format=luks: find the crypto header extension (type,
# length, then the offset and length of the LUKS area)
base = open('base.qcow2', 'rb').read()
e = struct.unpack('>I', base[100:104])[0]
while struct.unpack('>I', base[e:e + 4])[0] != 0x0537be77:
    e += 8 + (struct.unpack('>I', base[e + 4:e + 8])[0] + 7) // 8 * 8
luks = struct.unpack('>Q', base[e + 8:e + 16])[0]
be64 = lambda v: struct.pack('>Q', v)
make('bad-qcow2-method.qcow2', 'reject', [(32, be32(7))])
make('bad-qcow2-crypt-offset.qcow2', 'reject', [(e + 8, be64(1 << 50))])
make('bad-qcow2-crypt-length.qcow2', 'reject', [(e + 16, be64(1 << 60))])
make('bad-qcow2-crypt-unaligned.qcow2', 'reject', [(e + 8, be64(luks + 512))])
make('bad-qcow2-crypt-extlen.qcow2', 'reject', [(e + 4, be32(8))])
make('bad-qcow2-luks-magic.qcow2', 'reject', [(luks, b'XXXX')])
make('bad-qcow2-luks-iters.qcow2', 'unlock', [(luks + H + 4, be32(0xffffffff))])
PY

# an ASan binary cannot run under ulimit -v (its allocator limit caps instead)
VMEM=$((2 * 1024 * 1024))
grep -qa __asan_init "$IMGTOOL" && VMEM=unlimited

# run_one CMD...: sets RC, ERRLINES, SECS; never more than 10 s, 2 GiB
run_one() {
	local start end
	start=$(date +%s%N)
	RC=0
	(ulimit -v "$VMEM"; timeout 10 "$@") >out.txt 2>err.txt || RC=$?
	end=$(date +%s%N)
	SECS=$(( (end - start) / 1000000000 ))
	ERRLINES=$(wc -l <err.txt)
}

one_line_failure() {   # what
	if [ "$RC" != 1 ] || [ "$ERRLINES" != 1 ] || ! grep -q '^imgtool: ' err.txt; then
		echo "$1: exit $RC, $ERRLINES stderr lines (want 1 and one 'imgtool:' line)"
		cat err.txt
		return 1
	fi
	if grep -q 'bad-input-passphrase' err.txt out.txt; then
		echo "$1: the passphrase was printed"
		return 1
	fi
}

check_luks() {   # NAME KIND
	local img=$1 kind=$2 fmt=luks key=key-secret
	case $img in *.qcow2) fmt=qcow2 key=encrypt.key-secret ;; esac
	run_one "$IMGTOOL" info -f "$fmt" "$img"
	if [ "$kind" = reject ]; then
		one_line_failure info || return 1
	elif [ "$RC" != 0 ]; then
		echo "info: exit $RC (want 0: the header is fine)"; cat err.txt; return 1
	fi
	run_one "$IMGTOOL" convert $SEC --image-opts "driver=$fmt,$key=s,file.filename=$img" -O raw out.raw
	one_line_failure convert || return 1
	[ "$SECS" -lt 5 ] || { echo "convert took $SECS s"; return 1; }
	[ ! -e out.raw ] || { echo "convert left out.raw"; return 1; }
}

check "bad-luks: the valid base images convert" \
	"$IMGTOOL" convert $SEC --image-opts "driver=luks,key-secret=s,file.filename=base.luks" -O raw base.raw
check "bad-luks: the valid encrypted qcow2 converts" \
	"$IMGTOOL" convert $SEC --image-opts "driver=qcow2,encrypt.key-secret=s,file.filename=base.qcow2" -O raw base2.raw
[ "$(grep -c qcow2 MANIFEST)" -eq 7 ] && ok "bad-luks: the qcow2 cases were made" ||
	ko "bad-luks: the qcow2 cases were made"
while read -r name kind; do
	run_case "bad-luks: $name ($kind)" check_luks "$name" "$kind"
done <MANIFEST
summary
