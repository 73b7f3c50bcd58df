# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/v2v/converted.sh - sourced by the v2v test files: reads a converted Linux
# guest back with guestfish --ro (an independent reader) and checks what the
# conversion must have changed, whatever the input (-i disk, ova, vmx) was.
#
# check_converted LABEL DISK WORKDIR: one case per change, named "LABEL: ...":
#   fstab names filesystems by UUID and no /dev/sd*; the initramfs (listed on the
#   host with lsinitramfs) has virtio_blk; open-vm-tools is gone.
check_converted() {
	local label=$1 disk=$2 w=$3/readback
	rm -rf "$w"
	mkdir -p "$w"
	if ! guestfish --ro --format=qcow2 -a "$disk" -i >"$w/gf.out" 2>&1 <<EOG
echo ==fstab
cat /etc/fstab
echo ==vmtools
sh "ls /usr/bin/vmtoolsd 2>&1 || true"
echo ==end
glob download /boot/initrd.img-* $w/initrd.img
EOG
	then
		ko "$label: guestfish --ro reads the converted disk"
		tail -n 5 "$w/gf.out" | sed 's/^/    /'
		return
	fi
	sed -n '/^==fstab$/,/^==vmtools$/p' "$w/gf.out" | grep -v '^#' >"$w/fstab"
	check "$label: fstab names UUID=, no /dev/sd*" \
		sh -c "grep -q UUID= '$w/fstab' && ! grep -q /dev/sd '$w/fstab'"
	check "$label: initramfs has virtio_blk" \
		sh -c "lsinitramfs '$w/initrd.img' | grep -q 'virtio_blk.ko'"
	check "$label: open-vm-tools gone" \
		sh -c "sed -n '/^==vmtools\$/,/^==end\$/p' '$w/gf.out' | grep -q 'No such file'"
}
