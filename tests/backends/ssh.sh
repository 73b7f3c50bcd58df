# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/backends/ssh.sh - the ssh:// cases of tests/backends/run.sh (sourced
# there; uses its I, W, src, build, expect_err and tests/lib.sh), against the
# private sshd of tests/servers/lib.sh start_sshd.  qemu-img's ssh driver
# (qemu-block-extra) reads the same URLs as the oracle; it authenticates only
# through ssh-agent, so an agent holding the test key runs for the section.
#
# Covers: info, convert both ways (qcow2 and raw, ssh -> ssh), compare,
# checksum; a relative backing file beside the image on the server and an
# ssh:// backing name inside an image refused (run.sh's url_backing_cases); an
# ESXi-like datastore read by -i vmx over ssh:// (tests/unit/test_ssh_vmx) and a
# seSparse delta refused; live P2V from a mounted loop device with
# --source-freeze (tests/unit/test_ssh_freeze); auth by key, agent, password
# file and IMGTOOL_SSH_PASSWORD; refused auth; unknown, changed and pinned host
# keys; bad host, bad port, missing file, a password inside the URL (refused,
# never printed); a frozen server (connect and mid-copy), the server's session
# killed mid-copy; the remote command API (tests/unit/test_ssh_exec); sync
# --remote-imgtool (digests made on the source host, bytes over SSH counted by
# a relay, tcp_count.py).

# the pids of every process below the listening sshd (one per connection)
ssh_sessions() {
	local p=$1 c
	for c in $(pgrep -P "$p"); do echo "$c"; ssh_sessions "$c"; done
}

