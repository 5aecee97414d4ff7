#!/usr/bin/env python3
"""Reads natsecctl metrics output on stdin, parses it with
python3-prometheus-client's text-format parser and checks that every family
has its HELP and TYPE lines. Prints one JSON object on stdout:
{"name{label=value,...}": value, ...} with labels sorted, for the test to
read with jq. Exits 1 with a message when the text does not parse or a
family lacks HELP/TYPE."""
import json
import re
import sys

from prometheus_client.parser import text_string_to_metric_families

text = sys.stdin.read()
helped, typed, sampled = set(), set(), set()
for line in text.splitlines():
    m = re.match(r"# HELP (\S+) \S", line)
    if m:
        helped.add(m.group(1))
        continue
    m = re.match(r"# TYPE (\S+) (counter|gauge)$", line)
    if m:
        typed.add(m.group(1))
        continue
    if line.startswith("#") or not line:
        print(f"unexpected line: {line!r}", file=sys.stderr)
        sys.exit(1)
    sampled.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
missing = sorted(n for n in sampled if n not in helped or n not in typed)
if missing:
    print(f"samples without HELP/TYPE: {missing}", file=sys.stderr)
    sys.exit(1)

out = {}
try:
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            key = f"{s.name}{{{labels}}}" if labels else s.name
            if key in out:
                print(f"duplicate series {key}", file=sys.stderr)
                sys.exit(1)
            out[key] = s.value
        if fam.type not in ("counter", "gauge"):
            print(f"family {fam.name} has type {fam.type}", file=sys.stderr)
            sys.exit(1)
except ValueError as e:
    print(f"the Prometheus parser refused the text: {e}", file=sys.stderr)
    sys.exit(1)
json.dump(out, sys.stdout, sort_keys=True)
print()
