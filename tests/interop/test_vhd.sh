#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/test_vhd.sh BUILD_DIR - the VHD ("vpc") format against qemu-img 7.2.
#
#   a. qemu-img writes vpc (dynamic, fixed, force_size), imgtool reads: converting to
#      raw gives the same bytes as qemu-img's own conversion; info and map agree.
#   b. imgtool creates vpc images: metadata byte-identical to qemu-img's (timestamps,
#      checksums and unique ids aside) for every subformat and several sizes.
#   c. imgtool writes vpc (dynamic, fixed, force_size, azure, hyperv) from a raw source
#      with data, zeros and holes: qemu-img compare equal, sizes as qemu-img says,
#      Azure's rule (file size - 512) % 1 MiB == 0; vhd <-> qcow2 both ways.
#   d. fixtures qemu-img cannot make (fixtures/make-vhd.py): Hyper-V and Disk2vhd
#      style disks and a differencing chain read back as expected.
#   e. malformed images: one line of error, nonzero exit, no crash.
#
# One "PASS name" / "FAIL name" line per case, then "N passed, N failed".
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_vhd "$build"
need_tools test_vhd qemu-img qemu-io python3 cmp

T=$(mktemp -d /tmp/imgtool-vhd.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

passed=0
failed=0
LOG=$T/case.log

# run NAME CMD...: the case passes when CMD exits 0
run() {
	local name=$1
	shift
	if "$@" >"$LOG" 2>&1; then
		echo "PASS $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		sed 's/^/    /' "$LOG" | tail -n 20
		failed=$((failed + 1))
	fi
}

# Metadata of two VHDs equal, footers' timestamp, checksum and unique id aside.
cat >hdrcmp.py <<'EOF'
import os, sys
def norm(p):
    size = os.path.getsize(p)
    with open(p, 'rb') as f:
        head = bytearray(f.read(1 << 20))
        f.seek(max(0, size - 512))
        tail = bytearray(f.read(512))
    for b in (head, tail):
        for o in range(0, len(b), 512):
            if b[o:o + 8] == b'conectix':
                b[o + 24:o + 28] = b'\0' * 4
                b[o + 64:o + 84] = b'\0' * 20
    return size, bytes(head), bytes(tail)
a, c = norm(sys.argv[1]), norm(sys.argv[2])
if a != c:
    print("metadata differs:", sys.argv[1], a[0], sys.argv[2], c[0])
    sys.exit(1)
EOF

json_field() { # FILE KEY [FMT]: a number from qemu-img info --output=json
	qemu-img info ${3:+-f $3} --output=json "$1" |
		python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}

# A raw source: random data at odd offsets, zeros written as data, holes.
python3 - <<'EOF'
import os, random
random.seed(7)
size = 70 * 1024 * 1024 + 123 * 512
with open('src.raw', 'wb') as f:
    f.truncate(size)
    for i in range(40):
        off = random.randrange(0, size - (1 << 20)) // 512 * 512 + random.choice([0, 512, 1536])
        f.seek(off)
        f.write(os.urandom(random.choice([512, 4096, 65536, 1 << 20])))
    f.seek(20 * 1024 * 1024)
    f.write(b'\0' * (3 * 1024 * 1024))
    f.seek(size - 700)
    f.write(os.urandom(700))
EOF
SRC_SIZE=$(stat -c %s src.raw)

# ---- a. qemu-img writes, imgtool reads ------------------------------------------
for o in subformat=dynamic subformat=fixed force_size=on subformat=fixed,force_size=on; do
	case_a() {
		rm -f q.vhd q.raw i.raw
		qemu-img convert -f raw -O vpc -o "$1" src.raw q.vhd &&
		qemu-img convert -f vpc -O raw q.vhd q.raw &&
		"$IMGTOOL" convert -f vpc -O raw q.vhd i.raw &&
		cmp q.raw i.raw &&
		[ "$(json_field q.vhd virtual-size vpc)" = \
		  "$("$IMGTOOL" info -f vpc --output=json q.vhd | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" ]
	}
	run "qemu vpc $o -> imgtool raw identical" case_a "$o"
done
case_a_json() {
	qemu-img convert -f raw -O vpc src.raw q.vhd &&
	diff <(qemu-img info --output=json q.vhd | grep -v actual-size) \
	     <("$IMGTOOL" info --output=json q.vhd | grep -v actual-size) &&
	diff <(qemu-img map --output=json q.vhd) <("$IMGTOOL" map --output=json q.vhd)
}
run "qemu vpc dynamic: info and map JSON equal" case_a_json
case_a_vhd_alias() {
	"$IMGTOOL" info -f vhd q.vhd | grep -q 'file format: vpc' &&
	"$IMGTOOL" info q.vhd | grep -q 'file format: vpc'
}
run "-f vhd alias and probing" case_a_vhd_alias

# ---- b. create: same metadata as qemu-img ----------------------------------------
case_b() {
	for s in 1000 513 3M 64M 1G 10G 127G 200G 2040G; do
		rm -f i.vhd q.vhd
		"$IMGTOOL" create -q -f vpc ${1:+-o $1} i.vhd $s &&
		qemu-img create -q -f vpc ${1:+-o $1} q.vhd $s &&
		python3 hdrcmp.py i.vhd q.vhd || { echo "size $s"; return 1; }
	done
	rm -f i.vhd q.vhd
}
for o in "" subformat=fixed force_size=on subformat=fixed,force_size=on; do
	run "create ${o:-default} metadata equals qemu-img's" case_b "$o"
done
case_b_toobig() {
	! "$IMGTOOL" create -q -f vpc big.vhd 2041G 2>err.txt && [ "$(wc -l <err.txt)" = 1 ]
}
run "create 2041G refused with one line" case_b_toobig

# ---- c. imgtool writes, qemu-img reads --------------------------------------------
for o in subformat=dynamic subformat=fixed force_size=on subformat=fixed,force_size=on \
	 azure=on hyperv=on subformat=fixed,hyperv=on; do
	case_c() {
		rm -f t.vhd q.vhd
		"$IMGTOOL" convert -f raw -O vpc -o "$1" src.raw t.vhd || return 1
		qemu-img compare -f raw -F vpc src.raw t.vhd || return 1
		local vs
		vs=$(json_field t.vhd virtual-size vpc)
		case $1 in
		*azure*)
			[ $(( $(stat -c %s t.vhd) - 512 )) -eq $(( (SRC_SIZE + 1048575) / 1048576 * 1048576 )) ] ||
				{ echo "azure: file size $(stat -c %s t.vhd)"; return 1; }
			[ $(( ($(stat -c %s t.vhd) - 512) % 1048576 )) -eq 0 ] || return 1
			[ "$vs" -eq $(( (SRC_SIZE + 1048575) / 1048576 * 1048576 )) ] || return 1 ;;
		*force_size*|*hyperv*)
			[ "$vs" -eq "$SRC_SIZE" ] || { echo "virtual size $vs"; return 1; } ;;
		*)
			# rounded up to the CHS size exactly as qemu-img does
			qemu-img convert -f raw -O vpc -o "$1" src.raw q.vhd &&
			[ "$vs" = "$(json_field q.vhd virtual-size vpc)" ] || return 1
			[ "$(stat -c %s t.vhd)" = "$(stat -c %s q.vhd)" ] ||
				{ echo "file size $(stat -c %s t.vhd) vs qemu $(stat -c %s q.vhd)"; return 1; } ;;
		esac
		"$IMGTOOL" check -f vpc t.vhd
	}
	run "imgtool raw -> vpc $o, qemu-img compare" case_c "$o"
