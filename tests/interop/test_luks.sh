#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/interop/test_luks.sh BUILD_DIR - the luks format and secrets against
# qemu-img/qemu-io 7.2, both directions, byte for byte.
#
#   a. qemu-img creates luks (default xts-plain64, and aes-128 cbc-essiv), qemu-io
#      writes data; imgtool info (human and JSON) is identical to qemu-img's, and
#      imgtool convert -O raw gives qemu-img's bytes.
#   b. imgtool creates luks and converts raw -> luks; qemu-img compare says equal;
#      qemu-io writes into an image imgtool made and imgtool reads it back.
#   c. amend both ways: a slot added by imgtool opens in qemu and the reverse;
#      a slot erased by imgtool no longer opens in qemu.
#   d. a wrong passphrase and a missing secret: one line, exit 1, no output file,
#      the passphrase in no message; data= warns that it shows in ps.
#   e. qcow2 with encrypt.format=luks: qemu's image reads the same and info
#      matches; imgtool's (create, convert -O qcow2 -o encrypt.*, convert -n
#      --target-image-opts) compares equal in qemu and qemu-img check is clean,
#      info and map JSON identical;
#      qemu-io writes into imgtool's and both read the same; amend both ways.
#   f. the old AES-CBC qcow2 (encrypt.format=aes, made by qemu-img): read as
#      qemu reads it; imgtool refuses to write it.
#
# PBKDF2 runs with iter-time=10 so the whole file takes a few seconds.
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_luks "$build"
need_tools test_luks qemu-img qemu-io cmp python3

