#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/clone/test_clone.sh BUILD_DIR - sysprep's first-boot regeneration and
# imgtool clone, on the fixture guest (fixtures/make-guest.sh: Debian 12, systemd,
# openssh-server, a persistent net rule).  A raw copy of the fixture is given, by a
# loop mount here, a NetworkManager keyfile (UUID and MAC), a D-Bus machine-id file,
# a random seed, and a test unit that prints the guest's identity on the console
# once sshd and the fixture's marker service have run:
#   IDENTITY host=.. mid=.. ssh=<ssh.service state> fp=<ed25519 fingerprint>
#            proof=.. nmuuid=.. nmmac=<MAC lines> rules=<persistent net rules>
#            dbus=<where /var/lib/dbus/machine-id links> IDENTITY-END
# Then, as qcow2:
#   - bad arguments and a clone onto an existing file fail at once, making nothing;
#   - the template with its identity is refused without --force, naming it;
#   - sysprep says what happens at first boot; the sysprepped template boots
#     (--snapshot) with ssh.service active, new host keys, a fresh 32-hex
#     machine-id and the marker;
#   - three linked clones (one appliance) with --xml and a --write each boot with
#     their own hostname, machine-id, host key, NIC UUID and the --write's file;
#     the template's sha256 is unchanged; their XMLs validate (virt-xml-validate)
#     and hold three names, UUIDs and MACs and their own disks.
# Guests boot under TCG: the clones boot side by side, as many as there are CPUs.
# Prints "PASS name" / "FAIL name" lines.  Needs root (loop mount), `make deps`.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
case $build in /*) ;; *) build=$top/$build ;; esac
find_imgtool clone "$build"
need_tools clone virt-xml-validate qemu-img sha256sum losetup
MARKER=IMGTOOL-GUEST-READY
BOOT_TIMEOUT=${CLONE_BOOT_TIMEOUT:-600}
NM_UUID=11111111-2222-4333-8444-555555555555
start=$(date +%s)

dir=$(mktemp -d /var/tmp/imgtool-clone-test.XXXXXX)
mnt=$dir/mnt
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
	rm -rf "$dir"
}
trap cleanup EXIT

fixture=$(cd "$top" && fixtures/make-guest.sh) || { ko "fixture (fixtures/make-guest.sh)"; exit 1; }

# ---- the template: the fixture plus what this test reads back, planted by hand ----
"$IMGTOOL" convert -O raw "$fixture" "$dir/tpl.raw" || { ko "convert the fixture to raw"; exit 1; }
mkdir -p "$mnt"
mount -o loop,offset=1048576 "$dir/tpl.raw" "$mnt" || { ko "loop mount of the fixture copy"; exit 1; }
orig_fp=$(ssh-keygen -lf "$mnt/etc/ssh/ssh_host_ed25519_key.pub" | cut -d' ' -f2)
orig_mid=$(cat "$mnt/etc/machine-id")
mkdir -p "$mnt/etc/NetworkManager/system-connections" "$mnt/var/lib/dbus"
printf '[connection]\nid=wired\nuuid=%s\ntype=ethernet\n\n[ethernet]\nmac-address=00:50:56:8A:3C:5E\n' \
	"$NM_UUID" >"$mnt/etc/NetworkManager/system-connections/wired.nmconnection"
chmod 600 "$mnt/etc/NetworkManager/system-connections/wired.nmconnection"
cp "$mnt/etc/machine-id" "$mnt/var/lib/dbus/machine-id"
head -c 512 /dev/urandom >"$mnt/var/lib/systemd/random-seed"
cat >"$mnt/usr/local/sbin/imgtool-test-identity" <<'SH'
#!/bin/sh
# print this machine's identity for tests/clone (after sshd and the marker service)
nm=/etc/NetworkManager/system-connections/wired.nmconnection
fp=$(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub 2>/dev/null | cut -d' ' -f2)
echo "IDENTITY host=$(cat /proc/sys/kernel/hostname) mid=$(cat /etc/machine-id)" \
	"ssh=$(systemctl is-active ssh.service) fp=${fp:-none}" \
	"proof=$(cat /etc/clone-proof 2>/dev/null || echo none)" \
	"nmuuid=$(sed -n 's/^uuid=//p' $nm) nmmac=$(grep -c '^mac-address=' $nm)" \
	"rules=$(ls /etc/udev/rules.d | grep -c persistent-net)" \
	"dbus=$(readlink /var/lib/dbus/machine-id || echo file) IDENTITY-END" >/dev/ttyS0
SH
chmod 755 "$mnt/usr/local/sbin/imgtool-test-identity"
cat >"$mnt/etc/systemd/system/imgtool-test-identity.service" <<'UNIT'
[Unit]
Description=Print the guest's identity for tests/clone
After=ssh.service imgtool-guest-ready.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/imgtool-test-identity

[Install]
WantedBy=multi-user.target
UNIT
ln -s ../imgtool-test-identity.service \
	"$mnt/etc/systemd/system/multi-user.target.wants/imgtool-test-identity.service"
# an overloaded TCG host fails the kernel's IO-APIC timer check (a panic at 0.05 s);
# the libguestfs appliance skips that check the same way
sed -i '/^[[:space:]]*linux[[:space:]]/s/$/ no_timer_check/' "$mnt/boot/grub/grub.cfg"
umount "$mnt"
tpl=$dir/tpl.qcow2
"$IMGTOOL" convert -O qcow2 "$dir/tpl.raw" "$tpl" || { ko "convert the template to qcow2"; exit 1; }
rm -f "$dir/tpl.raw"
check "original identity read from the fixture" [ -n "$orig_fp" -a -n "$orig_mid" ]
# with a NIC (--net user), so that the clones' XMLs get MACs
"$IMGTOOL" launch --bus sata --net user --accel tcg --libvirt-xml "$dir/tpl.xml" "$tpl" >/dev/null
validates() { virt-xml-validate "$1" >/dev/null 2>&1; }
check "the template's domain XML (launch --libvirt-xml) validates" validates "$dir/tpl.xml"

# ---- refusals made before any appliance: nothing is created ----
refuse() { # name expected-text args...
	local name=$1 want=$2
	shift 2
	if "$IMGTOOL" clone "$@" >"$dir/out" 2>"$dir/err"; then
		ko "refuses $name (succeeded)"
	elif ! grep -q -- "$want" "$dir/err" || [ "$(wc -l <"$dir/err")" -ne 1 ]; then
		ko "refuses $name: $(head -3 "$dir/err")"
	else
		ok "refuses $name"
	fi
}
echo keep >"$dir/existing.qcow2"
refuse "a clone onto an existing file" "never written over an existing file" \
	"$tpl" "$dir/existing.qcow2"
check "the existing file is untouched" [ "$(cat "$dir/existing.qcow2")" = keep ]
mkdir "$dir/some"
echo keep >"$dir/some/web02.qcow2"
refuse "--count onto a folder holding one of the clones" "web02.qcow2: exists" \
	"$tpl" "$dir/some" --count 3 --name-pattern 'web%02d'
check "nothing else made in that folder" [ "$(ls "$dir/some")" = web02.qcow2 ]
refuse "a bad --name-pattern" "exactly one %d" "$tpl" "$dir/p" --count 2 --name-pattern web
refuse "a name that cannot be a host name" "cannot name a clone" "$tpl" "$dir/a_b.qcow2"
refuse "-O raw for a linked clone" "needs --full" --linked -O raw "$tpl" "$dir/r.img"
refuse "a bad customize value" "must be absolute" "$tpl" "$dir/c.qcow2" --write etc/x:y
check "no clone files made by the refusals" \
	bash -c "! ls $dir/p $dir/a_b.qcow2 $dir/r.img $dir/c.qcow2 2>/dev/null | grep -q ."

# ---- a template that still holds identity is refused, naming it (on a copy, while
# ---- sysprep works on the template: two appliances side by side) ----
t0=$(date +%s)
cp "$tpl" "$dir/unprepared.qcow2"
"$IMGTOOL" clone "$dir/unprepared.qcow2" "$dir/early.qcow2" >"$dir/out" 2>"$dir/err" &
refused_pid=$!
pids+=($refused_pid)
"$IMGTOOL" sysprep "$tpl" >"$dir/sp" 2>&1 || { ko "sysprep ran"; sed 's/^/  /' "$dir/sp"; }
if wait "$refused_pid"; then
	ko "a template with identity refused without --force (succeeded)"
else
	check "a template with identity refused without --force, naming SSH keys, machine-id, D-Bus id, net rules" \
		bash -c "grep -q 'still holds' $dir/err && grep -q 'SSH host keys' $dir/err && grep -q 'machine-id $orig_mid' $dir/err && grep -q 'dbus/machine-id' $dir/err && grep -q 'persistent net rules' $dir/err && grep -q -- '--force' $dir/err"
fi
pids=()
check "the refused clone's disk was removed" [ ! -e "$dir/early.qcow2" ]
rm -f "$dir/unprepared.qcow2"
echo "refused clone and sysprep (two appliances side by side): $(($(date +%s) - t0)) s"

# ---- sysprep: what happens at first boot, per operation ----
check "sysprep: machine-id emptied, D-Bus id linked, systemd writes a new id at first boot" \
	grep -q '^machine-id: emptied /etc/machine-id, /var/lib/dbus/machine-id -> /etc/machine-id; first boot: systemd writes a new id' "$dir/sp"
check "sysprep: SSH host keys removed, imgtool-ssh-hostkeys.service makes new ones before sshd" \
	grep -Eq '^ssh-hostkeys: removed [0-9]+ SSH host key file\(s\); first boot: imgtool-ssh-hostkeys.service creates new keys before sshd starts' "$dir/sp"
check "sysprep: random seed removed, a new one saved at first boot" \
	grep -q '^random-seed: removed 1 random seed file(s); first boot: systemd-random-seed.service' "$dir/sp"
check "sysprep: persistent net rules removed, udev names the NICs at first boot" \
	grep -q '^net-persistent-rules: removed 1 .*; first boot: udev' "$dir/sp"

# ---- boots: the template (--snapshot) and the clones, side by side up to the CPUs ----
boot() { # name image [--snapshot] - console in $dir/name.console
	local name=$1 image=$2
	shift 2
	"$IMGTOOL" launch --bus sata --net none "$@" --wait-for IDENTITY-END \
		--timeout "$BOOT_TIMEOUT" --console-log "$dir/$name.console" "$image" \
		>/dev/null 2>"$dir/$name.boot.err"
	echo $? >"$dir/$name.rc"
}
field() { # name key - a field of the IDENTITY line on name's console
	sed -n "s/.*IDENTITY .*\b$2=\([^ ]*\).*/\1/p" "$dir/$1.console" 2>/dev/null | head -n 1
}
booted() { # name
	[ "$(cat "$dir/$1.rc" 2>/dev/null)" = 0 ] && grep -q IDENTITY-END "$dir/$1.console"
}
tpl_sum=$(sha256sum <"$tpl")
jobs_max=$(nproc)
t0=$(date +%s)
boot template "$tpl" --snapshot &
pids+=($!)

