#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/serve/test_nbd.sh BUILD_DIR - `imgtool serve` against qemu's own NBD client.
#
# For every format imgtool writes (qcow2 plain, compressed and with a backing
# chain, vmdk, vpc, vhdx, raw): qemu-img info/compare/convert through
# nbd+unix:// and nbd://127.0.0.1, and `qemu-img map --output=json` through the
# export equal to the same map through qemu-nbd serving the same image (the
# oracle: holes and zeros must show).  qemu-io writes, FUA writes, zeroing with
# and without NO_HOLE, and discards through the export give the same disk as the
# same qemu-io commands run on a copy directly; the image then passes
# qemu-img check, also after the server was stopped with SIGTERM.  --read-only
# refuses writes.  Garbage clients (junk, truncated handshakes, bad magic,
# oversized requests, random bytes after a good handshake, one idle client) do not
# crash or block the server.  Four clients at once (--shared 4) write and read
# their own regions.  --fork/--pidfile, export names.  No server is left behind.
# Prints "PASS name" / "FAIL name".
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_nbd "$build"
need_tools test_nbd qemu-img qemu-io qemu-nbd python3

dir=$(mktemp -d /var/tmp/imgtool-serve-test.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	pkill -KILL -f -- "$dir/" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

# start NAME ARGS... : imgtool serve ARGS in the background; waits until it prints
# its URL (it listens then); sets SPID and URL.
start() {
	local name=$1 i
	shift
	"$IMGTOOL" serve "$@" >"$dir/$name.url" 2>"$dir/$name.err" &
	SPID=$!
	pids+=("$SPID")
	URL=
	for i in $(seq 1 200); do
		URL=$(head -n 1 "$dir/$name.url" 2>/dev/null)
		[ -n "$URL" ] && return 0
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.05
	done
	echo "  server $name did not start: $(cat "$dir/$name.err")"
	return 1
}
# stop: SIGTERM, and the server must exit by itself with status 0 (under
# IMGTOOL_BIN=build-asan/imgtool a sanitizer report makes that nonzero)
stop() {
	local i rc
	kill -TERM "$SPID" 2>/dev/null
	for i in $(seq 1 200); do
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.05
	done
	wait "$SPID" 2>/dev/null
	rc=$?
	if [ $rc != 0 ]; then
		ko "server exited $rc after SIGTERM"
		tail -n 20 "$dir"/*.err | sed 's/^/  /'
	fi
}
qnbd_map() { # image fmt -> the map through qemu-nbd
	local sock=$dir/qnbd.sock
	rm -f "$sock"
	qemu-nbd -r -f "$2" -k "$sock" "$1" &
	local qp=$! i
	for i in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.05; done
	qemu-img map --output=json "nbd+unix:///?socket=$sock"
	kill "$qp" 2>/dev/null; wait "$qp" 2>/dev/null
}

# ---- images: the same deterministic disk in every format ----
python3 "$top/fixtures/make-raw.py" "$dir/src.raw" 24M --seed 7 >/dev/null
declare -A FMT
for f in qcow2 vmdk vpc vhdx raw; do
	"$IMGTOOL" convert -O "$f" "$dir/src.raw" "$dir/img.$f" && FMT[img.$f]=$f
done
"$IMGTOOL" convert -c -O qcow2 "$dir/src.raw" "$dir/comp.qcow2" && FMT[comp.qcow2]=qcow2
# backing chain: base (the raw's data) + overlay with writes and zeros of its own
"$IMGTOOL" convert -O qcow2 "$dir/src.raw" "$dir/base.qcow2"
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$dir/over.qcow2"
qemu-io -f qcow2 -c "write -P 0x5a 3M 512k" -c "write -z 10M 2M" "$dir/over.qcow2" >/dev/null &&
	FMT[over.qcow2]=qcow2

# ---- read paths ----
port=$((20000 + RANDOM % 20000))
for img in img.qcow2 comp.qcow2 over.qcow2 img.vmdk img.vpc img.vhdx img.raw; do
	f=${FMT[$img]:-}
	if [ -z "$f" ]; then ko "$img: could not be made"; continue; fi
	if ! start "$img" -f "$f" --read-only --socket "$dir/$img.sock" "$dir/$img"; then
		ko "$img: serve"; continue
	fi
	u="nbd+unix:///?socket=$dir/$img.sock"
	[ "$URL" = "$u" ] && ok "$img: prints its URL" || ko "$img: URL '$URL' (want $u)"
	want=$(qemu-img info --output=json -f "$f" "$dir/$img" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
	got=$(qemu-img info --output=json "$u" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
	[ -n "$got" ] && [ "$got" = "$want" ] && ok "$img: info size over nbd+unix" ||
		ko "$img: info size $got (want $want)"
	qemu-img compare -f "$f" -F raw "$dir/$img" "$u" >/dev/null &&
		ok "$img: compare over nbd+unix" || ko "$img: compare over nbd+unix"
	qemu-img map --output=json "$u" >"$dir/map.got"
	qnbd_map "$dir/$img" "$f" >"$dir/map.want"
	# where the file itself maps holes (qemu-img map on the file), NBD must show some
	holes=0
	qemu-img map --output=json -f "$f" "$dir/$img" | grep -q '"data": false' && holes=1
	if [ -s "$dir/map.got" ] && cmp -s "$dir/map.got" "$dir/map.want"; then
		if [ $holes = 0 ] || grep -q '"data": false' "$dir/map.got"; then
			ok "$img: map over NBD equals qemu-nbd's (holes/zeros shown)"
		else
			ko "$img: map shows no hole"
		fi
	else
		ko "$img: map differs from qemu-nbd's"
		diff "$dir/map.want" "$dir/map.got" | head -n 10 | sed 's/^/  /'
	fi
	rm -f "$dir/conv.qcow2"
	qemu-img convert -f raw -O qcow2 "$u" "$dir/conv.qcow2" &&
		qemu-img compare -f qcow2 -F raw "$dir/conv.qcow2" "$dir/src.raw" >/dev/null &&
		[ "$img" != over.qcow2 ] && ok "$img: convert from NBD" ||
		{ [ "$img" = over.qcow2 ] && qemu-img compare -f qcow2 -F qcow2 "$dir/conv.qcow2" "$dir/over.qcow2" >/dev/null &&
		  ok "$img: convert from NBD"; } || ko "$img: convert from NBD"
	stop
	[ -e "$dir/$img.sock" ] && ko "$img: socket left behind" || ok "$img: socket removed on SIGTERM"
	# TCP
	if start "$img-tcp" -f "$f" --read-only --port "$port" "$dir/$img"; then
		qemu-img compare -f "$f" -F raw "$dir/$img" "nbd://127.0.0.1:$port" >/dev/null &&
			ok "$img: compare over nbd://127.0.0.1" || ko "$img: compare over nbd://127.0.0.1"
		stop
	else
		ko "$img: serve on TCP"
	fi
	port=$((port + 1))
done

# ---- writes through NBD against the same qemu-io commands run directly ----
IO=(-c "write -P 0x11 0 64k" -c "write -P 0x22 -f 1000k 100k" -c "write -z 2M 1M"
    -c "write -z -u 5M 1536k" -c "discard 8M 1M" -c "write -P 0x33 23M 1M" -c "flush")
for img in img.qcow2 img.vmdk img.vpc img.vhdx img.raw over.qcow2; do
	f=${FMT[$img]:-}
	[ -n "$f" ] || continue
	cp "$dir/$img" "$dir/w.$img"
	cp "$dir/$img" "$dir/x.$img"
	if ! start "w.$img" -f "$f" --shared 2 --socket "$dir/w.sock" "$dir/w.$img"; then
		ko "w.$img: serve"; continue
	fi
	if qemu-io -f raw "${IO[@]}" "nbd+unix:///?socket=$dir/w.sock" >"$dir/io.out" 2>&1 &&
	   ! grep -qi "error\|failed" "$dir/io.out"; then
		ok "$img: qemu-io writes/zeroes/discards through NBD"
	else
		ko "$img: qemu-io through NBD: $(head -n 3 "$dir/io.out")"
	fi
	stop   # SIGTERM: flush and close
	qemu-io -f "$f" "${IO[@]}" "$dir/x.$img" >/dev/null 2>&1
	qemu-img compare -f "$f" -F "$f" "$dir/w.$img" "$dir/x.$img" >/dev/null &&
		ok "$img: written through NBD == written directly" ||
		ko "$img: written through NBD differs from written directly"
	# qemu-img check has no vpc or raw checker
	if [ "$f" = raw ] || [ "$f" = vpc ]; then continue; fi
	qemu-img check -f "$f" "$dir/w.$img" >"$dir/check.out" 2>&1 &&
		ok "$img: qemu-img check after SIGTERM" || { ko "$img: qemu-img check"; head -n 5 "$dir/check.out"; }
done

# ---- several clients at once (--shared): each writes its own region ----
for img in img.qcow2 img.vhdx; do
	f=${FMT[$img]}
	cp "$dir/$img" "$dir/c.$img"
	cp "$dir/$img" "$dir/d.$img"
	start "c.$img" -f "$f" --shared 4 --socket "$dir/c.sock" "$dir/c.$img" || { ko "c.$img: serve"; continue; }
	cpids=()
	for k in 0 1 2 3; do
		qemu-io -f raw -c "write -P $((k + 1)) $((k * 5))M 3M" -c "write -z $((k * 5 + 3))M 1M" \
			-c "read -P $((k + 1)) $((k * 5))M 3M" "nbd+unix:///?socket=$dir/c.sock" >"$dir/c$k.out" 2>&1 &
		cpids+=($!)
	done
	fails=0
	for p in "${cpids[@]}"; do wait "$p" || fails=$((fails + 1)); done
	grep -qi "fail\|error\|mismatch" "$dir"/c?.out && fails=$((fails + 1))
	stop
	for k in 0 1 2 3; do
		qemu-io -f "$f" -c "write -P $((k + 1)) $((k * 5))M 3M" -c "write -z $((k * 5 + 3))M 1M" "$dir/d.$img" >/dev/null
	done
	if [ $fails = 0 ] && qemu-img compare -f "$f" -F "$f" "$dir/c.$img" "$dir/d.$img" >/dev/null; then
		ok "$img: 4 concurrent clients (--shared 4) write and read back their regions"
	else
		ko "$img: concurrent clients ($fails failed)"
	fi
done

# ---- --read-only refuses writes ----
cp "$dir/img.qcow2" "$dir/ro.qcow2"
sum=$(md5sum <"$dir/ro.qcow2")
if start ro -f qcow2 --read-only --socket "$dir/ro.sock" "$dir/ro.qcow2"; then
	out=$(qemu-io -f raw -c "write -P 0x44 0 4k" "nbd+unix:///?socket=$dir/ro.sock" 2>&1)
	out2=$(qemu-io -f raw -c "write -z 0 4k" "nbd+unix:///?socket=$dir/ro.sock" 2>&1)
	if echo "$out" | grep -qi "permi\|read-only\|read only" && echo "$out2" | grep -qi "permi\|read-only\|read only"; then
		ok "--read-only: writes and zeroing refused"
	else
		ko "--read-only: writes not refused: $out / $out2"
	fi
	stop
	[ "$(md5sum <"$dir/ro.qcow2")" = "$sum" ] && ok "--read-only: image untouched" ||
		ko "--read-only: image changed"
else
	ko "--read-only: serve"
fi

# ---- export names ----
if start named -f qcow2 --read-only --export-name disk1 --socket "$dir/n.sock" "$dir/img.qcow2"; then
	qemu-img compare -F raw -f qcow2 "$dir/img.qcow2" "nbd+unix:///disk1?socket=$dir/n.sock" >/dev/null &&
		ok "export name: the named export serves" || ko "export name: named export"
	qemu-img info "nbd+unix:///other?socket=$dir/n.sock" >/dev/null 2>&1 &&
		ko "export name: an unknown name was accepted" || ok "export name: an unknown name is refused"
	stop
else
	ko "export name: serve (its 2 cases did not run)"
fi

# ---- bad clients ----
cat >"$dir/garbage.py" <<'PY'
import os, random, socket, struct, sys, time
path = sys.argv[1]
random.seed(int(sys.argv[2]))
OPTS = 0x49484156454F5054
REP = 0x3e889045565a9
def conn():
    s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(path); return s
def recvn(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: raise EOFError
        b += c
    return b
def hello(s):
    g = recvn(s, 18); assert g[:8] == b"NBDMAGIC"; s.sendall(struct.pack(">I", 3))
def go(s, structured=False):
    hello(s)
    if structured:
        s.sendall(struct.pack(">QII", OPTS, 8, 0)); rep(s)
    s.sendall(struct.pack(">QII", OPTS, 7, 6) + struct.pack(">IH", 0, 0))
    while True:
        t, d = rep(s)
        if t == 1: break
def rep(s):
    m, o, t, l = struct.unpack(">QIII", recvn(s, 20)); assert m == REP; return t, recvn(s, l)
def closed(s):   # the server hangs up (whatever it sent before)
    try:
        while s.recv(4096):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
results = []
def case(name, f):
    try:
        f(); results.append("ok " + name)
    except Exception as e:
        results.append("BAD %s: %r" % (name, e))
def junk():
    s = conn(); s.sendall(os.urandom(4096)); assert closed(s)
def truncated():
    for n in (0, 1, 3):
        s = conn(); recvn(s, 18); s.sendall(b"\0" * n); s.close()
    s = conn(); s.close()
def bad_option_magic():
    s = conn(); hello(s); s.sendall(struct.pack(">QII", 0x1234, 7, 0)); assert closed(s)
def huge_option():
    s = conn(); hello(s); s.sendall(struct.pack(">QII", OPTS, 7, 0xffffffff)); assert closed(s)
def bad_info():
    s = conn(); hello(s)
    s.sendall(struct.pack(">QII", OPTS, 7, 6) + struct.pack(">IH", 1000, 0))
    t, d = rep(s); assert t & 0x80000000, t
    s.sendall(struct.pack(">QII", OPTS, 99, 0)); t, d = rep(s); assert t == 0x80000001, t
    s.sendall(struct.pack(">QII", OPTS, 2, 0)); s.close()
def bad_request_magic():
    s = conn(); go(s); s.sendall(b"\xde\xad\xbe\xef" + b"\0" * 24); assert closed(s)
def oversized_write():
    s = conn(); go(s); s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, 1, 1, 0, 64 << 20)); assert closed(s)
def oversized_read():
    s = conn(); go(s)
    s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, 0, 7, 0, 64 << 20))
    m, err, h = struct.unpack(">IIQ", recvn(s, 16)); assert m == 0x67446698 and err == 22 and h == 7
    s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, 0, 8, 1 << 50, 512))
    m, err, h = struct.unpack(">IIQ", recvn(s, 16)); assert err == 22 and h == 8
    s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, 0, 9, 0, 512))
    m, err, h = struct.unpack(">IIQ", recvn(s, 16)); assert err == 0; recvn(s, 512)
    s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, 7, 10, 0, 512))   # block status, no context
    m, err, h = struct.unpack(">IIQ", recvn(s, 16)); assert err == 22
    s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, 2, 11, 0, 0)); assert closed(s)
def structured_errors():
    s = conn(); go(s, structured=True)
    s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, 0, 5, 1 << 40, 512))
    m, fl, t, h, l = struct.unpack(">IHHQI", recvn(s, 20)); assert m == 0x668e33ef and t == 0x8001 and fl & 1
    err, = struct.unpack(">I", recvn(s, l)[:4]); assert err == 22
    s.close()
def fuzz():
    for i in range(60):
        s = conn()
        try:
            if i % 2: go(s, structured=bool(i % 4 == 1))
            else: hello(s)
            for j in range(random.randint(1, 8)):
                if random.random() < 0.5:
                    s.sendall(struct.pack(">IHHQQI", 0x25609513, random.randint(0, 20), random.randint(0, 10),
                                          j, random.choice([0, 1 << 20, random.getrandbits(64)]),
                                          random.choice([0, 1, 512, 1 << 26, random.getrandbits(32)])))
                else:
                    s.sendall(os.urandom(random.randint(1, 64)))
        except (EOFError, OSError, AssertionError, socket.timeout):
            pass
        s.close()
idle = conn()   # sits there: must not block others (--shared > 1)
for name, f in [("junk", junk), ("truncated", truncated), ("bad option magic", bad_option_magic),
                ("huge option", huge_option), ("bad info/unknown option", bad_info),
                ("bad request magic", bad_request_magic), ("oversized write", oversized_write),
                ("oversized/out-of-range read", oversized_read), ("structured errors", structured_errors),
                ("fuzz", fuzz)]:
    case(name, f)
idle.close()
print("\n".join(results))
PY
if start bad -f qcow2 --shared 4 --socket "$dir/bad.sock" "$dir/w.img.qcow2"; then
	timeout 120 python3 "$dir/garbage.py" "$dir/bad.sock" 42 >"$dir/garbage.out" 2>&1
	rc=$?
	while read -r line; do
		case $line in
		"ok "*) ok "bad client: ${line#ok }" ;;
		*) ko "bad client: $line" ;;
		esac
	done <"$dir/garbage.out"
	[ $rc -eq 0 ] || ko "bad client script exited $rc"
	if kill -0 "$SPID" 2>/dev/null &&
	   timeout 30 qemu-img compare -f qcow2 -F raw "$dir/w.img.qcow2" "nbd+unix:///?socket=$dir/bad.sock" >/dev/null; then
		ok "bad clients: the server is alive and serves"
	else
		ko "bad clients: the server died or hangs: $(tail -n 3 "$dir/bad.err")"
	fi
	stop
	qemu-img check -q "$dir/w.img.qcow2" && ok "bad clients: image clean after SIGTERM" ||
		ko "bad clients: image not clean"
else
	ko "bad clients: serve (its ~13 cases did not run)"
fi

# ---- --fork and --pidfile ----
if "$IMGTOOL" serve --fork --pidfile "$dir/srv.pid" -f qcow2 --read-only --socket "$dir/f.sock" \
	"$dir/img.qcow2" >/dev/null 2>"$dir/fork.err" && [ -S "$dir/f.sock" ]; then
	fp=$(cat "$dir/srv.pid")
	qemu-img compare -f qcow2 -F raw "$dir/img.qcow2" "nbd+unix:///?socket=$dir/f.sock" >/dev/null &&
		ok "--fork: serves after the parent returned" || ko "--fork: does not serve"
	kill -TERM "$fp"
	for i in $(seq 1 100); do kill -0 "$fp" 2>/dev/null || break; sleep 0.05; done
	[ -e "$dir/srv.pid" ] || [ -e "$dir/f.sock" ] && ko "--fork: pid file or socket left" ||
		ok "--fork: SIGTERM removes pid file and socket"
else
	ko "--fork: $(cat "$dir/fork.err")"
	[ -s "$dir/srv.pid" ] && kill -TERM "$(cat "$dir/srv.pid")"
fi

# ---- errors ----
"$IMGTOOL" serve --socket "$dir/e.sock" "$dir/nonexistent" >/dev/null 2>"$dir/e.err" &&
	ko "missing image accepted" || { grep -q nonexistent "$dir/e.err" && ok "missing image: one clear error"; } ||
	ko "missing image: message '$(cat "$dir/e.err")'"

sleep 0.2
if pgrep -f -- "$dir/" >/dev/null; then
	ko "servers left behind: $(pgrep -af -- "$dir/")"
else
	ok "no server left behind"
fi
summary