# sync --remote-imgtool: a 256 MiB source, a first copy, 1% of its 64 KiB blocks
# changed, then a sync whose digests are made on the "remote" host (this one,
# the build's imgtool).  Every byte of the session is counted by a TCP relay in
# front of the sshd (tcp_count.py), the host key pinned since the relay's port
# is not in known_hosts.
ssh_remote_sync_cases() {
	local here=${BASH_SOURCE[0]%/*} ri relay n bytes sums out
	local R="ssh://root@127.0.0.1:10023$SSH_DIR" RK="identity=$SSH_KEY&host-key=$SSH_HOST_FP"
	local K="identity=$SSH_KEY&known-hosts=$SSH_KNOWN_HOSTS" t0=$SECONDS

	ri=$(readlink -f "$I")
	head -c 256M /dev/urandom >"$SSH_DIR/warm.raw"
	check "ssh sync: first copy over ssh://" \
		"$I" convert -O raw "$SSH_URL$SSH_DIR/warm.raw?$K" "$W/warm-copy.raw"
	for n in $(seq 0 40); do   # 41 of 4096 blocks
		dd if=/dev/urandom of="$SSH_DIR/warm.raw" bs=64K seek=$((n * 97 + 5)) count=1 \
			conv=notrunc status=none
	done
	python3 "$here/tcp_count.py" 10023 10022 "$W/relay.count" &
	relay=$!
	sleep 0.5
	check "ssh sync: sync --remote-imgtool" \
		"$I" sync -q -f raw -F raw --remote-imgtool "$ri" "$R/warm.raw?$RK" "$W/warm-copy.raw"
	sleep 0.3
	bytes=$(cat "$W/relay.count")
	kill "$relay"; wait "$relay" 2>/dev/null
	sums=$("$I" checksum "$SSH_DIR/warm.raw" "$W/warm-copy.raw" | cut -d' ' -f1 | sort -u | wc -l)
	check "ssh sync: the target's checksum equals the source's" test "$sums" = 1
	if [ "$bytes" -gt 0 ] && [ "$bytes" -le $((256 * 1024 * 1024 * 3 / 100)) ]; then
		ok "ssh sync: $bytes bytes crossed SSH (<= 3% of 256 MiB, counted by a relay)"
	else ko "ssh sync: $bytes bytes crossed SSH (want 0 < n <= 3% of 256 MiB)"; fi
	expect_err "ssh sync: a missing remote imgtool" "remote imgtool.*not found\|No such file" \
		"$I" sync -f raw -F raw --remote-imgtool /nonexistent/imgtool "$SSH_URL$SSH_DIR/warm.raw?$K" "$W/warm-copy.raw"
	printf '#!/bin/sh\necho "cannot lock the disk: busy" >&2\nexit 3\n' >"$W/failing-imgtool"
	chmod +x "$W/failing-imgtool"
	out=$("$I" sync -f raw -F raw --remote-imgtool "$W/failing-imgtool" "$SSH_URL$SSH_DIR/warm.raw?$K" \
		"$W/warm-copy.raw" 2>&1)
	if [ $? -ne 0 ] && [ "$(echo "$out" | wc -l)" = 1 ] &&
		echo "$out" | grep -q "ssh://127.0.0.1$SSH_DIR/warm.raw: .*exit 3.*cannot lock the disk"; then
		ok "ssh sync: a failing remote imgtool gives one line ($out)"
	else ko "ssh sync: failing remote imgtool: $out"; fi
	expect_err "ssh sync: --remote-imgtool needs an ssh:// source" "needs an ssh:// source" \
		"$I" sync --remote-imgtool "$ri" "$W/warm-copy.raw" "$W/warm-copy.raw"
	rm -f "$SSH_DIR/warm.raw" "$W/warm-copy.raw"
	echo "    (sync --remote-imgtool cases: $((SECONDS - t0)) s)"
}

# ssh_midcopy_case NAME SIGNAL CMD...: start CMD, after 1 s send SIGNAL to every
# session (STOP: frozen server; KILL: the link dies); CMD must fail in bounded time
ssh_midcopy_case() {
	local name=$1 sig=$2 pid t0 rc sess
	shift 2
	t0=$(date +%s)
	IMGTOOL_NET_TIMEOUT=3 timeout 90 "$@" >"$W/mid.out" 2>&1 &
	pid=$!
	sleep 1
	sess=$(ssh_sessions "$SSH_SRV_PID")
	[ -n "$sess" ] || { kill "$pid"; wait "$pid"; ko "$name: no session to $sig (the copy ended too soon)"; return; }
	kill -"$sig" $sess 2>/dev/null
	wait "$pid"
	rc=$?
	[ "$sig" = STOP ] && { kill -CONT $sess 2>/dev/null; kill $sess 2>/dev/null; }
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $(($(date +%s) - t0)) -le 30 ]; then
		ok "$name: failed in $(($(date +%s) - t0)) s: $(head -1 "$W/mid.out")"
	else
		ko "$name: rc=$rc after $(($(date +%s) - t0)) s: $(head -2 "$W/mid.out")"
	fi
}

# A folder laid out like an ESXi datastore (/vmfs/volumes/ds1/web01/) holding a
# VMware-style VM: a base disk as ESXi writes it (createType "vmfs": a descriptor
# and its VMFS -flat extent) with a snapshot delta over it on
# scsi0:0 (the .vmx names the delta, as VMware does after a snapshot), a sparse
# data disk on scsi0:1, a NIC; and a seSparse delta, which is refused by name.
ssh_datastore_cases() {
	local K=$1 ds=$SSH_DIR/vmfs/volumes/ds1 vm out rc
	vm=$ds/web01
	mkdir -p "$vm" "$ds/gone"
	qemu-img create -q -f vmdk -o subformat=monolithicFlat "$vm/web01.vmdk" 24M &&
		qemu-io -f vmdk -c 'write -P 0x11 0 5M' -c 'write -P 0x12 20M 1M' "$vm/web01.vmdk" >/dev/null &&
		qemu-img create -q -f vmdk -b web01.vmdk -F vmdk "$vm/web01-000001.vmdk" &&
		qemu-io -f vmdk -c 'write -P 0x21 4M 2M' "$vm/web01-000001.vmdk" >/dev/null &&
		qemu-img create -q -f vmdk "$vm/web01_1.vmdk" 8M &&
		qemu-io -f vmdk -c 'write -P 0x31 1M 1M' "$vm/web01_1.vmdk" >/dev/null &&
		sed -i 's/createType="monolithicFlat"/createType="vmfs"/; s/^RW \([0-9]*\) FLAT \(.*\) 0$/RW \1 VMFS \2/' \
			"$vm/web01.vmdk" && grep -q '^RW [0-9]* VMFS "web01-flat.vmdk"$' "$vm/web01.vmdk" ||
		{ ko "ssh: datastore fixture not made"; return; }
	cat >"$vm/web01.vmx" <<'VMX'
.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "19"
displayName = "web01"
guestOS = "debian11-64"
memsize = "1024"
numvcpus = "2"
scsi0.present = "TRUE"
scsi0.virtualDev = "pvscsi"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "web01-000001.vmdk"
scsi0:1.present = "TRUE"
scsi0:1.fileName = "web01_1.vmdk"
ethernet0.present = "TRUE"
ethernet0.virtualDev = "vmxnet3"
ethernet0.addressType = "generated"
ethernet0.generatedAddress = "00:0c:29:aa:bb:cc"
ethernet0.networkName = "VM Network"
VMX
	sed 's/web01-000001.vmdk/nothere.vmdk/' "$vm/web01.vmx" >"$ds/gone/gone.vmx"
	printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="seSparse"\n\nRW 49152 SESPARSE "web01-000002-sesparse.vmdk"\n' \
		>"$vm/web01-000002.vmdk"
	out=$(SSH_VMX_LOCAL=$vm/web01.vmx SSH_VMX_URL="$SSH_URL$vm/web01.vmx?$K" \
		SSH_VMX_MISSING_URL="$SSH_URL$ds/gone/gone.vmx?$K" "$build/tests/unit/test_ssh_vmx" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && ! echo "$out" | grep -q "^SKIP"; then
		ok "ssh: -i vmx over ssh:// reads the datastore as the local folder (test_ssh_vmx)"
	else
		ko "ssh: test_ssh_vmx rc=$rc: $(echo "$out" | grep -E 'FAIL|SKIP|CU_|ssh' | head -5)"
	fi
	check "ssh: the snapshot chain over ssh:// = the local chain (imgtool compare)" \
		"$I" compare "$vm/web01-000001.vmdk" "$SSH_URL$vm/web01-000001.vmdk?$K"
	check "ssh: convert of the delta over ssh:// (qemu-img compare)" \
		sh -c "'$I' convert -O qcow2 '$SSH_URL$vm/web01-000001.vmdk?$K' '$W/web01.qcow2' &&
			qemu-img compare '$vm/web01-000001.vmdk' '$W/web01.qcow2'"
	expect_err "ssh: a seSparse delta is refused by name" "SESPARSE" \
		"$I" info "$SSH_URL$vm/web01-000002.vmdk?$K"
}

# Live P2V: an ext4 on a loop device, mounted in this (private) mount namespace,
# is the running machine's disk; it is read over ssh:// while frozen.
ssh_freeze_cases() {
	local K=$1 dev mnt=$W/live out rc
	truncate -s 64M "$W/live.img" && mkfs.ext4 -q -F "$W/live.img" &&
		dev=$(losetup -f --show "$W/live.img") && mkdir -p "$mnt" && mount "$dev" "$mnt" &&
		head -c 3M /dev/urandom >"$mnt/data" && sync ||
		{ ko "ssh: live P2V fixture (loop device) not made"; return; }
	check "ssh: a live block device reads over ssh:// (its size found by reading)" \
		sh -c "'$I' convert -O raw '$SSH_URL$dev?$K' '$W/live-copy.raw' && test \$(stat -c %s '$W/live-copy.raw') = 67108864"
	out=$(SSH_FREEZE_DEV=$dev SSH_FREEZE_MNT=$mnt "$build/tests/unit/test_ssh_freeze" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && ! echo "$out" | grep -q "^SKIP"; then
		ok "ssh: --source-freeze freezes, thaws, and thaws by itself when imgtool dies (test_ssh_freeze)"
	else
		ko "ssh: test_ssh_freeze rc=$rc: $(echo "$out" | grep -E 'FAIL|SKIP|CU_|ssh|freeze' | head -5)"
	fi
	expect_err "ssh: --source-freeze refuses a local source" "needs ssh:// source disks" \
		"$I" v2v -i disk "$W/live-copy.raw" -f raw --source-freeze -o local -os "$W"
	expect_err "ssh: --source-freeze with --in-place refused" "in-place" \
		"$I" v2v -i disk "$SSH_URL$dev?$K" --source-freeze --in-place -o local
	umount "$mnt"
	losetup -d "$dev"
	rm -f "$W/live.img" "$W/live-copy.raw"
}

ssh_cases() {
	local U="$SSH_URL$SSH_DIR" K="identity=$SSH_KEY&known-hosts=$SSH_KNOWN_HOSTS" out rc
	local Q="ssh://root@127.0.0.1:10022$SSH_DIR" sums

	cp "$src" "$SSH_DIR/src.raw"
	qemu-img convert -O qcow2 "$src" "$SSH_DIR/a.qcow2"
	eval "$(ssh-agent -s -a "$W/agent.sock")" >/dev/null
	ssh-add -q "$SSH_KEY" 2>/dev/null

	check "ssh: info" sh -c "'$I' info '$U/a.qcow2?$K' | grep -q 'file format: qcow2'"
	check "ssh: convert qcow2 -> local raw" "$I" convert -O raw "$U/a.qcow2?$K" "$W/ssh.raw"
	check "ssh: round trip is byte-identical" cmp "$src" "$W/ssh.raw"
	check "ssh: qemu-img reads the same URL (oracle)" \
		qemu-img compare "$W/ssh.raw" "$Q/a.qcow2?host_key_check=no"
	check "ssh: imgtool compare" "$I" compare "$src" "$U/a.qcow2?$K"
	check "ssh: compare raw over ssh" "$I" compare -f raw -F raw "$src" "$U/src.raw?$K"
	sums=$("$I" checksum "$src" "$U/a.qcow2?$K" | cut -d' ' -f1 | sort -u | wc -l)
	check "ssh: checksum equals the local file's" test "$sums" = 1
	check "ssh: convert local -> ssh qcow2" "$I" convert -O qcow2 "$src" "$U/w.qcow2?$K"
	check "ssh: written qcow2 passes qemu-img check" qemu-img check "$SSH_DIR/w.qcow2"
	check "ssh: written qcow2 = source (qemu-img)" qemu-img compare "$src" "$SSH_DIR/w.qcow2"
	check "ssh: convert local -> ssh raw" "$I" convert -O raw "$src" "$U/w.raw?$K"
	check "ssh: written raw is byte-identical" cmp "$src" "$SSH_DIR/w.raw"
	check "ssh: ssh -> ssh convert" "$I" convert -O qcow2 "$U/a.qcow2?$K" "$U/b.qcow2?$K"
	check "ssh: ssh -> ssh result (qemu-img)" qemu-img compare "$src" "$SSH_DIR/b.qcow2"

	url_backing_cases ssh "$SSH_DIR" "$U" "?$K"
	# an absolute backing name in an image on an SSH host is that host's file
	mkdir -p "$SSH_DIR/abs" &&
		qemu-img create -q -f qcow2 -b "$SSH_DIR/chain/base.qcow2" -F qcow2 "$SSH_DIR/abs/top.qcow2"
	check "ssh: an absolute backing name is read on the same host" \
		sh -c "'$I' info '$U/abs/top.qcow2?$K' | grep -qF 'actual path: $U/chain/base.qcow2?$K'"
	check "ssh: ... with the right bytes" "$I" compare "$SSH_DIR/abs/top.qcow2" "$U/abs/top.qcow2?$K"

	# authentication
	check "ssh: auth by ssh-agent" "$I" info "$U/a.qcow2?known-hosts=$SSH_KNOWN_HOSTS"
	printf '%s\n' "$SSH_PASSWORD" >"$W/sshpw"
	check "ssh: auth by ?password-file=" env -u SSH_AUTH_SOCK \
		"$I" info "$U/a.qcow2?password-file=$W/sshpw&known-hosts=$SSH_KNOWN_HOSTS"
	check "ssh: auth by IMGTOOL_SSH_PASSWORD" env -u SSH_AUTH_SOCK IMGTOOL_SSH_PASSWORD="$SSH_PASSWORD" \
		"$I" info "$U/a.qcow2?known-hosts=$SSH_KNOWN_HOSTS"
	ssh-keygen -q -t ed25519 -N '' -f "$W/stranger_key"
	expect_err "ssh: a key the server does not know is refused" "authentication refused" \
		env -u SSH_AUTH_SOCK "$I" info "$U/a.qcow2?identity=$W/stranger_key&known-hosts=$SSH_KNOWN_HOSTS"
	out=$(env -u SSH_AUTH_SOCK IMGTOOL_SSH_PASSWORD=WrongPw0rd99 "$I" info "$U/a.qcow2?known-hosts=$SSH_KNOWN_HOSTS" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && echo "$out" | grep -q "authentication refused" && ! echo "$out" | grep -q WrongPw0rd99; then
		ok "ssh: a wrong password is refused, never printed ($out)"
	else ko "ssh: wrong password: rc=$rc $out"; fi
	out=$("$I" info "ssh://root:Secr3tInUrl@127.0.0.1:10022$SSH_DIR/a.qcow2?$K" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && echo "$out" | grep -q "password-file" && ! echo "$out" | grep -q Secr3tInUrl; then
		ok "ssh: a password inside the URL is refused, never printed"
	else ko "ssh: password in URL: rc=$rc $out"; fi

	# host keys
	: >"$W/empty_known_hosts"
	expect_err "ssh: unknown host key refused, with how to accept it" "unknown host key $SSH_HOST_FP.*host-key=$SSH_HOST_FP" \
		"$I" info "$U/a.qcow2?identity=$SSH_KEY&known-hosts=$W/empty_known_hosts"
	check "ssh: nothing was added to the known_hosts file (no trust on first use)" test ! -s "$W/empty_known_hosts"
	expect_err "ssh: changed host key refused" "CHANGED" \
		"$I" info "$U/a.qcow2?identity=$SSH_KEY&known-hosts=$SSH_OTHER_KNOWN_HOSTS"
	check "ssh: pinned fingerprint accepted" \
		"$I" info "$U/a.qcow2?identity=$SSH_KEY&host-key=$SSH_HOST_FP&known-hosts=$W/empty_known_hosts"
	expect_err "ssh: pinned fingerprint mismatch refused" "mismatch" \
		"$I" info "$U/a.qcow2?identity=$SSH_KEY&host-key=SHA256:0000000000000000000000000000000000000000000"

	# bad names
	expect_err "ssh: missing file" "no such file" "$I" info "$U/missing.qcow2?$K"
	expect_err "ssh: nothing listens on the port" "cannot connect" "$I" info "ssh://root@127.0.0.1:1/x?$K"
	expect_err "ssh: unknown host name" "cannot connect" "$I" info "ssh://root@no-such-host.invalid/x?$K"
	expect_err "ssh: unknown URL option" "unknown ssh URL option" "$I" info "$U/a.qcow2?bogus=1"

	# the remote command API, over this server
	out=$(SSH_URL=$SSH_URL "$build/tests/unit/test_ssh_exec" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && ! echo "$out" | grep -q "^SKIP"; then
		ok "ssh: remote commands (test_ssh_exec, $(echo "$out" | grep -c passed) tests)"
	else ko "ssh: test_ssh_exec rc=$rc: $(echo "$out" | grep -E 'FAIL|SKIP|CU_' | head -5)"; fi

	ssh_datastore_cases "$K"
	ssh_freeze_cases "$K"
	ssh_remote_sync_cases

	# failures of the server: bounded time, one line, nonzero
	truncate -s 2G "$SSH_DIR/big.raw"
	kill -STOP "$SSH_SRV_PID"
	t0=$(date +%s)
	expect_err "ssh: frozen server at connect" "did not answer\|timeout\|timed out" \
		env IMGTOOL_NET_TIMEOUT=3 "$I" info "$U/a.qcow2?$K"
	kill -CONT "$SSH_SRV_PID"
	ssh_midcopy_case "ssh: frozen server mid-copy" STOP \
		"$I" convert -O raw "$U/big.raw?$K" "$W/big-stall.raw"
	ssh_midcopy_case "ssh: server's session killed mid-copy" KILL \
		"$I" convert -O raw "$U/big.raw?$K" "$W/big-kill.raw"
	check "ssh: the server still serves afterwards" "$I" info "$U/a.qcow2?$K"
	rm -f "$SSH_DIR/big.raw" "$W/big-stall.raw" "$W/big-kill.raw"
	ssh-agent -k >/dev/null 2>&1
	unset SSH_AUTH_SOCK SSH_AGENT_PID
}
