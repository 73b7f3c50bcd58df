#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/servers/with-servers.sh CMD [ARGS...] - start real NFS, iSCSI and Ceph servers
# on loopback inside a private network + mount namespace, run CMD there (it sees
# NFS_URL, ISCSI_URL, CEPH_CONF ... from lib.sh), then stop every server by PID and
# delete its files, whatever CMD did (trap on EXIT; INT/TERM end in EXIT too).
#
#   SERVERS="nfs iscsi ceph"   which servers to start (default: all three)
#   SERVERS_FAILED             exported to CMD: servers that could not start (with
#                              the reason on stderr); tests count their cases failed
#   SRV_PIDLIST                exported to CMD: "name:pid ..." of every daemon
# Needs root (unshare, ganesha's open_by_handle).  Exit status: CMD's.
set -u
if [ -z "${IMGTOOL_SRV_NS:-}" ]; then
	exec unshare --net --mount --propagation private env IMGTOOL_SRV_NS=1 "$0" "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
ip link set lo up
# a private /run: rpcbind's socket and lock files stay in this namespace
mount -t tmpfs -o mode=755 tmpfs /run
. "$here/lib.sh"
srv_init
trap 'servers_stop_all' EXIT
trap 'exit 130' INT TERM HUP

SERVERS_FAILED=""
for s in ${SERVERS:-nfs iscsi ceph}; do
	t0=$(date +%s.%N)
	if start_"$s"; then
		srv_log "$s ready in $(echo "$(date +%s.%N) - $t0" | bc) s"
	else
		srv_log "$s FAILED to start"
		SERVERS_FAILED="$SERVERS_FAILED $s"
	fi
done
export SERVERS_FAILED
# "name:pid ..." of the daemons, for tests that freeze one (kill -STOP) by its PID
export SRV_PIDLIST="${SRV_PIDS[*]}"

[ $# -gt 0 ] || set -- bash
rc=0
"$@" || rc=$?
exit $rc
