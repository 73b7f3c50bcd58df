#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/v2v/test_p2v.sh BUILD_DIR - P2V: the fixture guest written raw onto a block
# device (a loop device standing for a physical machine's disk) converted with
# `imgtool v2v -i disk /dev/loopN -o qemu`: the device is unchanged (sha256), the
# output passes qemu-img check, the report lists the changes, and the generated
# launch script (DIR/NAME.sh, running imgtool launch) boots the guest to its marker.
# Prints "PASS name" / "FAIL name" lines.  Needs root (losetup).
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
case $build in /*) ;; *) build=$top/$build ;; esac
IMGTOOL=$build/imgtool
MARKER=IMGTOOL-GUEST-READY
BOOT_TIMEOUT=${V2V_BOOT_TIMEOUT:-900}

dir=$(mktemp -d /var/tmp/imgtool-p2v-test.XXXXXX)
loop=
cleanup() {
	[ -n "$loop" ] && losetup -d "$loop" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

fixture=$(cd "$top" && fixtures/make-guest.sh) || { ko "fixture (fixtures/make-guest.sh)"; exit 1; }
"$IMGTOOL" convert -O raw "$fixture" "$dir/physical.raw" || { ko "raw copy of the fixture"; exit 1; }
loop=$(losetup -f --show "$dir/physical.raw") || { ko "losetup"; loop=; exit 1; }
sha_before=$(sha256sum <"$loop")

mkdir "$dir/out"
"$IMGTOOL" v2v -i disk "$loop" -o qemu -of qcow2 -os "$dir/out" -on physical \
	--report "$dir/report.json" >"$dir/v2v.log" 2>&1
rc=$?
sed 's/^/  /' "$dir/v2v.log"
check "p2v: v2v -i disk $loop -o qemu (exit 0)" [ "$rc" -eq 0 ]
check "p2v: the block device is unchanged (sha256)" [ "$(sha256sum <"$loop")" = "$sha_before" ]
check "p2v: output passes qemu-img check" qemu-img check -q -f qcow2 "$dir/out/physical-sda.qcow2"
check "p2v: launch script is executable" [ -x "$dir/out/physical.sh" ]
check "p2v: report lists fstab, grub, initramfs changes" python3 - "$dir/report.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
files = {c.get("file") or "" for c in r["changes"]}
need = ["/etc/fstab", "/boot/grub/grub.cfg"]
ok = r["result"] == "ok" and all(f in files for f in need) and any(f.startswith("/boot/initrd.img-") for f in files)
sys.exit(0 if ok else 1)
EOF
losetup -d "$loop" && loop=

if "$dir/out/physical.sh" --snapshot --accel tcg --wait-for "$MARKER" --timeout "$BOOT_TIMEOUT" \
	--console-log "$dir/boot.log" >"$dir/boot.out" 2>&1; then
	ok "p2v: the launch script boots the converted guest to $MARKER"
	sed 's/^/  /' "$dir/boot.out"
else
	ko "p2v: the launch script boots the converted guest to $MARKER"
	tail -15 "$dir/boot.log" | sed 's/^/  /'
	sed 's/^/  /' "$dir/boot.out"
fi
exit 0
