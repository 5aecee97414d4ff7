#!/usr/bin/env python3
"""syslog_sink.py SOCKET FILE: a stand-in syslog daemon for the tests.
Binds a datagram UNIX socket at SOCKET and appends every message to FILE,
one per line, as received ("<PRI>... natsecd[PID]: LEVEL text"). Runs until
killed."""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(out, "ab", buffering=0) as f:
    while True:
        msg = s.recv(65536)
        f.write(msg.rstrip(b"\n\0") + b"\n")