done
case_c_holes() {
	# holes stay holes: a dynamic target allocates no block the source lacks
	rm -f t.vhd q.vhd
	"$IMGTOOL" convert -f raw -O vpc src.raw t.vhd &&
	qemu-img convert -f raw -O vpc src.raw q.vhd &&
	diff <(qemu-img map --output=json t.vhd | sed 's/"offset": [0-9]*//') \
	     <(qemu-img map --output=json q.vhd | sed 's/"offset": [0-9]*//') &&
	rm -f t.vhd && "$IMGTOOL" convert -f raw -O vpc -o subformat=fixed src.raw t.vhd &&
	[ "$(stat -c %b t.vhd)" -le $(( $(stat -c %b src.raw) + 8 )) ]
}
run "holes stay holes (dynamic map equals qemu's, fixed sparse)" case_c_holes
case_c_qcow2() {
	rm -f a.qcow2 b.vhd c.qcow2 d.vhd
	qemu-img convert -f raw -O qcow2 src.raw a.qcow2 &&
	"$IMGTOOL" convert -f qcow2 -O vpc a.qcow2 b.vhd &&
	qemu-img compare -f qcow2 -F vpc a.qcow2 b.vhd &&
	"$IMGTOOL" convert -f vpc -O qcow2 b.vhd c.qcow2 &&
	qemu-img check c.qcow2 &&
	qemu-img compare -f vpc -F qcow2 b.vhd c.qcow2 &&
	"$IMGTOOL" convert -f qcow2 -O vpc -o subformat=fixed c.qcow2 d.vhd &&
	qemu-img compare -f raw -F vpc src.raw d.vhd
}
run "qcow2 -> vpc -> qcow2 -> vpc fixed through imgtool" case_c_qcow2
case_c_qemu_io() {
	# qemu-io writes into an imgtool image, imgtool writes into a qemu one
	rm -f t.vhd q.vhd
	"$IMGTOOL" create -q -f vpc t.vhd 20M &&
	qemu-io -f vpc -c 'write -P 0x5a 3M 100k' -c 'write -P 0x33 17M 1k' t.vhd &&
	qemu-img create -q -f vpc q.vhd 20M &&
	qemu-io -f vpc -c 'write -P 0x77 0 5M' -c 'write -P 0x11 12M 3M' q.vhd &&
	"$IMGTOOL" convert -n -f vpc -O vpc t.vhd q.vhd &&
	qemu-img compare -f vpc -F vpc t.vhd q.vhd
}
run "qemu-io writes an imgtool image, convert -n over a qemu image" case_c_qemu_io

