#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/guest/run.sh BUILD_DIR - the guest suite: `imgtool inspect`, `customize` and
# `sysprep` (libguestfs, TCG appliance) on the fixture guest (fixtures/make-guest.sh:
# a real Debian 12 with systemd, GRUB2, open-vm-tools and SSH host keys, exported as
# a VMware-style vmdk), converted to qcow2 by imgtool.  One customize run sets a new
# hostname and /etc/motd, copies a directory tree in, runs a host script, sets a
# random root password, asks for an SELinux relabel (not needed on Debian),
# installs a package from the Debian archive with apt-get (appliance network) and
# plants the identity sysprep must remove; inspect must report the guest
# (Linux/Debian 12, /dev/sda1, GRUB2, systemd, open-vm-tools, BIOS, ens192 and the
# MACs); the guest booted by `imgtool launch` must print the new hostname and motd
# on its console; `sysprep --dry-run` must leave the image byte-identical; sysprep
# must remove the machine identity (machine-id, the real SSH host keys, persistent
# net rules...), and everything customize did is checked on a raw copy
# loop-mounted here (not through libguestfs): the copied tree, the script's file,
# the yescrypt hash of the printed password, the installed package.  The source
# vmdk must stay untouched.  Then `imgtool inspect` (human and JSON) on the phony
# Windows Server 2019 guest (fixtures/make-windows.sh) must report what its registry
# hives say: product, version, variant, hostname, system root, control set, drive C:,
# VMware Tools (application and agent), "convertible: yes, with --virtio-win DIR";
# and leave the vmdk unchanged.
#
# Every libguestfs command launches an appliance (~20-45 s under TCG, plus ~90 s
# for --install's apt-get), so the suite runs only four of them and one guest boot,
# plus two for the Windows guest (and one to build it, when not cached).
# Needs root, `make deps` and the Debian archive (for --install).  Ends with
# "N passed, N failed".
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
case $build in /*) ;; *) build=$top/$build ;; esac
IMGTOOL=$build/imgtool
MARKER=IMGTOOL-GUEST-READY
NEWHOST=imgtool-custom-host
MAC=00:50:56:aa:bb:cc
VMWARE_MAC=00:50:56:8a:3c:5e       # the fixture's persistent net rule
MOTD="imgtool customized this guest"
PKG=tree
start=$(date +%s)

. "$top/tests/lib.sh"

dir=$(mktemp -d /var/tmp/imgtool-guest-test.XXXXXX)
mnt=$dir/mnt
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
	rm -rf "$dir"
}
trap cleanup EXIT

if [ ! -x "$IMGTOOL" ]; then
	ko "no $IMGTOOL; run make first"
	summary
	exit 1
fi
if "$IMGTOOL" inspect "$dir/no-such-image" 2>&1 | grep -Eq 'without libguestfs|libguestfs is not installed'; then
	ko "imgtool cannot use libguestfs here (apt-get install libguestfs-dev, rebuild)"
	summary
	exit 1
fi
vmdk=$("$top/fixtures/make-guest.sh") || { ko "fixture: make-guest.sh failed"; summary; exit 1; }
src_sum=$(sha256sum <"$vmdk")
img=$dir/guest.qcow2
"$IMGTOOL" convert -O qcow2 "$vmdk" "$img" || { ko "fixture: convert to qcow2"; summary; exit 1; }
sum() { sha256sum <"$img"; }

# ---- argument errors fail at once, before any appliance is launched ----
before=$(sum)
t0=$(date +%s)
check "customize rejects a relative --write path" \
	bash -c "! '$IMGTOOL' customize --write etc/motd:x '$img' 2>$dir/err && grep -q 'must be absolute' $dir/err"
check "customize rejects a bad --chmod mode" \
	bash -c "! '$IMGTOOL' customize --chmod 0999:/etc/motd '$img' 2>/dev/null"
check "customize rejects --delete /" bash -c "! '$IMGTOOL' customize --delete / '$img' 2>/dev/null"
check "customize rejects shell syntax in --install" \
	bash -c "! '$IMGTOOL' customize --install 'tree;reboot' '$img' 2>$dir/err && grep -q 'package names' $dir/err"
check "customize rejects --copy-in to a relative guest directory" \
	bash -c "! '$IMGTOOL' customize --copy-in /etc:opt '$img' 2>/dev/null"
check "customize rejects an unknown --root-password form" \
	bash -c "! '$IMGTOOL' customize --root-password bogus '$img' 2>/dev/null"
check "customize --install without network fails at once, saying it needs the network" \
	bash -c "! '$IMGTOOL' customize --no-network --install $PKG '$img' 2>$dir/err && grep -q 'needs the network' $dir/err"
check "sysprep rejects an unknown operation" \
	bash -c "! '$IMGTOOL' sysprep --operations bogus '$img' 2>$dir/err && grep -q bogus $dir/err"
check "inspect fails cleanly on a missing image" \
	bash -c "! '$IMGTOOL' inspect $dir/missing.qcow2 2>/dev/null"
elapsed=$(($(date +%s) - t0))   # before hashing the image again: that takes seconds
check "argument errors took no appliance launch and changed nothing" \
	[ "$elapsed" -lt 5 -a "$(sum)" = "$before" ]
"$IMGTOOL" sysprep --list-operations >"$dir/ops"
check "sysprep --list-operations: machine-id on, root-password-lock off by default" \
	bash -c "grep -Eq '^machine-id +\*' $dir/ops && grep -Eq '^root-password-lock +[a-z]' $dir/ops"

# ---- customize: every kind of operation, plus identity for sysprep to remove ----
mkdir -p "$dir/tree/sub"
echo copied-file >"$dir/tree/sub/file"
ln -s sub/file "$dir/tree/link"
cat >"$dir/script.sh" <<'EOF'
#!/bin/sh
# run by customize --run in the guest: it sees what the ops before it wrote
set -e
{ echo "run by imgtool"; cat /opt/imgtool/tree/sub/file; } >/etc/imgtool-run-proof
echo script-ran
EOF
t0=$(date +%s)
if "$IMGTOOL" customize --hostname "$NEWHOST" --write "/etc/motd:$MOTD" \
	--write /etc/machine-id:0123456789abcdef0123456789abcdef \
	--mkdir /opt/imgtool --copy-in "$dir/tree:/opt/imgtool" --run "$dir/script.sh" \
	--root-password random --selinux-relabel --install "$PKG" \
	--append-line "/etc/network/interfaces:	hwaddress ether $MAC" \
	--write /root/.bash_history:secret-command \
	--run-command "head -n 1 /etc/motd; $PKG --noreport /opt/imgtool" "$img" >"$dir/cust" 2>&1; then
	ok "customize ran"
else
	ko "customize ran"
	sed 's/^/  /' "$dir/cust"
fi
echo "customize, 12 operations with --install $PKG (one appliance, with network): $(($(date +%s) - t0)) s"
check "customize printed one line per operation" [ "$(grep -c '^[a-z-]*: ' "$dir/cust")" -eq 12 ]
check "customize --run ran the script (its output)" grep -qx script-ran "$dir/cust"
check "customize --run-command saw the file written before it (operations in order)" \
	grep -q "^$MOTD" "$dir/cust"
check "customize --install put $PKG in the guest, and it lists the --copy-in tree" \
	bash -c "grep -q '^install: installed $PKG with apt' $dir/cust && grep -q 'link -> sub/file' $dir/cust"
check "customize --selinux-relabel: not needed on Debian" grep -q '^selinux-relabel: not needed' "$dir/cust"
password=$(sed -n 's/^root-password: root.s random password is \([A-Za-z0-9]*\) (yescrypt hash in \/etc\/shadow)$/\1/p' "$dir/cust")
check "customize --root-password random printed a 16-character password, hashed with yescrypt" \
	[ "${#password}" -eq 16 ]

# ---- inspect ----
"$IMGTOOL" inspect --output=json "$img" >"$dir/inspect.json" 2>"$dir/err" || sed 's/^/  /' "$dir/err"
jq() { python3 -c "import json,sys; d=json.load(open('$dir/inspect.json')); sys.exit(0 if ($1) else 1)" 2>/dev/null; }
check "inspect: Linux, Debian 12" jq "d['os_type']=='linux' and d['distro']=='debian' and d['version'].startswith('12.')"
check "inspect: root /dev/sda1 (ext4), fstab root /dev/sda1" \
	jq "d['root']=='/dev/sda1' and d['root_filesystem']=='ext4' and d['fstab_root']=='/dev/sda1' and d['mountpoints']=={'/':'/dev/sda1'}"
check "inspect: GRUB2 bootloader, root=/dev/sda1 on its command line" \
	jq "d['bootloader']['type']=='grub2' and d['bootloader']['config']=='/boot/grub/grub.cfg' and d['bootloader']['root_param']=='/dev/sda1'"
check "inspect: systemd is the init system" jq "d['init']=='systemd'"
check "inspect: BIOS firmware (no ESP)" jq "d['firmware']=='bios' and d['esp'] is None"
check "inspect: Debian's kernel and initramfs in /boot" \
	jq "len(d['kernels'])==1 and d['kernels'][0].startswith('/boot/vmlinuz-') and d['initramfs']==[d['kernels'][0].replace('vmlinuz','initrd.img')]"
check "inspect: open-vm-tools present (vmware)" \
	jq "any(a['name']=='open-vm-tools' and a['hypervisor']=='vmware' for a in d['agents'])"
check "inspect: ens192 in /etc/network/interfaces with the planted MAC" \
	jq "any(n['file']=='/etc/network/interfaces' and n['interfaces']==['ens192'] and n['macs']==['$MAC'] for n in d['network'])"
check "inspect: the persistent net rule names ens192 and the VMware MAC" \
	jq "any(n['kind']=='udev-rules' and n['interfaces']==['ens192'] and n['macs']==['$VMWARE_MAC'] for n in d['network'])"
check "inspect: the hostname customize set" jq "d['hostname']=='$NEWHOST'"
check "inspect: convertible, with notes on /dev/sda1 and open-vm-tools" \
	jq "d['convertible'] and any('/dev/sda1' in x for x in d['notes']) and any('open-vm-tools' in x for x in d['notes'])"

# ---- the customized guest boots and prints its new hostname and motd ----
t0=$(date +%s)
if "$IMGTOOL" launch --bus sata --net none --snapshot --wait-for "$MARKER" --timeout 300 \
	--console-log "$dir/console" "$img" >/dev/null 2>"$dir/err"; then
	echo "boot to $MARKER: $(($(date +%s) - t0)) s"
	check "booted guest prints the new hostname on its console" grep -q " $NEWHOST ttyS0" "$dir/console"
	check "booted guest prints customize's motd on its console" grep -q "motd: $MOTD" "$dir/console"
else
	ko "customized guest did not reach $MARKER"
	tail -n 5 "$dir/err" | sed 's/^/  /'
fi

# ---- sysprep --dry-run changes nothing ----
before=$(sum)
"$IMGTOOL" sysprep --dry-run "$img" >"$dir/dry" 2>&1 || sed 's/^/  /' "$dir/dry"
check "sysprep --dry-run: would empty machine-id, remove the real SSH host keys" \
	bash -c "grep -q '^(dry run) machine-id: emptied /etc/machine-id' $dir/dry && grep -Eq '^\(dry run\) ssh-hostkeys: removed ([2-9]|[1-9][0-9]) ' $dir/dry"
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
	check "shell history gone" [ ! -e "$mnt/root/.bash_history" ]
	check "hostname reset to localhost" [ "$(cat "$mnt/etc/hostname")" = localhost ]
	check "customize's /etc/motd kept by sysprep" [ "$(cat "$mnt/etc/motd")" = "$MOTD" ]
	check "customize --copy-in: the tree, its file and its symlink are in /opt/imgtool" \
		bash -c "[ \"\$(cat $mnt/opt/imgtool/tree/sub/file)\" = copied-file ] && [ \"\$(readlink $mnt/opt/imgtool/tree/link)\" = sub/file ]"
	check "customize --run: the script's file, written after --copy-in" \
		[ "$(cat "$mnt/etc/imgtool-run-proof" 2>/dev/null)" = "run by imgtool
copied-file" ]
	check "customize --run: the uploaded script was removed from the guest's /tmp" \
		bash -c "! ls $mnt/tmp/imgtool-run-* >/dev/null 2>&1"
	check "customize --install: $PKG installed, known to dpkg" \
		bash -c "[ -x $mnt/usr/bin/$PKG ] && grep -A1 -x 'Package: $PKG' $mnt/var/lib/dpkg/status | grep -q 'install ok installed'"
	hash=$(sed -n 's/^root:\([^:]*\):.*/\1/p' "$mnt/etc/shadow")
	check "customize --root-password random: a yescrypt hash of the printed password in /etc/shadow" \
		python3 -W ignore -c "import crypt,sys; h=sys.argv[1]; sys.exit(0 if h.startswith('\$y\$') and crypt.crypt(sys.argv[2], h) == h else 1)" "$hash" "$password"
	check "the fixture's systemd init and open-vm-tools files kept" \
		bash -c "readlink $mnt/sbin/init | grep -q 'lib/systemd/systemd\$' && [ -e $mnt/lib/systemd/system/open-vm-tools.service ]"
	umount "$mnt"