# ---- three linked clones, one appliance, while the template boots ----
t1=$(date +%s)
if "$IMGTOOL" clone "$tpl" "$dir/vms" --count 3 --name-pattern 'web%02d' --xml "$dir/tpl.xml" \
	--write /etc/clone-proof:cloned >"$dir/clone.out" 2>&1; then
	ok "clone --count 3 --xml ran"
else
	ko "clone --count 3 --xml ran"
	sed 's/^/  /' "$dir/clone.out"
fi
echo "three linked clones (one appliance): $(($(date +%s) - t1)) s"
names="web01 web02 web03"
for n in $names; do
	check "$n: a qcow2 overlay on the template" \
		bash -c "qemu-img info '$dir/vms/$n.qcow2' | grep -qx 'backing file: $tpl'"
done
check "clone printed each clone's hostname, identity and --write lines" \
	bash -c "for n in $names; do grep -q \"^\$n: hostname: set to \$n\" $dir/clone.out && grep -q \"^\$n: ssh-hostkeys: \" $dir/clone.out && grep -q \"^\$n: nic-uuids: a new UUID in 1 \" $dir/clone.out && grep -q \"^\$n: write: \" $dir/clone.out || exit 1; done"
for n in $names; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
	boot "$n" "$dir/vms/$n.qcow2" &
	pids+=($!)
