#!/usr/bin/env bash
# The manual pages (X14): natsecd(8), natsecctl(8) and natsecd.conf(5) are
# built (pandoc, man/CMakeLists.txt), render without a groff warning, and
# say what the programs do: every option of natsecd --help is in
# natsecd(8), every command of natsecctl --help in natsecctl(8), and every
# [natsecd] and [peer] key natsecd accepts (src/conf/keys.c, peer_keys.c) is described
# in docs/config.md, from which natsecd.conf(5) is made.
set -euo pipefail
build=${NATSEC_BUILD:?set NATSEC_BUILD}
src=${NATSEC_SRC:?set NATSEC_SRC}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
man=$build/man
render() { LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$1"; }
for page in natsecd.8 natsecctl.8 natsecd.conf.5; do
  [ -s "$man/$page" ] || fail "$man/$page was not built (pandoc missing? scripts/deps.sh)"
  warn=$(render "$man/$page" 2>&1 >/dev/null || true)
  [ -z "$warn" ] || fail "$page: $warn"
  render "$man/$page" 2>/dev/null | grep -q '^NAME' || fail "$page has no NAME section"
done
echo "ok: three pages, no groff warning"

text=$(render "$man/natsecd.8" 2>/dev/null)
for opt in $("$build/src/daemon/natsecd" --help | grep -oE -- '--[a-z]+' | sort -u); do
  grep -q -- "$opt" <<<"$text" || fail "natsecd(8) does not describe $opt"
done
text=$(render "$man/natsecctl.8" 2>/dev/null)
for cmd in $("$build/src/ctl/natsecctl" --help | sed -n '/^commands:/,$p' | awk 'NR > 1 && /^  [a-z]/ {print $1}'); do
  grep -qE "^ +([a-z-]+, )?$cmd(,| |$)" <<<"$text" || fail "natsecctl(8) does not describe the command $cmd"
done
echo "ok: every natsecd option and natsecctl command is in its manual"

keys=$(grep -oE '(FN|NUM)\("[a-z_0-9]+"' "$src/src/conf/keys.c" | sed -E 's/.*"(.*)"/\1/')
keys+=" $(sed -n '/peer_keys\[NS_CONF_P_PEER_KEYS\] = {/,/};/p' "$src/src/conf/peer_keys.c" | grep -oE '"[a-z_]+"' | tr -d '"')"
n=0
for k in $keys; do
  [ "$k" = ah_proposals ] && continue # refused, with its own explanation
  grep -q "^| \`$k\` |" "$src/docs/config.md" || fail "the key $k is not described in docs/config.md"
  n=$((n + 1))
done
[ "$n" -ge 40 ] || fail "only $n keys found in keys.c"
text=$(render "$man/natsecd.conf.5" 2>/dev/null)
for k in log_target user seccomp subnets; do
  grep -q "$k" <<<"$text" || fail "natsecd.conf(5) lacks $k"
done
echo "ok: all $n keys are in docs/config.md, and so in natsecd.conf(5)"
echo PASS
