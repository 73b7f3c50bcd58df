#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/windows/test_v2v_windows.sh BUILD_DIR - imgtool v2v on the phony Windows Server 2019
# guest (fixtures/make-windows.sh: a VMware vmdk with NTFS C:, SYSTEM and SOFTWARE
# hives, pvscsi/vmxnet3, VMware Tools) with the phony virtio-win tree
# (fixtures/make-virtio-win.sh):
#   - without --virtio-win: refused, the message names --virtio-win, no output file;
#   - with a virtio-win tree lacking the guest's version (2k19), or only its netkvm:
#     refused, naming the driver and the folder looked for, no output file;
#   - --bus virtio: exit 0, qemu-img check passes, the source is unchanged (sha256),
#     the report lists the registry changes with before/after, the XML validates;
#   - --bus virtio-scsi with a service wrapper (rhsrvany.exe) in the tree: exit 0;
#   - ONE guestfish launch (an independent reader) reads both converted disks back,
#     and hivexregedit (hivex's own tool) exports the hives: Services\viostor (or
#     vioscsi) as a boot-start driver, the DriverDatabase entries for the virtio PCI
#     IDs, the driver .sys in System32\drivers with the tree's content, the staged
#     drivers (no .pdb), DevicePath, the first-boot scripts (pnputil, msiexec /x of
#     VMware Tools's product code) and how they start (RunOnce, or the service).
# A phony Windows cannot boot: booting the result is not tested.
# Prints "PASS name" / "FAIL name" lines and the summary.
# Five libguestfs appliance launches (~30-40 s each under TCG), one of them guestfish.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
case $build in /*) ;; *) build=$top/$build ;; esac
IMGTOOL=$build/imgtool
MARKER=IMGTOOL-PHONY-VIRTIO-WIN
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg

need_tools windows guestfish hivexregedit qemu-img virt-xml-validate python3
dir=$(mktemp -d /var/tmp/imgtool-v2v-windows.XXXXXX)
trap 'rm -rf "$dir"' EXIT

fixture=$(cd "$top" && fixtures/make-windows.sh) || { ko "windows: fixture (fixtures/make-windows.sh)"; exit 1; }
fixture8=$(cd "$top" && fixtures/make-windows.sh --variant 2k8r2) ||
	{ ko "windows: fixture (fixtures/make-windows.sh --variant 2k8r2)"; exit 1; }
vw=$(cd "$top" && fixtures/make-virtio-win.sh) || { ko "windows: fixture (fixtures/make-virtio-win.sh)"; exit 1; }
sha_before=$(sha256sum <"$fixture")

# ---- refusals: one clear line, nothing left in the output folder ----
refused() { # name out-dir expected-text... -- v2v args...
	local name=$1 out=$2 want=()
	shift 2
	while [ "$1" != -- ]; do want+=("$1"); shift; done
	shift
	mkdir -p "$out"
	if "$IMGTOOL" v2v -q -i disk "$fixture" -o local -os "$out" "$@" >"$out.log" 2>&1; then
		ko "$name: converted"
		return
	fi
	local w miss=
	[ ${#want[@]} -gt 0 ] || miss=" (the test names no expected text)"
	for w in "${want[@]}"; do grep -qF -- "$w" "$out.log" || miss="$miss '$w'"; done
	if [ -n "$miss" ]; then
		ko "$name: message lacks$miss: $(tail -1 "$out.log")"
	elif [ -n "$(ls -A "$out")" ]; then
		ko "$name: left $(ls "$out" | tr '\n' ' ')"
	else
		ok "$name"
	fi
	sed 's/^/  /' "$out.log" | tail -2
}

refused "windows: no --virtio-win is refused, naming --virtio-win, no output" \
	"$dir/none" "--virtio-win" "nothing was converted" -- -on w19
cp -r "$vw" "$dir/vw-no2k19"
find "$dir/vw-no2k19" -depth -type d -name 2k19 -exec rm -rf {} +
refused "windows: a virtio-win tree without 2k19 is refused, naming what is missing, no output" \
	"$dir/no2k19" "viostor" "2k19/amd64" "Windows Server 2019" "nothing was converted" \
	-- -on w19 --virtio-win "$dir/vw-no2k19"
cp -r "$vw" "$dir/vw-nonet"
rm -rf "$dir/vw-nonet/NetKVM/2k19"
refused "windows: a virtio-win tree without netkvm for 2k19 is refused, naming netkvm, no output" \
	"$dir/nonet" "no netkvm driver" "NetKVM/2k19/amd64" "nothing was converted" \
	-- -on w19 --virtio-win "$dir/vw-nonet"

# ---- conversions ----
convert() { # name out-dir [--source DISK] args...
	local name=$1 out=$2 src=$fixture
	shift 2
	[ "$1" = --source ] && { src=$2; shift 2; }
	mkdir -p "$out"
	"$IMGTOOL" v2v -i disk "$src" -o local -os "$out" --report "$out.json" "$@" >"$out.log" 2>&1
	local rc=$?
	sed 's/^/  /' "$out.log"
	check "$name (exit 0)" [ "$rc" -eq 0 ]
}

convert "windows: v2v --bus virtio --virtio-win" "$dir/blk" -on w19 --virtio-win "$vw"
check "windows: the source is unchanged (sha256)" [ "$(sha256sum <"$fixture")" = "$sha_before" ]
check "windows: output passes qemu-img check" qemu-img check -q -f qcow2 "$dir/blk/w19-sda.qcow2"
check "windows: the libvirt XML validates" virt-xml-validate "$dir/blk/w19.xml" domain
check "windows: report lists the registry changes with before/after" python3 - "$dir/blk.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
ch = {(c.get("file"), c.get("what")): (c.get("before"), c.get("after")) for c in r["changes"]}
svc = "HKLM\\SYSTEM\\ControlSet001\\Services\\viostor"
cv = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion"
ok = (r["result"] == "ok"
      and ch.get((svc, "Start")) == (None, "dword:00000000")
      and ch.get((svc, "ImagePath")) == (None, 'expand:"system32\\drivers\\viostor.sys"')
      and ch.get((cv, "DevicePath")) == ('expand:"%SystemRoot%\\inf"',
                                         'expand:"%SystemRoot%\\inf;%SystemRoot%\\Drivers\\VirtIO"')
      and any(f and f.startswith("HKLM\\SYSTEM\\DriverDatabase\\DeviceIds\\PCI\\VEN_1AF4&DEV_1042")
              for f, _ in ch)
      and r["windows"]["version"] == "2k19" and r["windows"]["rtc"] == "localtime"
      and "netkvm.inf" in r["windows"]["drivers_staged"])
if not ok:
    print(json.dumps(r["changes"], indent=1)[:3000])
sys.exit(0 if ok else 1)
EOF

# virtio-scsi, with a service wrapper so that first boot runs as a service
cp -r "$vw" "$dir/vw-srvany"
printf 'MZ\n%s rhsrvany\n' "$MARKER" >"$dir/vw-srvany/rhsrvany.exe"
convert "windows: v2v --bus virtio-scsi with rhsrvany.exe" "$dir/scsi" -on w19scsi \
	--bus virtio-scsi --virtio-win "$dir/vw-srvany"

# Windows Server 2008 R2: no DriverDatabase, RTC in UTC
convert "windows: v2v of a Windows Server 2008 R2 (no DriverDatabase)" "$dir/w8" --source "$fixture8" \
	-on w8 --virtio-win "$vw"
check "windows (2k8r2): report: 2k8R2 drivers, CriticalDeviceDatabase, RTC in UTC" python3 - "$dir/w8.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
w = r.get("windows", {})
sys.exit(0 if (r["result"] == "ok" and w.get("version") == "2k8R2"
               and w.get("driver_registration") == "CriticalDeviceDatabase"
               and w.get("rtc") == "utc") else 1)
EOF
check "windows: the domain XML keeps the guest's RTC (localtime for 2019, utc for 2008 R2)" \
	bash -c 'grep -q "<clock offset=.localtime./>" "$1" && grep -q "<clock offset=.utc./>" "$2"' _ \
	"$dir/blk/w19.xml" "$dir/w8/w8.xml"

# ---- read back: one guestfish launch for the three disks ----
fb="/Program Files/Guestfs/Firstboot"
mkdir -p "$dir/rb/blk" "$dir/rb/scsi" "$dir/rb/w8"
readback_cmds() { # dev out
	cat <<EOF
mount-ro $1 /
download /Windows/System32/config/SYSTEM $2/SYSTEM
download /Windows/System32/config/SOFTWARE $2/SOFTWARE
-download /Windows/System32/drivers/viostor.sys $2/viostor.sys
-download /Windows/System32/drivers/vioscsi.sys $2/vioscsi.sys
copy-out /Windows/Drivers/VirtIO $2
copy-out "$fb" $2
umount /
EOF
}
if [ -s "$dir/scsi/w19scsi-sda.qcow2" ] && [ -s "$dir/blk/w19-sda.qcow2" ] && [ -s "$dir/w8/w8-sda.qcow2" ]; then
	{ echo run; readback_cmds /dev/sda2 "$dir/rb/blk"; readback_cmds /dev/sdb2 "$dir/rb/scsi"
	  readback_cmds /dev/sdc2 "$dir/rb/w8"; } |
		guestfish --ro --format=qcow2 -a "$dir/blk/w19-sda.qcow2" -a "$dir/scsi/w19scsi-sda.qcow2" \
		-a "$dir/w8/w8-sda.qcow2" \
		>"$dir/rb.log" 2>&1 || { ko "windows: guestfish read-back"; sed 's/^/  /' "$dir/rb.log"; }
fi
export_key() { # hive key: strings exported as str(TYPE):"text"
	hivexregedit --export --unsafe-printable-strings "$1" "$2" 2>/dev/null
}
# has FILE TEXT...: every text is in the file (fixed strings, any case)
has() {
	local f=$1
	shift
	for t in "$@"; do grep -qiF -- "$t" "$f" 2>/dev/null || { echo "  missing in ${f##*/}: $t"; return 1; }; done
}
for v in blk scsi; do
	rb=$dir/rb/$v
	drv=viostor legacy=1001 modern=1042
	[ $v = scsi ] && drv=vioscsi legacy=1004 modern=1048
	export_key "$rb/SYSTEM" "ControlSet001\\Services\\$drv" >"$rb/svc.reg"
	export_key "$rb/SYSTEM" "DriverDatabase" >"$rb/ddb.reg"
	export_key "$rb/SYSTEM" "ControlSet001\\Services" >"$rb/services.reg"
	export_key "$rb/SOFTWARE" "Microsoft\\Windows\\CurrentVersion" >"$rb/cv.reg"
	check "windows ($v): Services\\$drv is a boot-start kernel driver" has "$rb/svc.reg" \
		"[\\ControlSet001\\Services\\$drv]" '"Type"=dword:00000001' '"Start"=dword:00000000' \
		'"ErrorControl"=dword:00000001' '"Group"=str(1):"SCSI miniport"' \
		"\"ImagePath\"=str(2):\"system32\\drivers\\$drv.sys\""
	check "windows ($v): DriverDatabase binds DEV_$legacy and DEV_$modern to $drv" has "$rb/ddb.reg" \
		"[\\DriverDatabase\\DeviceIds\\PCI\\VEN_1AF4&DEV_$legacy&REV_00]" \
		"[\\DriverDatabase\\DeviceIds\\PCI\\VEN_1AF4&DEV_$modern&REV_01]" \
		"\\Descriptors\\PCI\\VEN_1AF4&DEV_$legacy&REV_00]" \
		"\\Descriptors\\PCI\\VEN_1AF4&DEV_$modern&REV_01]" "\"Service\"=str(1):\"$drv\"" \
		'"Configuration"=str(1):"guestor_conf"' '"guestor.inf"=hex(3):01,ff,00,00'
	check "windows ($v): $drv.sys in System32\\drivers is the tree's file" \
		has "$rb/$drv.sys" "$MARKER $drv 2k19 amd64"
	check "windows ($v): drivers staged in Drivers\\VirtIO (no .pdb, no other version)" \
		bash -c 'cd "$1" && for f in viostor.sys viostor.inf vioscsi.sys netkvm.inf netkvm.sys netkvm.cat balloon.inf; do
			[ -f "VirtIO/$f" ] || exit 1; done; [ ! -e VirtIO/netkvm.pdb ] &&
			grep -q "2k19 amd64" VirtIO/netkvm.sys && [ -z "$(ls VirtIO | grep -v -E "\.(sys|inf|cat)$")" ]' _ "$rb"
	check "windows ($v): DevicePath includes %SystemRoot%\\Drivers\\VirtIO" has "$rb/cv.reg" \
		'"DevicePath"=str(2):"%SystemRoot%\inf;%SystemRoot%\Drivers\VirtIO"'
	check "windows ($v): first boot runs pnputil on the staged drivers (CRLF)" \
		bash -c 'f="$1/Firstboot/scripts/0100-pnputil-install-drivers.bat"; grep -q "pnputil" "$f" &&
			grep -qF "Drivers\\VirtIO\\*.inf" "$f" && [ "$(grep -c $'"'"'\r$'"'"' "$f")" = "$(wc -l <"$f")" ] &&
			grep -q "scripts" "$1/Firstboot/firstboot.bat"' _ "$rb"
	check "windows ($v): first boot uninstalls VMware Tools (msiexec /x its product code)" \
		has "$rb/Firstboot/scripts/0200-uninstall-vmware-tools-1.bat" \
		"msiexec.exe /x {4F2D3B7A-9C61-4E8B-A5D2-7B1E0C93F6A4} /qn"
