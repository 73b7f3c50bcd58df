# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/servers/lib.sh - start and stop real storage servers on loopback for the
# backend tests: nfs-ganesha (NFSv3 + rpcbind), tgtd (iSCSI) and a one-node Ceph
# (1 mon + 1 OSD on memstore); and, for the v2v tests, a private libvirtd
# (start_libvirt, not in with-servers.sh's default list) and a private OpenSSH
# server (start_sshd).  Sourced by
# with-servers.sh, which runs everything inside a private network + mount
# namespace: only "lo" exists there, so the servers cannot be reached from outside
# nor clash with anything on the host (rpcbind cannot be limited to loopback
# otherwise).
#
# Each start_X exports what tests need and records PIDs; servers_stop_all stops
# every daemon by its PID and removes the temp dir; callers run it from a trap so
# it happens even when a test fails.  Packages: `make deps`.
#
# Exported:
#   NFS_URL=nfs://127.0.0.1/export  (read-write)   NFS_RO_URL=nfs://127.0.0.1/ro
#   NFS_DIR, NFS_RO_DIR              backing directories
#   ISCSI_URL=iscsi://127.0.0.1:3260/iqn.2026-01.test:disk1   (LUNs 1-4, see start_iscsi)
#   ISCSI_CHAP_URL=iscsi://127.0.0.1:3260/iqn.2026-01.test:chap (LUN 1; user/password below)
#   ISCSI_CHAP_USER, ISCSI_CHAP_PASSWORD, ISCSI_DIR
#   CEPH_CONF, CEPH_DIR; pool "rbd"
#   LIBVIRT_URI=qemu:///system?socket=.../libvirt-sock   LIBVIRT_DIR (start_libvirt)
#   SLURM_CONF, SLURM_DIR (start_slurm: munged + slurmctld + slurmd, one node
#   "localhost" with 2 CPUs, partition "test")
#   SSH_URL=ssh://root@127.0.0.1:10022 (start_sshd: a private sshd; SFTP)
#   SSH_DIR (the served folder: SSH_URL$SSH_DIR/x is $SSH_DIR/x), SSH_KEY (the
#   test user's private key), SSH_KNOWN_HOSTS, SSH_HOST_FP (SHA256:...),
#   SSH_OTHER_KNOWN_HOSTS (the same host with another key), SSH_PASSWORD,
#   SSH_SRV_PID (the listening sshd)

SRV_DIR=${SRV_DIR:-}
SRV_PIDS=()          # "name:pid" of every daemon started
TGT_CTL=7

srv_log() { echo "servers: $*" >&2; }

srv_init() {
	[ -n "$SRV_DIR" ] || SRV_DIR=$(mktemp -d /tmp/imgtool-servers.XXXXXX)
	export SRV_DIR
}

