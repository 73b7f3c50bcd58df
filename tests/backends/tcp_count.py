#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# tcp_count.py LISTEN_PORT TARGET_PORT COUNT_FILE: a loopback TCP relay that
# counts every payload byte in both directions, for tests that must show how
# much crossed a link (sync --remote-imgtool over SSH).  After each connection
# closes, COUNT_FILE holds the running total of all connections.
import socket, sys, threading

listen_port, target_port, count_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
total = 0
lock = threading.Lock()


def pump(a, b, counted):
    n = 0
    try:
        while True:
            buf = a.recv(1 << 16)
            if not buf:
                break
            b.sendall(buf)
            n += len(buf)
    except OSError:
        pass
    try:
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    counted.append(n)


def serve(c):
    global total
    s = socket.create_connection(("127.0.0.1", target_port))
    counted = []
    t = threading.Thread(target=pump, args=(s, c, counted))
    t.start()
    pump(c, s, counted)
    t.join()
    c.close()
    s.close()
    with lock:
        total += sum(counted)
        with open(count_file, "w") as f:
            f.write("%d\n" % total)


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", listen_port))
ls.listen(8)
with open(count_file, "w") as f:
    f.write("0\n")
while True:
    conn, _ = ls.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