T=$(mktemp -d /tmp/imgtool-luks.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

printf 'correct horse' >pw
printf 'battery staple' >pw2
printf 'not the password' >bad
SEC="--object secret,id=sec0,file=$T/pw"
SEC2="--object secret,id=sec1,file=$T/pw2"
opts() { echo "driver=luks,key-secret=sec0,file.filename=$1"; }
# qemu-img's PBKDF2 benchmark fails now and then on a loaded machine ("Unable to
# get accurate CPU usage"), more so on a loaded machine: its creates and amends
# get up to five tries
qretry() {
	local i
	for i in 1 2 3 4; do
		"$@" && return 0
		sleep 1
	done
	"$@"
}

# a raw source with data, zeros and a hole, written by qemu-io
setup qemu-img create -q -f raw src.raw 6M || exit 1
setup qemu-io -f raw -c 'write -P 0x5a 0 1M' -c 'write -P 0 2M 512k' -c 'write -P 0xc3 4095k 1025k' src.raw || exit 1

# ---- a. qemu-img writes, imgtool reads ----
qemu_luks() {   # NAME EXTRA_OPTS
	qretry qemu-img create -q -f luks $SEC -o "key-secret=sec0,iter-time=10$2" "$1" 6M &&
	qemu-img convert -n $SEC --target-image-opts src.raw "$(opts "$1")"
}
reads_like_qemu() {   # NAME
	"$IMGTOOL" convert $SEC --image-opts "$(opts "$1")" -O raw ours.raw
	qemu-img convert $SEC --image-opts "$(opts "$1")" -O raw theirs.raw
	cmp ours.raw theirs.raw
	cmp ours.raw src.raw
}
info_like_qemu() {   # NAME
	"$IMGTOOL" info "$1" >i.txt
	qemu-img info "$1" >q.txt
	diff q.txt i.txt
	"$IMGTOOL" info --output=json "$1" >i.json
	qemu-img info --output=json "$1" >q.json
	diff q.json i.json
}
setup qemu_luks q1.luks "" || exit 1
setup qemu_luks q2.luks ",cipher-alg=aes-128,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=sha256,hash-alg=sha1" || exit 1
run_case "a: qemu's luks (xts-plain64) reads as qemu reads it" reads_like_qemu q1.luks
run_case "a: qemu's luks (aes-128 cbc-essiv:sha256, sha1) reads as qemu reads it" reads_like_qemu q2.luks
run_case "a: info human and JSON identical to qemu-img's (xts)" info_like_qemu q1.luks
run_case "a: info human and JSON identical to qemu-img's (cbc-essiv)" info_like_qemu q2.luks

# ---- b. imgtool writes, qemu reads ----
ours_convert() {   # NAME EXTRA_OPTS
	"$IMGTOOL" convert $SEC -f raw src.raw -O luks -o "key-secret=sec0,iter-time=10$2" "$1"
	qemu-img compare $SEC --image-opts "$(opts "$1")" driver=raw,file.filename=src.raw
	info_like_qemu "$1" >/dev/null   # the header parses in qemu
}
run_case "b: imgtool convert raw -> luks: qemu-img compare equal" ours_convert o1.luks ""
run_case "b: imgtool convert raw -> luks aes-128 cbc-essiv: qemu-img compare equal" \
	ours_convert o2.luks ",cipher-alg=aes-128,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=sha256"
run_case "b: imgtool convert raw -> luks aes-256 cbc-plain, sha512" \
	ours_convert o3.luks ",cipher-mode=cbc,ivgen-alg=plain,hash-alg=sha512"
qemu_writes_ours() {
	"$IMGTOOL" create -q -f luks $SEC -o key-secret=sec0,iter-time=10 o4.luks 4M
	qemu-io $SEC --image-opts "$(opts o4.luks)" -c 'write -P 0x77 512 1M' -c 'write -P 0x11 3M 4k'
	qemu-io $SEC --image-opts "$(opts o4.luks)" -c 'read -P 0x77 512 1M' | grep -q 'read 1048576'
	"$IMGTOOL" convert $SEC --image-opts "$(opts o4.luks)" -O raw o4a.raw
	qemu-img convert $SEC --image-opts "$(opts o4.luks)" -O raw o4b.raw
	cmp o4a.raw o4b.raw
}
run_case "b: qemu-io writes into imgtool's luks; both read the same bytes" qemu_writes_ours
ours_writes_unaligned() {
	"$IMGTOOL" convert $SEC -f raw src.raw -O luks -o key-secret=sec0,iter-time=10 o5.luks
	"$IMGTOOL" convert $SEC --image-opts "$(opts o5.luks)" -O luks -o key-secret=sec0,iter-time=10 o6.luks
	qemu-img compare $SEC --image-opts "$(opts o6.luks)" driver=raw,file.filename=src.raw
}
run_case "b: luks -> luks through the copy engine" ours_writes_unaligned

# ---- c. amend key slots both ways ----
amend_ours_then_qemu() {
	"$IMGTOOL" amend $SEC $SEC2 --image-opts "$(opts o1.luks)" \
		-o state=active,new-secret=sec1,keyslot=5,iter-time=10
	qemu-img info --output=json o1.luks | python3 -c '
import json,sys; s=json.load(sys.stdin)["format-specific"]["data"]["slots"]
assert [x["active"] for x in s] == [True,False,False,False,False,True,False,False], s'
	qemu-img compare --object secret,id=sec0,file=$T/pw2 --image-opts "$(opts o1.luks)" \
		driver=raw,file.filename=src.raw
}
run_case "c: imgtool amend adds keyslot 5; qemu opens with the new secret" amend_ours_then_qemu
amend_qemu_then_ours() {
	qretry qemu-img amend $SEC $SEC2 --image-opts "$(opts q1.luks)" -o state=active,new-secret=sec1,iter-time=10
	"$IMGTOOL" convert --object secret,id=sec0,file=$T/pw2 --image-opts "$(opts q1.luks)" -O raw q1new.raw
	cmp q1new.raw src.raw
}
run_case "c: qemu-img amend adds a keyslot; imgtool opens with the new secret" amend_qemu_then_ours
erase_ours() {
	"$IMGTOOL" amend $SEC $SEC2 --image-opts "$(opts q1.luks)" -o state=inactive,old-secret=sec0
	! qemu-img info $SEC --image-opts "$(opts q1.luks)" >/dev/null 2>&1 || true
	if qemu-img convert $SEC --image-opts "$(opts q1.luks)" -O raw gone.raw 2>err.txt; then
		echo "the erased passphrase still opens the image"; return 1
	fi
	grep -q 'Invalid password' err.txt
	qemu-img compare --object secret,id=sec0,file=$T/pw2 --image-opts "$(opts q1.luks)" \
		driver=raw,file.filename=src.raw
}
run_case "c: imgtool amend erases the old passphrase's slot; qemu refuses it" erase_ours
last_slot_kept() {
	if "$IMGTOOL" amend --object secret,id=sec0,file=$T/pw2 --image-opts "$(opts q1.luks)" \
		-o state=inactive,keyslot=1 2>err.txt; then
		echo "the last slot was erased"; return 1
	fi
	[ "$(wc -l <err.txt)" -eq 1 ]
}
run_case "c: the only active keyslot is never erased" last_slot_kept

# ---- d. wrong and missing secrets ----
wrong_pass() {
	if "$IMGTOOL" convert --object secret,id=sec0,file=$T/bad --image-opts "$(opts o1.luks)" \
		-O raw w.raw 2>err.txt; then
		return 1
	fi
	cat err.txt
	[ "$(wc -l <err.txt)" -eq 1 ]
	grep -q 'Invalid password' err.txt
	! grep -q 'not the password' err.txt
	[ ! -e w.raw ]
}
run_case "d: a wrong passphrase: one line, exit 1, no output" wrong_pass
missing_secret() {
	if "$IMGTOOL" convert -f luks o1.luks -O raw m.raw 2>err.txt; then return 1; fi
	grep -q "Parameter 'key-secret' is required" err.txt
	[ "$(wc -l <err.txt)" -eq 1 ]
	if "$IMGTOOL" convert --image-opts driver=luks,key-secret=nosuch,file.filename=o1.luks \
		-O raw m.raw 2>err.txt; then return 1; fi
	grep -q "No secret with id 'nosuch'" err.txt
	if "$IMGTOOL" create -f luks m.luks 1M 2>err.txt; then return 1; fi
	grep -q "key-secret" err.txt
	[ ! -e m.raw ] && [ ! -e m.luks ]
}
run_case "d: a missing secret is refused in one line" missing_secret
data_warns() {
	"$IMGTOOL" create -q -f luks --object secret,id=sec0,data=s3cr3t-word \
		-o key-secret=sec0,iter-time=10 dw.luks 1M 2>err.txt
	grep -q 'warning: .*data=' err.txt
	! grep -q 's3cr3t-word' err.txt
	qemu-img compare --object secret,id=sec0,data=s3cr3t-word --image-opts \
		"$(opts dw.luks)" --image-opts "$(opts dw.luks)"
}
run_case "d: data= works and warns that it shows in ps" data_warns

# ---- e. qcow2 with encrypt.format=luks ----
qopts() { echo "driver=qcow2,encrypt.key-secret=sec0,file.filename=$1"; }
QENC="encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10"
qcow2_theirs() {
	qretry qemu-img create -q -f qcow2 $SEC -o "$QENC" qe1.qcow2 6M
	qemu-img convert -n $SEC -f raw src.raw --target-image-opts "$(qopts qe1.qcow2)"
	"$IMGTOOL" convert $SEC --image-opts "$(qopts qe1.qcow2)" -O raw qe1.raw
	cmp qe1.raw src.raw
	"$IMGTOOL" info qe1.qcow2 >i.txt; qemu-img info qe1.qcow2 >q.txt; diff q.txt i.txt
	"$IMGTOOL" info --output=json qe1.qcow2 >i.json
	qemu-img info --output=json qe1.qcow2 >q.json
	diff q.json i.json
	"$IMGTOOL" check $SEC --image-opts "$(qopts qe1.qcow2)"
}
run_case "e: qemu's qcow2+luks: imgtool reads qemu's bytes, info identical, check clean" qcow2_theirs
qcow2_ours() {
	"$IMGTOOL" convert $SEC -f raw src.raw -O qcow2 -o "$QENC" oe1.qcow2
	qemu-img compare $SEC --image-opts "$(qopts oe1.qcow2)" driver=raw,file.filename=src.raw
	qemu-img check $SEC --image-opts "$(qopts oe1.qcow2)"
	"$IMGTOOL" create -q -f qcow2 $SEC -o "$QENC" oe2.qcow2 6M
	"$IMGTOOL" convert $SEC -n -f raw src.raw --target-image-opts "$(qopts oe2.qcow2)"
	qemu-img compare $SEC --image-opts "$(qopts oe2.qcow2)" driver=raw,file.filename=src.raw
	qemu-img check $SEC --image-opts "$(qopts oe2.qcow2)"
	"$IMGTOOL" info --output=json oe2.qcow2 >i.json
	qemu-img info --output=json oe2.qcow2 >q.json
	diff q.json i.json
	# no host offsets for ciphertext, as qemu-img map shows
	"$IMGTOOL" map --output=json $SEC --image-opts "$(qopts oe2.qcow2)" >i.json
	qemu-img map --output=json $SEC --image-opts "$(qopts oe2.qcow2)" >q.json
	diff q.json i.json
	! grep -q '"offset"' i.json
}
run_case "e: imgtool's qcow2+luks: qemu-img compare equal, check clean, info identical" qcow2_ours
qcow2_qemu_io() {
	qemu-io $SEC --image-opts "$(qopts oe1.qcow2)" -c 'write -P 0x99 4096 70k' -c 'write -P 0x21 5M 3k'
	qemu-img check $SEC --image-opts "$(qopts oe1.qcow2)"
	"$IMGTOOL" convert $SEC --image-opts "$(qopts oe1.qcow2)" -O raw oe1a.raw
	qemu-img convert $SEC --image-opts "$(qopts oe1.qcow2)" -O raw oe1b.raw
	cmp oe1a.raw oe1b.raw
	# and imgtool's own partial writes (copy-on-write of encrypted clusters)
	"$IMGTOOL" convert $SEC --image-opts "$(qopts oe1.qcow2)" -O qcow2 -o "$QENC" oe3.qcow2
	qemu-img compare $SEC --image-opts "$(qopts oe3.qcow2)" driver=raw,file.filename=oe1b.raw
}
run_case "e: qemu-io writes into imgtool's qcow2+luks; qcow2+luks -> qcow2+luks" qcow2_qemu_io
qcow2_amend() {
	"$IMGTOOL" amend $SEC $SEC2 --image-opts "$(qopts oe2.qcow2)" \
		-o encrypt.state=active,encrypt.new-secret=sec1,encrypt.iter-time=10
	qemu-img compare --object secret,id=sec0,file=$T/pw2 --image-opts "$(qopts oe2.qcow2)" \
		driver=raw,file.filename=src.raw
	qemu-img check --object secret,id=sec0,file=$T/pw2 --image-opts "$(qopts oe2.qcow2)"
	qretry qemu-img amend $SEC $SEC2 --image-opts "$(qopts qe1.qcow2)" \
		-o encrypt.state=active,encrypt.new-secret=sec1,encrypt.keyslot=7,encrypt.iter-time=10
	"$IMGTOOL" compare --object secret,id=sec0,file=$T/pw2 --image-opts "$(qopts qe1.qcow2)" \
		driver=raw,file.filename=src.raw
}
run_case "e: qcow2 amend adds keyslots both ways" qcow2_amend
qcow2_no_key() {
	if "$IMGTOOL" convert -f qcow2 qe1.qcow2 -O raw nk.raw 2>err.txt; then return 1; fi
	grep -q "Parameter 'encrypt.key-secret' is required" err.txt
	[ "$(wc -l <err.txt)" -eq 1 ]
	if "$IMGTOOL" convert --object secret,id=sec0,file=$T/bad --image-opts "$(qopts qe1.qcow2)" \
		-O raw nk.raw 2>err.txt; then return 1; fi
	grep -q 'Invalid password' err.txt
	[ ! -e nk.raw ]
}
run_case "e: qcow2+luks without the key or with a wrong one: one line" qcow2_no_key

# ---- f. the old AES-CBC qcow2 ----
aes_read() {
	qretry qemu-img create -q -f qcow2 $SEC -o encrypt.format=aes,encrypt.key-secret=sec0 aes.qcow2 6M
	qemu-img convert -n $SEC -f raw src.raw --target-image-opts "$(qopts aes.qcow2)"
	"$IMGTOOL" convert $SEC --image-opts "$(qopts aes.qcow2)" -O raw aes.raw
	cmp aes.raw src.raw
	"$IMGTOOL" info --output=json aes.qcow2 >i.json
	qemu-img info --output=json aes.qcow2 >q.json
	diff q.json i.json
	if "$IMGTOOL" resize $SEC --image-opts "$(qopts aes.qcow2)" 8M 2>err.txt; then return 1; fi
	grep -q 'read-only' err.txt
}
run_case "f: AES-CBC qcow2 reads as qemu wrote it and is refused for writing" aes_read

summary