case_c_kill() {
	# killed in the middle of a convert: at worst leaked blocks (check 0 or 3),
	# and qemu-img still reads the image
	local rc landed=0
	python3 -c "
import os
with open('kill.raw', 'wb') as f:
    for i in range(96):
        f.write(os.urandom(1 << 20))
"
	for mb in 8 40; do
		rm -f k.vhd
		"$IMGTOOL" convert -f raw -O vpc -t writeback kill.raw k.vhd &
		local p=$! n=0
		# kill once the copy is under way (the header is written by then)
		while [ $n -lt 500 ] && [ "$(stat -c %s k.vhd 2>/dev/null || echo 0)" -lt $((mb << 20)) ]; do
			sleep 0.01
			n=$((n + 1))
		done
		kill -9 $p 2>/dev/null && landed=$((landed + 1))
		wait $p 2>/dev/null
		"$IMGTOOL" check k.vhd
		rc=$?
		[ $rc -eq 0 ] || [ $rc -eq 3 ] || { echo "check exit $rc"; return 1; }
		qemu-img convert -f vpc -O raw k.vhd k.raw || return 1
		if [ $rc -eq 3 ]; then
			"$IMGTOOL" check -r leaks k.vhd >/dev/null
			rc=$?
			[ $rc -eq 0 ] || [ $rc -eq 3 ] || return 1
			qemu-img compare -f vpc -F raw k.vhd k.raw || return 1
		fi
	done
	rm -f kill.raw k.raw k.vhd
	# a kill after convert ended proved nothing: one of the two must have landed
	echo "$landed of 2 kills landed while convert ran"
	[ "$landed" -gt 0 ]
}
run "killed convert leaves a readable image (at worst leaks)" case_c_kill

# ---- d. fixtures qemu-img cannot write --------------------------------------------
python3 "$top/fixtures/make-vhd.py" fx >/dev/null || { echo "FAIL make-vhd.py"; failed=$((failed + 1)); }
for n in hyperv disk2vhd parent child grandchild; do
	case_d() {
		rm -f fx/o.raw
		"$IMGTOOL" convert -O raw "fx/$1.vhd" fx/o.raw && cmp fx/o.raw "fx/$1.raw"
	}
	run "fixture $n reads as expected" case_d "$n"
done
case_d_sizes() {
	# Hyper-V and Disk2vhd: current_size, not the (smaller) CHS size
	[ "$("$IMGTOOL" info --output=json fx/hyperv.vhd | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" = \
	  "$(stat -c %s fx/hyperv.raw)" ] &&
	[ "$(json_field fx/hyperv.vhd virtual-size)" = "$(stat -c %s fx/hyperv.raw)" ]
}
run "Hyper-V size from current_size, as qemu" case_d_sizes
case_d_chain() {
	"$IMGTOOL" info fx/child.vhd | grep -q 'backing file: parent.vhd' &&
	"$IMGTOOL" info fx/child.vhd | grep -q 'backing file format: vpc' &&
	"$IMGTOOL" compare fx/child.vhd fx/child.raw &&
	"$IMGTOOL" convert -O qcow2 fx/grandchild.vhd g.qcow2 &&
	qemu-img compare -f qcow2 -F raw g.qcow2 fx/grandchild.raw
}
run "differencing chain: info, compare, convert" case_d_chain
case_d_ro() {
	! "$IMGTOOL" resize fx/child.vhd 30M 2>/dev/null &&
	! "$IMGTOOL" convert -n -O vpc src.raw fx/child.vhd 2>err.txt &&
	grep -q 'read-only' err.txt
}
run "differencing disks are read-only" case_d_ro

# ---- e. malformed images -----------------------------------------------------------
for f in fx/bad-*.vhd; do
	case_e() {
		local rc
		"$IMGTOOL" convert -O raw "$1" bad.raw 2>err.txt
		rc=$?
		cat err.txt
		[ $rc -ne 0 ] && [ $rc -lt 128 ] && [ "$(wc -l <err.txt)" = 1 ] &&
		grep -q "^imgtool: .*$(basename "$1")" err.txt
		local ok=$?
		# info does not open the parent (as qemu-img): chain faults show in convert
		case $1 in *loop*|*parent-uuid*) return $ok ;; esac
		"$IMGTOOL" info "$1" >/dev/null 2>&1
		rc=$?
		[ $ok -eq 0 ] && [ $rc -ne 0 ] && [ $rc -lt 128 ]
	}
	run "bad input $(basename "$f"): one-line error" case_e "$f"
done
case_e_check() {
	local rc
	"$IMGTOOL" check fx/bad-bat-eof.vhd
	rc=$?
	[ $rc -eq 2 ] || return 1
	"$IMGTOOL" check fx/hyperv.vhd
}
run "check reports BAT entries past the end (exit 2)" case_e_check

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
