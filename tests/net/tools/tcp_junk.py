#!/usr/bin/env python3
"""Junk on natsecd's RFC 8229 port (X6, R15): each kind of bad connection
is opened to HOST:PORT and timed until the gateway closes it. Prints one
JSON object: per kind whether and after how many seconds it was closed.

  tcp_junk.py HOST PORT HOLD   HOLD: idle connections to open at once
"""
import json
import os
import socket
import sys
import time

host, port, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def closed_within(s, seconds, drip=None):
    """Seconds until the peer closed s (EOF or reset), or None. drip: a
    byte string sent one byte a second meanwhile (slowloris)."""
    start = time.monotonic()
    s.settimeout(0.2)
    i = 0
    next_drip = start
    while time.monotonic() - start < seconds:
        if drip is not None and time.monotonic() >= next_drip:
            try:
                s.send(drip[i % len(drip):i % len(drip) + 1])
            except OSError:
                return round(time.monotonic() - start, 2)
            i += 1
            next_drip += 1.0
        try:
            if s.recv(4096) == b"":
                return round(time.monotonic() - start, 2)
        except socket.timeout:
            continue
        except OSError:
            return round(time.monotonic() - start, 2)
    return None


def connect():
    return socket.create_connection((host, port), timeout=5)


out = {}
cases = {
    "random": os.urandom(512),
    "wrong_prefix": b"IKETCX" + os.urandom(64),
    "http": b"GET / HTTP/1.1\r\nHost: vpn\r\n\r\n",
    "oversize_length": b"IKETCP\xff\xff" + bytes(64),
    "short_esp": b"IKETCP\x00\x07\x01\x02\x03\x04\x05",
}
for name, data in cases.items():
    s = connect()
    s.sendall(data)
    out[name] = closed_within(s, 5)
    s.close()

# Slowloris: the prefix and an IKE frame header one byte a second.
s = connect()
out["slowloris"] = closed_within(s, 15, drip=b"IKETCP\x01\x00\x00\x00\x00\x00" + bytes(64))
s.close()

# Idle connections from one address: the per-source cap refuses the rest.
socks, refused = [], 0
for _ in range(hold):
    try:
        c = connect()
        socks.append(c)
    except OSError:
        refused += 1
time.sleep(0.5)
closed_at_once = sum(1 for c in socks if closed_within(c, 0.3) is not None)
out["held"] = len(socks)
out["closed_at_once"] = closed_at_once
for c in socks:
    c.close()
print(json.dumps(out))