done
# how first boot starts: RunOnce without a service wrapper, the service with one
check "windows (blk): first boot starts from HKLM RunOnce (no service wrapper given)" \
	has "$dir/rb/blk/cv.reg" "[\\Microsoft\\Windows\\CurrentVersion\\RunOnce]" \
	'"imgtool-v2v-firstboot"=str(1):"cmd.exe /c \"C:\Program Files\Guestfs\Firstboot\firstboot.bat\""'
check "windows (scsi): first boot starts as a service through rhsrvany.exe" \
	bash -c 'grep -qF "[\\ControlSet001\\Services\\firstboot]" "$1/services.reg" &&
		grep -qF "\"ImagePath\"=str(1):\"C:\\Program Files\\Guestfs\\Firstboot\\rhsrvany.exe -s firstboot\"" "$1/services.reg" &&
		grep -qF "[\\ControlSet001\\Services\\firstboot\\Parameters]" "$1/services.reg" &&
		grep -q "$2 rhsrvany" "$1/Firstboot/rhsrvany.exe" &&
		! grep -q "imgtool-v2v-firstboot" "$1/cv.reg"' _ "$dir/rb/scsi" "$MARKER"
# the 2008 R2 copy: the CriticalDeviceDatabase binds both virtio-blk IDs, no
# DriverDatabase appears, crash reboots are off, viostor is the tree's 2k8R2 file
rb=$dir/rb/w8
export_key "$rb/SYSTEM" "ControlSet001\\Control" >"$rb/control.reg"
check "windows (2k8r2): CriticalDeviceDatabase binds DEV_1001 and DEV_1042 to viostor" has "$rb/control.reg" \
	"[\\ControlSet001\\Control\\CriticalDeviceDatabase\\PCI#VEN_1AF4&DEV_1001&REV_00]" \
	"[\\ControlSet001\\Control\\CriticalDeviceDatabase\\PCI#VEN_1AF4&DEV_1042&REV_01]" \
	'"Service"=str(1):"viostor"' '"ClassGUID"=str(1):"{4D36E97B-E325-11CE-BFC1-08002BE10318}"'
# lacks_key HIVE KEY: the hive was read back and exports (it holds ControlSet001),
# and it has no top-level KEY (a failing export alone would also pass for a hive
# that was never read)
lacks_key() {
	local all
	all=$(hivexregedit --export "$1" '\' 2>&1) || { echo "  the hive ${1##*/} does not read: $all" | head -3; return 1; }
	grep -q '^\[\\ControlSet001' <<<"$all" || { echo "  no ControlSet001 in ${1##*/}"; return 1; }
	! grep -q "^\\[\\\\$2[]\\]" <<<"$all"
}
check "windows (2k8r2): no DriverDatabase is created" lacks_key "$rb/SYSTEM" DriverDatabase
check "windows (2k8r2): CrashControl AutoReboot is turned off" has "$rb/control.reg" \
	"[\\ControlSet001\\Control\\CrashControl]" '"AutoReboot"=dword:00000000'
check "windows (2k8r2): viostor.sys in System32\\drivers is the 2k8R2 file" \
	has "$rb/viostor.sys" "$MARKER viostor 2k8R2 amd64"
summary