srv_wait() {   # srv_wait TRIES SLEEP CMD... : retry until CMD succeeds
	local n=$1 s=$2
	shift 2
	for _ in $(seq "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep "$s"
	done
	return 1
}

# ---- NFS: nfs-ganesha with FSAL VFS, NFSv3 via rpcbind -------------------------
start_nfs() {
	local d=$SRV_DIR/nfs
	mkdir -p "$d/export" "$d/ro" "$d/recov"
	# glibc does not count 127.0.0.1 as configured (AI_ADDRCONFIG): ganesha's
	# Bind_addr then fails.  A second loopback address fixes that.
	ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
	mkdir -p /run/rpcbind /run/ganesha
	cat >"$d/ganesha.conf" <<CONF
NFS_CORE_PARAM {
	Bind_addr = 127.0.0.1;
	NFS_Port = 2049;
	MNT_Port = 20048;
	Protocols = 3, 4;
	Enable_NLM = false;
	Enable_RQUOTA = false;
	Enable_UDP = false;
	mount_path_pseudo = true;
}
NFSv4 { Graceless = true; RecoveryBackend = fs; RecoveryRoot = $d/recov; Only_Numeric_Owners = true; }
EXPORT {
	Export_Id = 1; Path = $d/export; Pseudo = /export; Protocols = 3, 4; Transports = TCP;
	Access_Type = RW; Squash = No_Root_Squash; SecType = sys; Attr_Expiration_Time = 0;
	FSAL { Name = VFS; }
}
EXPORT {
	Export_Id = 2; Path = $d/ro; Pseudo = /ro; Protocols = 3, 4; Transports = TCP;
	Access_Type = RO; Squash = No_Root_Squash; SecType = sys; Attr_Expiration_Time = 0;
	FSAL { Name = VFS; }
}
LOG { Default_Log_Level = EVENT; }
CONF
	rpcbind -f & SRV_PIDS+=("rpcbind:$!")
	srv_wait 50 0.1 rpcinfo -p 127.0.0.1 || { srv_log "rpcbind did not start"; return 1; }
	ganesha.nfsd -F -f "$d/ganesha.conf" -L "$d/ganesha.log" -p "$d/ganesha.pid" &
	local gpid=$!
	SRV_PIDS+=("ganesha:$gpid")
	for _ in $(seq 100); do
		rpcinfo -p 127.0.0.1 2>/dev/null | grep -q mountd && break
		kill -0 "$gpid" 2>/dev/null || { srv_log "ganesha died:"; tail -20 "$d/ganesha.log" >&2; return 1; }
		sleep 0.1
	done
	rpcinfo -p 127.0.0.1 2>/dev/null | grep -q mountd || { srv_log "ganesha not ready"; return 1; }
	export NFS_URL=nfs://127.0.0.1/export NFS_RO_URL=nfs://127.0.0.1/ro
	export NFS_DIR=$d/export NFS_RO_DIR=$d/ro
	srv_log "nfs: ganesha pid $gpid, $NFS_URL (rw), $NFS_RO_URL (ro)"
}

# ---- iSCSI: tgtd -------------------------------------------------------------
# target iqn.2026-01.test:disk1 (no auth):
#   LUN 1  ISCSI_LUN1_MB (default 1100) MiB, 512-byte blocks, thin (UNMAP)
#   LUN 2  16 MiB, 4096-byte blocks
#   LUN 3  16 MiB, read-only
#   LUN 4  8 MiB (too small for most tests)
# target iqn.2026-01.test:chap (CHAP): LUN 1 64 MiB
start_iscsi() {
	local d=$SRV_DIR/iscsi A="tgtadm -C $TGT_CTL --lld iscsi"
	mkdir -p "$d"
	truncate -s "${ISCSI_LUN1_MB:-1100}M" "$d/lun1.img"
	truncate -s 16M "$d/lun2.img"
	truncate -s 16M "$d/lun3.img"
	truncate -s 8M "$d/lun4.img"
	truncate -s 64M "$d/chap1.img"
	tgtd -f -C $TGT_CTL --iscsi portal=127.0.0.1:3260 >"$d/tgtd.log" 2>&1 &
	local tpid=$!
	SRV_PIDS+=("tgtd:$tpid")
	srv_wait 100 0.05 $A --op show --mode sys || { srv_log "tgtd did not start"; cat "$d/tgtd.log" >&2; return 1; }
	$A --op new --mode target --tid 1 -T iqn.2026-01.test:disk1 &&
	$A --op new --mode logicalunit --tid 1 --lun 1 -b "$d/lun1.img" &&
	$A --op update --mode logicalunit --tid 1 --lun 1 --params thin_provisioning=1 &&
	$A --op new --mode logicalunit --tid 1 --lun 2 -b "$d/lun2.img" --blocksize=4096 &&
	$A --op new --mode logicalunit --tid 1 --lun 3 -b "$d/lun3.img" &&
	$A --op update --mode logicalunit --tid 1 --lun 3 --params readonly=1 &&
	$A --op new --mode logicalunit --tid 1 --lun 4 -b "$d/lun4.img" &&
	$A --op bind --mode target --tid 1 -I ALL &&
	$A --op new --mode target --tid 2 -T iqn.2026-01.test:chap &&
	$A --op new --mode logicalunit --tid 2 --lun 1 -b "$d/chap1.img" &&
	$A --op bind --mode target --tid 2 -I ALL &&
	$A --op new --mode account --user testuser --password testpass12345 &&
	$A --op bind --mode account --tid 2 --user testuser || { srv_log "tgtadm setup failed"; return 1; }
	export ISCSI_URL=iscsi://127.0.0.1:3260/iqn.2026-01.test:disk1
	export ISCSI_CHAP_URL=iscsi://127.0.0.1:3260/iqn.2026-01.test:chap
	export ISCSI_CHAP_USER=testuser ISCSI_CHAP_PASSWORD=testpass12345 ISCSI_DIR=$d
	srv_log "iscsi: tgtd pid $tpid, $ISCSI_URL/{1..4}, $ISCSI_CHAP_URL/1 (CHAP)"
}

stop_tgtd() {   # tgtd ignores SIGTERM: ask it to exit over its control socket
	local pid=$1
	tgtadm -C $TGT_CTL --lld iscsi --op delete --mode target --tid 1 --force >/dev/null 2>&1
	tgtadm -C $TGT_CTL --lld iscsi --op delete --mode target --tid 2 --force >/dev/null 2>&1
	tgtadm -C $TGT_CTL --op delete --mode system >/dev/null 2>&1
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}

# ---- Ceph: 1 mon + 1 OSD (memstore), cephx ------------------------------------
start_ceph() {
	local d=$SRV_DIR/ceph
	mkdir -p "$d/mon" "$d/osd" "$d/run" "$d/log"
	export CEPH_DIR=$d CEPH_CONF=$d/ceph.conf
	cat >"$CEPH_CONF" <<CONF
[global]
fsid = $(uuidgen)
mon host = [v2:127.0.0.1:16789,v1:127.0.0.1:16790]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind port min = 16800
ms bind port max = 16899
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $d/keyring
run dir = $d/run
admin socket = $d/run/\$cluster-\$name.asok
pid file = $d/run/\$name.pid
log file = $d/log/\$name.log
chdir = ""
osd pool default size = 1
osd pool default min size = 1
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
[mon.a]
public addrv = [v2:127.0.0.1:16789,v1:127.0.0.1:16790]
mon data = $d/mon
mon cluster log file = $d/log/mon-cluster.log
mon data avail crit = 0
mon data avail warn = 1
paxos propose interval = 0.1
paxos min wait = 0.01
[osd.0]
osd data = $d/osd
keyring = $d/osd/keyring
osd objectstore = memstore
memstore device bytes = ${CEPH_MEMSTORE_BYTES:-4294967296}
osd class load list = *
osd class default list = *
CONF
	ceph-authtool --create-keyring "$d/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null &&
	ceph-authtool "$d/keyring" --gen-key -n client.admin \
		--cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null &&
	ceph-mon --mkfs -i a -c "$CEPH_CONF" --keyring "$d/keyring" || { srv_log "ceph-mon --mkfs failed"; return 1; }
	ceph-mon -i a -c "$CEPH_CONF" -f 2>>"$d/log/mon.stderr" &
	local mpid=$!
	SRV_PIDS+=("ceph-mon:$mpid")
	timeout 60 ceph mon stat >/dev/null || { srv_log "ceph-mon not answering"; return 1; }
	local uuid id
	uuid=$(uuidgen)
	id=$(timeout 60 ceph osd new "$uuid") || { srv_log "ceph osd new failed"; return 1; }
	ceph auth get-or-create osd.$id mon 'allow profile osd' osd 'allow *' mgr 'allow profile osd' \
		-o "$d/osd/keyring" >/dev/null
	ceph-osd -i "$id" -c "$CEPH_CONF" --mkfs --osd-uuid "$uuid" 2>"$d/log/osd-mkfs.err" ||
		{ srv_log "ceph-osd --mkfs failed"; cat "$d/log/osd-mkfs.err" >&2; return 1; }
	ceph-osd -i "$id" -c "$CEPH_CONF" -f 2>>"$d/log/osd.stderr" &
	local opid=$!
	SRV_PIDS+=("ceph-osd:$opid")
	for _ in $(seq 600); do
		timeout 10 ceph osd dump 2>/dev/null | grep -q "^osd.$id up" && break
		kill -0 "$opid" 2>/dev/null || { srv_log "ceph-osd died"; tail -20 "$d/log/osd.$id.log" >&2; return 1; }
		sleep 0.1
	done
	timeout 60 ceph osd pool create rbd 8 >/dev/null 2>&1 &&
	timeout 60 rbd pool init rbd || { srv_log "pool rbd not created"; return 1; }
	# a restricted client for the cephx tests
	srv_log "ceph: mon pid $mpid, osd pid $opid, CEPH_CONF=$CEPH_CONF, pool rbd"
}

stop_ceph_daemon() {
	local pid=$1
	kill "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}

# ---- libvirt: a private libvirtd (qemu driver) ----------------------------------
# Its config, state, cache and logs are folders under SRV_DIR bound over the system
# paths in this mount namespace only, so domains it defines vanish with it and the
# host's libvirt (if any) is never touched.  Debian's qemu driver resolves its
# default user "libvirt-qemu" before reading qemu.conf; that user is created by
# libvirt-daemon-system (not installed: its postinst wants systemd), so a copy of
# /etc/passwd and /etc/group with that user is bound here too.
start_libvirt() {
	local d=$SRV_DIR/libvirt p
	command -v libvirtd >/dev/null || { srv_log "libvirtd not installed (make deps)"; return 1; }
	mkdir -p "$d/etc/qemu" "$d/lib" "$d/cache" "$d/log" "$d/sock"
	for p in /etc/libvirt:etc /var/lib/libvirt:lib /var/cache/libvirt:cache /var/log/libvirt:log; do
		mkdir -p "${p%%:*}" && mount --bind "$d/${p##*:}" "${p%%:*}" ||
			{ srv_log "libvirt: cannot bind $d/${p##*:} over ${p%%:*}"; return 1; }
	done
	cp /etc/passwd "$d/passwd" && cp /etc/group "$d/group" || return 1
	grep -q '^libvirt-qemu:' "$d/passwd" ||
		echo 'libvirt-qemu:x:64055:64055:libvirt (tests):/var/lib/libvirt:/usr/sbin/nologin' >>"$d/passwd"
	grep -q '^libvirt-qemu:' "$d/group" || echo 'libvirt-qemu:x:64055:' >>"$d/group"
	mount --bind "$d/passwd" /etc/passwd && mount --bind "$d/group" /etc/group || return 1
	cat >"$d/etc/libvirtd.conf" <<CONF
unix_sock_dir = "$d/sock"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$d/libvirtd.log"
CONF
	cat >"$d/etc/qemu.conf" <<CONF
user = "root"
group = "root"
security_driver = "none"
CONF
	libvirtd -f "$d/etc/libvirtd.conf" -p "$d/libvirtd.pid" >"$d/stderr" 2>&1 &
	local lpid=$!
	SRV_PIDS+=("libvirtd:$lpid")
	export LIBVIRT_URI="qemu:///system?socket=$d/sock/libvirt-sock" LIBVIRT_DIR=$d
	# the first call waits for the qemu capabilities probe (seconds)
	for _ in $(seq 300); do
		timeout 60 virsh -c "$LIBVIRT_URI" -q list --all >/dev/null 2>&1 && break
		kill -0 "$lpid" 2>/dev/null || { srv_log "libvirtd died:"; tail -5 "$d/libvirtd.log" "$d/stderr" >&2; return 1; }
		sleep 0.1
	done
	virsh -c "$LIBVIRT_URI" -q list --all >/dev/null 2>&1 || { srv_log "libvirtd not answering"; return 1; }
	srv_log "libvirt: libvirtd pid $lpid, $LIBVIRT_URI"
}

# ---- Slurm: a one-node cluster (munged, slurmctld, slurmd) on 127.0.0.1 ------
# for migrate's job-array shards.  Debian's slurmctld/slurmd/slurm-client and
# munge; state, spool, logs and munge's key and socket all in SRV_DIR.
start_slurm() {
	local d=$SRV_DIR/slurm
	command -v slurmctld >/dev/null && command -v munged >/dev/null ||
		{ srv_log "slurm or munge not installed (make deps)"; return 1; }
	mkdir -p "$d/state" "$d/spool" "$d/log" "$d/run"
	# as for ganesha: with 127.0.0.1 alone glibc's AI_ADDRCONFIG finds no address
	# and the daemons cannot bind; a second loopback address fixes that
	ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
	head -c 1024 /dev/urandom >"$d/munge.key" && chmod 400 "$d/munge.key"
	munged -f -F -S "$d/run/munge.sock" --key-file="$d/munge.key" --log-file="$d/log/munged.log" \
		--pid-file="$d/run/munged.pid" --seed-file="$d/run/munge.seed" >"$d/log/munged.out" 2>&1 &
	SRV_PIDS+=("munged:$!")
	srv_wait 50 0.1 test -S "$d/run/munge.sock" || { srv_log "munged did not start"; return 1; }
	cat >"$d/slurm.conf" <<CONF
ClusterName=imgtooltest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
AuthInfo=socket=$d/run/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/run/slurmctld.pid
SlurmdPidFile=$d/run/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=4000 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
	export SLURM_CONF=$d/slurm.conf SLURM_DIR=$d
	slurmctld -D -f "$SLURM_CONF" >"$d/log/slurmctld.out" 2>&1 &
	SRV_PIDS+=("slurmctld:$!")
	slurmd -D -N localhost -f "$SLURM_CONF" >"$d/log/slurmd.out" 2>&1 &
	SRV_PIDS+=("slurmd:$!")
	srv_wait 100 0.1 sh -c 'timeout 5 sinfo -h -o %t | grep -q idle' ||
		{ srv_log "slurm: the node is not idle"; tail -5 "$d/log/slurmctld.log" "$d/log/slurmd.log" >&2; return 1; }
	srv_log "slurm: munged, slurmctld, slurmd up; SLURM_CONF=$SLURM_CONF"
}

# ---- SSH: a private OpenSSH server --------------------------------------------
# Its own host key, config, authorized_keys and test user key in SRV_DIR; port
# 10022 on 127.0.0.1 (never 22: no clash with a system sshd even outside the
# namespace).  Logins as root by key, or by password: root's password is set in a
# copy of /etc/shadow bound over the real one in this mount namespace only.
start_sshd() {
	local d=$SRV_DIR/sshd spid
	[ -x /usr/sbin/sshd ] || { srv_log "sshd not installed (make deps: openssh-server)"; return 1; }
	mkdir -p "$d/data" /run/sshd && chmod 700 "$d" &&
	ssh-keygen -q -t ed25519 -N '' -f "$d/host_key" &&
	ssh-keygen -q -t ed25519 -N '' -f "$d/other_host_key" &&
	ssh-keygen -q -t ed25519 -N '' -C imgtool-test -f "$d/id_test" &&
	cp "$d/id_test.pub" "$d/authorized_keys" || { srv_log "ssh-keygen failed"; return 1; }
	SSH_PASSWORD=SshTestPass4242
	cp /etc/shadow "$d/shadow" &&
	sed -i "s|^root:[^:]*:|root:$(openssl passwd -6 "$SSH_PASSWORD"):|" "$d/shadow" &&
	mount --bind "$d/shadow" /etc/shadow || { srv_log "cannot set root's test password"; return 1; }
	cat >"$d/sshd_config" <<CONF
Port 10022
ListenAddress 127.0.0.1
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
PermitRootLogin yes
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 64
MaxSessions 64
Subsystem sftp internal-sftp
LogLevel ERROR
CONF
	/usr/sbin/sshd -D -f "$d/sshd_config" -E "$d/sshd.log" &
	spid=$!
	SRV_PIDS+=("sshd:$spid")
	srv_wait 100 0.05 sh -c "ssh-keyscan -p 10022 127.0.0.1 2>/dev/null | grep -q ed25519" ||
		{ srv_log "sshd did not start"; cat "$d/sshd.log" >&2; return 1; }
	echo "[127.0.0.1]:10022 $(cut -d' ' -f1,2 "$d/host_key.pub")" >"$d/known_hosts"
	echo "[127.0.0.1]:10022 $(cut -d' ' -f1,2 "$d/other_host_key.pub")" >"$d/other_known_hosts"
	export SSH_URL=ssh://root@127.0.0.1:10022 SSH_DIR=$d/data SSH_KEY=$d/id_test
	export SSH_KNOWN_HOSTS=$d/known_hosts SSH_OTHER_KNOWN_HOSTS=$d/other_known_hosts
	export SSH_HOST_FP=$(ssh-keygen -lf "$d/host_key.pub" | cut -d' ' -f2)
	export SSH_PASSWORD SSH_SRV_PID=$spid
	srv_log "sshd: pid $spid, $SSH_URL, host key $SSH_HOST_FP"
}

# Stop every daemon (newest first) by PID, then remove the temp dir.
servers_stop_all() {
	local i entry name pid
	for ((i = ${#SRV_PIDS[@]} - 1; i >= 0; i--)); do
		entry=${SRV_PIDS[$i]}
		name=${entry%%:*}
		pid=${entry##*:}
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; continue; }
		case $name in
		tgtd) stop_tgtd "$pid" ;;
		ceph-*) stop_ceph_daemon "$pid" ;;
		*) kill "$pid" 2>/dev/null
		   for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done ;;
		esac
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	SRV_PIDS=()
	if [ -n "$SRV_DIR" ] && [ -z "${KEEP_SERVERS_DIR:-}" ]; then
		rm -rf "$SRV_DIR"
	fi
}