else
	ko "loop mount of the sysprepped raw copy"
fi
check "qemu-img check: the qcow2 is clean after customize and sysprep" \
	qemu-img check -q -f qcow2 "$img"
check "the source vmdk is untouched" [ "$(sha256sum <"$vmdk")" = "$src_sum" ]

# ---- Windows: inspect the phony Windows Server 2019 guest (fixtures/make-windows.sh) ----
# The expected facts are read from the .reg files its hives were made from; two
# more appliance launches (human and JSON), one fixture build when not cached.
t0=$(date +%s)
win=$("$top/fixtures/make-windows.sh" 2>"$dir/err") || { sed 's/^/  /' "$dir/err"; win=; }
check "Windows fixture built (make-windows.sh: hives by hivexregedit, NTFS by libguestfs, vmdk by qemu-img)" \
	[ -n "$win" -a -s "$win" ]
echo "windows fixture: $(($(date +%s) - t0)) s"
if [ -n "$win" ] && [ -s "$win" ]; then
	regval() { # FILE NAME - a string value of fixtures/windows/FILE, as written there
		sed -n "s/^\"$2\"=\"\(.*\)\"\r\{0,1\}$/\1/p" "$top/fixtures/windows/$1" | head -n 1 | sed 's/\\\\/\\/g'
	}
	product=$(regval software.reg ProductName)
	variant=$(regval software.reg InstallationType)
	tools_version=$(regval software.reg DisplayVersion)
	publisher=$(regval software.reg Publisher)
	winhost=$(regval system.reg Hostname)
	win_sum=$(sha256sum <"$win")
	t0=$(date +%s)
	"$IMGTOOL" inspect "$win" >"$dir/win.txt" 2>"$dir/err" || sed 's/^/  /' "$dir/err"
	"$IMGTOOL" inspect --output=json "$win" >"$dir/win.json" 2>"$dir/err" || sed 's/^/  /' "$dir/err"
	echo "inspect of the Windows guest, human and JSON (two appliances): $(($(date +%s) - t0)) s"
	export WIN_PRODUCT=$product WIN_VARIANT=$variant WIN_HOST=$winhost \
		WIN_TOOLS_VERSION=$tools_version WIN_PUBLISHER=$publisher
	wj() { python3 -c "import json,os,sys; e=os.environ; d=json.load(open('$dir/win.json')); sys.exit(0 if ($1) else 1)" 2>/dev/null; }
	check "inspect Windows (JSON): windows, '$product', 10.0, x86_64, $variant" \
		wj "d['os_type']=='windows' and d['distro']=='windows' and d['product_name']==e['WIN_PRODUCT'] and d['version']=='10.0' and d['arch']=='x86_64' and d['product_variant']==e['WIN_VARIANT']"
	check "inspect Windows (JSON): hostname $winhost (Tcpip\\Parameters), root /dev/sda2 (ntfs)" \
		wj "d['hostname']==e['WIN_HOST'] and d['root']=='/dev/sda2' and d['root_filesystem']=='ntfs' and d['mountpoints']=={'/': '/dev/sda2'}"
	check "inspect Windows (JSON): systemroot /Windows, ControlSet001, the SOFTWARE and SYSTEM hives" \
		wj "d['windows_systemroot']=='/Windows' and d['windows_current_control_set']=='ControlSet001' and d['windows_software_hive'].lower()=='/windows/system32/config/software' and d['windows_system_hive'].lower()=='/windows/system32/config/system'"
	check "inspect Windows (JSON): drive C: is /dev/sda2 (MountedDevices: MBR signature and offset)" \
		wj "d['drive_mappings']=={'C': '/dev/sda2'}"
	check "inspect Windows (JSON): VMware Tools $tools_version by '$publisher' installed" \
		wj "any(a['display_name']=='VMware Tools' and a['version']==e['WIN_TOOLS_VERSION'] and a['publisher']==e['WIN_PUBLISHER'] for a in d['applications'])"
	check "inspect Windows (JSON): the vmware-tools agent, its version, vmtoolsd.exe and the VMware drivers" \
		wj "[(a['name'], a['hypervisor'], a['version']) for a in d['agents']]==[('vmware-tools', 'vmware', e['WIN_TOOLS_VERSION'])] and {'/Program Files/VMware/VMware Tools/vmtoolsd.exe', '/Windows/System32/drivers/pvscsi.sys', '/Windows/System32/drivers/vmxnet3.sys', '/Windows/System32/drivers/vm3dmp.sys'}<=set(d['agents'][0]['files'])"
	check "inspect Windows (JSON): convertible only with --virtio-win DIR, a note saying why" \
		wj "d['convertible'] is True and d['not_convertible_because']==[] and d['convertible_requires']==['--virtio-win DIR'] and any('virtio-win' in n for n in d['notes']) and any(n.startswith('vmware-tools is installed') for n in d['notes'])"
	check "inspect Windows (JSON): no Linux-only facts (no fstab root, init, kernels, network)" \
		wj "d['fstab_root'] is None and d['init'] is None and d['kernels']==[] and d['network']==[]"
	hl() { # LINE... - every LINE is a whole line of the human output
		local l
		for l; do grep -qxF -- "$l" "$dir/win.txt" || return 1; done
	}
	check "inspect Windows (human): os type, product, version, architecture, hostname" \
		hl 'os type:         windows' "product name:    $product" 'version:         10.0' \
		'architecture:    x86_64' "hostname:        $winhost"
	check "inspect Windows (human): variant, systemroot, control set, drive letters" \
		hl "product variant: $variant" 'systemroot:      /Windows' 'control set:     ControlSet001' \
		'drive letters:   C: /dev/sda2'
	check "inspect Windows (human): VMware Tools as an application and as the vmware-tools agent" \
		hl "  VMware Tools $tools_version ($publisher)" \
		"  vmware-tools (vmware): installed: VMware Tools $tools_version, 4 file(s), e.g. /Program Files/VMware/VMware Tools/vmtoolsd.exe"
	check "inspect Windows (human): convertible: yes, with --virtio-win DIR" \
		hl "convertible:     yes, with --virtio-win DIR"
	check "inspect left the Windows vmdk unchanged (sha256)" [ "$(sha256sum <"$win")" = "$win_sum" ]
	[ "$tests_failed" -eq 0 ] || sed 's/^/  | /' "$dir/win.txt"
fi

echo "guest suite: $(($(date +%s) - start)) s"
summary
