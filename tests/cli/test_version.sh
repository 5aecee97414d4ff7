#!/usr/bin/env bash
# The version comes from one place (VERSION) and both programs print it;
# --help prints the usage on stdout and exits 0, an unknown option exits 2
# with the usage on stderr (X14: an operable service).
# Needs no root and no namespace: natsecd exits before reading any file.
set -euo pipefail
build=${NATSEC_BUILD:?set NATSEC_BUILD}
src=${NATSEC_SRC:?set NATSEC_SRC}
nsd=$build/src/daemon/natsecd
nsc=$build/src/ctl/natsecctl
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
version=$(head -n 1 "$src/VERSION")
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "VERSION holds '$version'"

# X14: --version, from VERSION (plus the git commit in a checkout).
for cmd in "$nsd --version" "$nsd -V" "$nsc --version" "$nsc -V"; do
  out=$($cmd) || fail "$cmd exited $?"
  prog=$(basename "${cmd%% *}")
  [[ $out =~ ^$prog\ ${version//./\\.}( \(git [^\)]+\))?$ ]] || fail "$cmd printed '$out'"
  echo "ok: $cmd -> $out"
done

# X14: natsecctl version prints its own version even when no natsecd runs,
# then says that natsecd is not reachable and exits 1.
rc=0
out=$("$nsc" -s /nonexistent/natsecd.sock version 2>"${TMPDIR:-/tmp}/nsc-version-err.$$") || rc=$?
err=$(cat "${TMPDIR:-/tmp}/nsc-version-err.$$")
rm -f "${TMPDIR:-/tmp}/nsc-version-err.$$"
[ "$rc" -eq 1 ] || fail "natsecctl version without natsecd exited $rc"
[[ $out == "natsecctl $version"* ]] || fail "natsecctl version printed '$out'"
[[ $err == *"not reachable at /nonexistent/natsecd.sock"* ]] || fail "natsecctl version said '$err'"
echo "ok: natsecctl version without natsecd -> '$out' / '$err'"

# X14: --help on stdout, exit 0; the usage names every option.
for prog in "$nsd" "$nsc"; do
  for h in --help -h; do
    out=$("$prog" "$h") || fail "$prog $h exited $?"
    [[ $out == usage:* ]] || fail "$prog $h printed '$out'"
  done
done
out=$("$nsd" --help)
for opt in --config --foreground --debug --version --help; do
  [[ $out == *"$opt"* ]] || fail "natsecd --help does not mention $opt"
done
out=$("$nsc" --help)
for c in status up down rekey version; do
  [[ $out == *"  $c"* ]] || fail "natsecctl --help does not mention $c"
done
echo "ok: --help prints the usage and exits 0"

# An unknown option is an error (exit 2, usage on stderr, nothing on stdout).
for prog in "$nsd" "$nsc"; do
  rc=0
  out=$("$prog" --no-such-option 2>/dev/null) || rc=$?
  [ "$rc" -eq 2 ] || fail "$prog --no-such-option exited $rc"
  [ -z "$out" ] || fail "$prog --no-such-option printed on stdout"
done
echo "ok: unknown options exit 2"
echo PASS
