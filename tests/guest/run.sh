#!/usr/bin/env bash
# tests/guest/run.sh BUILD_DIR - the guest suite: `imgtool inspect`, `customize` and
# `sysprep` (libguestfs, TCG appliance) on the fixture guest (fixtures/make-guest.sh,
# a VMware-style vmdk), converted to qcow2 by imgtool.  customize plants a new
# hostname, /etc/motd and the machine identity sysprep must remove; inspect must
# report the guest (Linux/Debian, /dev/sda1, extlinux, open-vm-tools, BIOS, ens192
# and the planted MAC); the guest booted by `imgtool launch` must print the new
# hostname on its console; `sysprep --dry-run` must leave the image byte-identical;
# sysprep must remove what was planted, checked on a raw copy loop-mounted here
# (not through libguestfs).  The source vmdk must stay untouched.
#
# Every libguestfs command launches an appliance (~20-45 s under TCG), so the suite
# runs only four of them.  Needs root and `make deps`.  Ends with "N passed, N failed".
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
case $build in /*) ;; *) build=$top/$build ;; esac
IMGTOOL=$build/imgtool
MARKER=IMGTOOL-GUEST-READY
NEWHOST=imgtool-custom-host
MAC=00:50:56:aa:bb:cc
start=$(date +%s)

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS $*"; }
ko() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { # name command...
	local name=$1
	shift
	if "$@"; then ok "$name"; else ko "$name"; fi
}

dir=$(mktemp -d /var/tmp/imgtool-guest-test.XXXXXX)
mnt=$dir/mnt
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
	rm -rf "$dir"
}
trap cleanup EXIT

if [ ! -x "$IMGTOOL" ]; then
	echo "no $IMGTOOL; run make first"
	echo "0 passed, 1 failed"
	exit 1
fi
if "$IMGTOOL" inspect "$dir/no-such-image" 2>&1 | grep -Eq 'without libguestfs|libguestfs is not installed'; then
	echo "imgtool cannot use libguestfs here (apt-get install libguestfs-dev, rebuild)"
	echo "0 passed, 1 failed"
	exit 1
fi
vmdk=$("$top/fixtures/make-guest.sh") || { echo "0 passed, 1 failed"; exit 1; }
src_sum=$(sha256sum <"$vmdk")
img=$dir/guest.qcow2
"$IMGTOOL" convert -O qcow2 "$vmdk" "$img" || { echo "0 passed, 1 failed"; exit 1; }
sum() { sha256sum <"$img"; }

# ---- argument errors fail at once, before any appliance is launched ----
t0=$(date +%s)
before=$(sum)
check "customize rejects a relative --write path" \
	bash -c "! '$IMGTOOL' customize --write etc/motd:x '$img' 2>$dir/err && grep -q 'must be absolute' $dir/err"
check "customize rejects a bad --chmod mode" \
	bash -c "! '$IMGTOOL' customize --chmod 0999:/etc/motd '$img' 2>/dev/null"
check "customize rejects --delete /" bash -c "! '$IMGTOOL' customize --delete / '$img' 2>/dev/null"
check "sysprep rejects an unknown operation" \
	bash -c "! '$IMGTOOL' sysprep --operations bogus '$img' 2>$dir/err && grep -q bogus $dir/err"
check "inspect fails cleanly on a missing image" \
	bash -c "! '$IMGTOOL' inspect $dir/missing.qcow2 2>/dev/null"
check "argument errors took no appliance launch and changed nothing" \
	[ $(($(date +%s) - t0)) -lt 5 -a "$(sum)" = "$before" ]
"$IMGTOOL" sysprep --list-operations >"$dir/ops"
check "sysprep --list-operations: machine-id on, root-password-lock off by default" \
	bash -c "grep -Eq '^machine-id +\*' $dir/ops && grep -Eq '^root-password-lock +[a-z]' $dir/ops"

# ---- customize: the new hostname and motd, plus identity for sysprep to remove ----
if "$IMGTOOL" customize --hostname "$NEWHOST" --write /etc/motd:hello \
	--write /etc/machine-id:0123456789abcdef0123456789abcdef \
	--mkdir /etc/ssh --write /etc/ssh/ssh_host_ed25519_key:fake-private \
	--write /etc/ssh/ssh_host_ed25519_key.pub:fake-public \
	--mkdir /etc/udev/rules.d \
	--write "/etc/udev/rules.d/70-persistent-net.rules:SUBSYSTEM==\"net\", ATTR{address}==\"$MAC\", NAME=\"ens192\"" \
	--append-line "/etc/network/interfaces:	hwaddress ether $MAC" \
	--write /root/.ash_history:secret-command \
	--run-command 'cat /etc/motd' "$img" >"$dir/cust" 2>&1; then
	ok "customize ran"
else
	ko "customize ran"
	sed 's/^/  /' "$dir/cust"
fi
check "customize printed one line per operation" [ "$(grep -c '^[a-z-]*: ' "$dir/cust")" -eq 11 ]
check "customize --run-command saw the file written before it (operations in order)" \
	grep -qx hello "$dir/cust"

# ---- inspect ----
"$IMGTOOL" inspect --output=json "$img" >"$dir/inspect.json" 2>"$dir/err" || sed 's/^/  /' "$dir/err"
jq() { python3 -c "import json,sys; d=json.load(open('$dir/inspect.json')); sys.exit(0 if ($1) else 1)" 2>/dev/null; }
check "inspect: Linux, Debian 12" jq "d['os_type']=='linux' and d['distro']=='debian' and d['version'].startswith('12.')"
check "inspect: root /dev/sda1 (ext4), fstab root /dev/sda1" \
	jq "d['root']=='/dev/sda1' and d['root_filesystem']=='ext4' and d['fstab_root']=='/dev/sda1' and d['mountpoints']=={'/':'/dev/sda1'}"
check "inspect: extlinux bootloader, root=/dev/sda1 on its command line" \
	jq "d['bootloader']['type']=='extlinux' and d['bootloader']['root_param']=='/dev/sda1'"
check "inspect: BIOS firmware (no ESP)" jq "d['firmware']=='bios' and d['esp'] is None"
check "inspect: kernel and initramfs in /boot" jq "d['kernels']==['/boot/vmlinuz'] and d['initramfs']==['/boot/initrd.img']"
check "inspect: open-vm-tools present (vmware)" \
	jq "any(a['name']=='open-vm-tools' and a['hypervisor']=='vmware' for a in d['agents'])"
check "inspect: ens192 in /etc/network/interfaces with the planted MAC" \
	jq "any(n['file']=='/etc/network/interfaces' and n['interfaces']==['ens192'] and n['macs']==['$MAC'] for n in d['network'])"
check "inspect: the persistent net rule names ens192" \
	jq "any(n['kind']=='udev-rules' and n['interfaces']==['ens192'] for n in d['network'])"
check "inspect: the hostname customize set" jq "d['hostname']=='$NEWHOST'"
check "inspect: convertible, with notes on /dev/sda1 and open-vm-tools" \
	jq "d['convertible'] and any('/dev/sda1' in x for x in d['notes']) and any('open-vm-tools' in x for x in d['notes'])"

# ---- the customized guest boots and prints its new hostname ----
if "$IMGTOOL" launch --bus sata --net none --snapshot --wait-for "$MARKER" --timeout 180 \
	--console-log "$dir/console" "$img" >/dev/null 2>"$dir/err"; then
	check "booted guest prints the new hostname on its console" grep -q " $NEWHOST ttyS0" "$dir/console"
else
	ko "customized guest did not reach $MARKER"
	tail -n 5 "$dir/err" | sed 's/^/  /'
fi

# ---- sysprep --dry-run changes nothing ----
before=$(sum)
"$IMGTOOL" sysprep --dry-run "$img" >"$dir/dry" 2>&1 || sed 's/^/  /' "$dir/dry"
check "sysprep --dry-run: would empty machine-id, remove the 2 host keys" \
	bash -c "grep -q '^(dry run) machine-id: emptied /etc/machine-id' $dir/dry && grep -q '^(dry run) ssh-hostkeys: removed 2 ' $dir/dry"
check "sysprep --dry-run left the image byte-identical" [ "$(sum)" = "$before" ]

# ---- sysprep ----
"$IMGTOOL" sysprep "$img" >"$dir/sp" 2>&1 || sed 's/^/  /' "$dir/sp"
ndef=$(grep -Ec '^[a-z-]+ +\*' "$dir/ops")
check "sysprep printed one line per default operation ($ndef)" [ "$(grep -c '^[a-z-]*: ' "$dir/sp")" -eq "$ndef" ]
check "sysprep reported the planted identity removed" \
	bash -c "grep -q '^net-persistent-rules: removed 1' $dir/sp && grep -q '^net-hwaddr: removed 1 ' $dir/sp && grep -q '^shell-history: removed 1 ' $dir/sp"

# ---- the result, read without libguestfs: raw copy, loop mount ----
"$IMGTOOL" convert -O raw "$img" "$dir/guest.raw"
mkdir -p "$mnt"
if mount -o ro,loop,offset=1048576 "$dir/guest.raw" "$mnt"; then
	check "machine-id emptied" [ -f "$mnt/etc/machine-id" -a ! -s "$mnt/etc/machine-id" ]
	check "SSH host keys gone" bash -c "! ls $mnt/etc/ssh/ssh_host_* >/dev/null 2>&1"
	check "persistent net rules gone" [ ! -e "$mnt/etc/udev/rules.d/70-persistent-net.rules" ]
	check "MAC line gone from /etc/network/interfaces, ens192 stanza kept" \
		bash -c "! grep -q '$MAC' $mnt/etc/network/interfaces && grep -q '^iface ens192 inet dhcp' $mnt/etc/network/interfaces"
	check "shell history gone" [ ! -e "$mnt/root/.ash_history" ]
	check "hostname reset to localhost" [ "$(cat "$mnt/etc/hostname")" = localhost ]
	check "customize's /etc/motd kept by sysprep" [ "$(cat "$mnt/etc/motd")" = hello ]
	check "the fixture's init and open-vm-tools files kept" \
		[ -x "$mnt/sbin/init" -a -e "$mnt/lib/systemd/system/open-vm-tools.service" ]
	umount "$mnt"
else
	ko "loop mount of the sysprepped raw copy"
fi
check "qemu-img check: the qcow2 is clean after customize and sysprep" \
	qemu-img check -q -f qcow2 "$img"
check "the source vmdk is untouched" [ "$(sha256sum <"$vmdk")" = "$src_sum" ]

echo "guest suite: $(($(date +%s) - start)) s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