done
wait
pids=()
echo "boots (template and three clones, $jobs_max at a time): $(($(date +%s) - t0)) s"

if booted template; then
	check "template boot: ssh.service active" [ "$(field template ssh)" = active ]
	check "template boot: new SSH host keys" \
		bash -c "fp=\$(sed -n 's/.*IDENTITY .* fp=\([^ ]*\).*/\1/p' $dir/template.console); [ -n \"\$fp\" ] && [ \"\$fp\" != none ] && [ \"\$fp\" != '$orig_fp' ]"
	mid=$(field template mid)
	check "template boot: a fresh 32-hex machine-id" \
		bash -c "[[ '$mid' =~ ^[0-9a-f]{32}\$ ]] && [ '$mid' != '$orig_mid' ]"
	check "template boot: the marker printed" grep -q "$MARKER" "$dir/template.console"
else
	ko "the sysprepped template booted to its IDENTITY line"
	tail -n 5 "$dir/template.boot.err" "$dir/template.console" 2>/dev/null | sed 's/^/  /'
fi
for n in $names; do
	if ! booted "$n"; then
		ko "$n booted to its IDENTITY line"
		tail -n 5 "$dir/$n.boot.err" "$dir/$n.console" 2>/dev/null | sed 's/^/  /'
		continue
	fi
	check "$n boot: hostname $n, ssh.service active, the --write file" \
		[ "$(field "$n" host) $(field "$n" ssh) $(field "$n" proof)" = "$n active cloned" ]
	check "$n boot: NIC UUID new, MAC line gone, no persistent net rules, D-Bus id linked" \
		[ "$(field "$n" nmmac) $(field "$n" rules) $(field "$n" dbus)" = "0 0 /etc/machine-id" \
		  -a "$(field "$n" nmuuid)" != "$NM_UUID" -a -n "$(field "$n" nmuuid)" ]
