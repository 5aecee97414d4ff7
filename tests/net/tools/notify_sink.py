#!/usr/bin/env python3
"""notify_sink.py SOCKET OUT [CHECK...]: stands in for systemd's
notification socket (NOTIFY_SOCKET) in the tests.

Binds a datagram UNIX socket at SOCKET and appends every notification to
OUT as "<seconds since start> <sender pid> <message, newlines as |>". When
a message says READY=1 and CHECK is given, the sender is stopped
(SIGSTOP) at once, CHECK runs with SENDER_PID in its environment, a line
"<t> <pid> CHECK=<exit code>" is written, and the sender continues
(SIGCONT): what CHECK sees is the state natsecd was in when it said it was
ready. Runs until killed."""
import os
import signal
import socket
import struct
import subprocess
import sys
import time

path, out, check = sys.argv[1], sys.argv[2], sys.argv[3:]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
os.chmod(path, 0o666)
t0 = time.monotonic()
with open(out, "a", buffering=1) as f:
    while True:
        msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = 0
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", data[:12])[0]
        text = msg.decode(errors="replace")
        t = time.monotonic() - t0
        f.write(f"{t:.3f} {pid} {text.strip().replace(chr(10), '|')}\n")
        if check and pid > 0 and "READY=1" in text.split("\n"):
            os.kill(pid, signal.SIGSTOP)
            try:
                rc = subprocess.run(check, env=dict(os.environ, SENDER_PID=str(pid))).returncode
            finally:
                os.kill(pid, signal.SIGCONT)
            f.write(f"{t:.3f} {pid} CHECK={rc}\n")
