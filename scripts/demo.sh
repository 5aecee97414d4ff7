#!/usr/bin/env bash
echo "make demo: the ESP data plane has not landed yet; the demo arrives with it." >&2
exit 1
