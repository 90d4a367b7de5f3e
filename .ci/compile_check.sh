#!/usr/bin/env bash
# Builds the single binary the way `deno task compile` does and fails on a
# crash, a test-only package in it, more than one libSQL native library, a
# leftover temp file, or an embedded size over the budget.
#
# The base runtime is the `deno` executable itself (DENORT_BIN): the result
# cannot run the program, but the whole embedding step (module graph, npm
# packages, CommonJS analysis, native libraries) runs as in a real build, and
# CI needs no download.
set -euo pipefail
cd "$(dirname "$0")/.."

# Measured 33.75 MB on 2026-12-03 (Deno 2.9.6, x86_64-unknown-linux-gnu):
# the program, its npm packages and one libSQL library. The budget leaves
# room for small changes; a new dependency of several MB should be a choice.
BUDGET_MB=36

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
set +e
NO_COLOR=1 DENORT_BIN="$(command -v deno)" deno task compile --output "$out/symbo-crm" \
  >"$out/compile.log" 2>&1
status=$?
set -e
fail() {
  tail -n 60 "$out/compile.log" >&2
  echo "compile check: $1" >&2
  exit 1
}
[ "$status" -eq 0 ] || fail "deno task compile exited with $status"
if ls "$out"/symbo-crm.tmp-* >/dev/null 2>&1; then fail "a temp file was left behind"; fi
# Test-only packages: every npm import of tests/deno.json, and the browser
# driver's own large dependencies.
tests_imports=$(deno eval 'const j = JSON.parse(Deno.readTextFileSync("tests/deno.json"));
for (const v of Object.values(j.imports)) {
  const m = /^npm:\/?((?:@[^/@]+\/)?[^@/]+)/.exec(String(v));
  if (m) console.log(m[1]);
}')
test_only=""
for name in $tests_imports @puppeteer/browsers chromium-bidi devtools-protocol yargs; do
  # A tree line names a package as "── name/…" or "── name/1.2.3/…".
  if grep -qE "── ${name}/" "$out/compile.log"; then test_only="$test_only $name"; fi
done
[ -z "$test_only" ] || fail "test-only packages are embedded: $test_only"
natives=$(grep -cE '── (linux|darwin|win32)-[a-z0-9-]+/\*' "$out/compile.log" || true)
[ "$natives" -eq 1 ] || fail "expected one libSQL native library, found $natives"
files=$(sed -nE 's/^Files: ([0-9.]+)(KB|MB|GB)$/\1 \2/p' "$out/compile.log")
[ -n "$files" ] || fail "no 'Files:' size in deno compile's output"
mb=$(awk -v v="${files% *}" -v u="${files#* }" \
  'BEGIN { printf "%.2f", (u == "GB" ? v * 1024 : (u == "KB" ? v / 1024 : v)) }')
if awk -v mb="$mb" -v budget="$BUDGET_MB" 'BEGIN { exit !(mb > budget) }'; then
  fail "embedded ${mb} MB is over the budget of ${BUDGET_MB} MB"
fi
echo "compile check: ok, embedded ${mb} MB (budget ${BUDGET_MB} MB), one libSQL native library, no test-only package"