done
# over the guests that booted (a guest that did not boot failed above)
up=$(for n in template $names; do booted "$n" && echo "$n"; done)
nup=$(grep -c . <<<"$up")
values() { # key [guests] - the key's value on each booted guest, one a line (the
	# console may end in the middle of the IDENTITY line: sed then adds no newline)
	for n in ${2:-$up}; do echo "$(field "$n" "$1")"; done
}
clones_up=$(grep -v '^template$' <<<"$up" | tr '\n' ' ')
echo "  machine-ids: $(values mid | tr '\n' ' ')"
echo "  ssh fingerprints: $(values fp | tr '\n' ' ')"
echo "  NIC UUIDs: $(values nmuuid "$clones_up" | tr '\n' ' ')"
check "different 32-hex machine-ids on the $nup booted guests" \
	bash -c "[ $nup -ge 3 ] && [ \"\$(sort -u <<<'$(values mid)' | grep -Ec '^[0-9a-f]{32}\$')\" = $nup ]"
check "different SSH host key fingerprints on the $nup booted guests" \
	bash -c "[ $nup -ge 3 ] && [ \"\$(sort -u <<<'$(values fp)' | grep -Evc '^(none|)\$')\" = $nup ]"
check "different NIC UUIDs in the booted clones ($clones_up)" \
	bash -c "[ \"\$(sort -u <<<'$(values nmuuid "$clones_up")' | grep -c .)\" = $(wc -w <<<"$clones_up") ]"
check "the template's sha256 is unchanged by cloning and the clones' boots" \
	[ "$(sha256sum <"$tpl")" = "$tpl_sum" ]

# ---- the clones' domain XMLs ----
for n in $names; do
	check "$n.xml validates (virt-xml-validate)" validates "$dir/vms/$n.xml"
done
xq() { # xpath-ish python expression over each XML: prints one value per clone
	python3 - "$dir/vms" $names <<PY
import sys, xml.etree.ElementTree as ET
d = sys.argv[1]
for n in sys.argv[2:]:
    r = ET.parse(f"{d}/{n}.xml").getroot()
    print($1)
PY
}
check "the XMLs hold their clones' names" [ "$(xq 'r.findtext("name")' | tr '\n' ' ')" = "web01 web02 web03 " ]
check "three different UUIDs" [ "$(xq 'r.findtext("uuid")' | sort -u | grep -c .)" = 3 ]
macs=$(xq 'r.find("devices/interface/mac").get("address")')
check "three different MACs, under 52:54:00" [ "$(sort -u <<<"$macs" | grep -c '^52:54:00:')" = 3 ]
check "each XML's disk is its own clone, qcow2" \
	[ "$(xq 'r.find("devices/disk/source").get("file") + " " + r.find("devices/disk/driver").get("type")' | tr '\n' ' ')" = \
	  "$dir/vms/web01.qcow2 qcow2 $dir/vms/web02.qcow2 qcow2 $dir/vms/web03.qcow2 qcow2 " ]
echo "clone suite: $(($(date +%s) - start)) s"
