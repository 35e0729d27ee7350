#!/usr/bin/env bash
# Every stroke file in DIR is read by `digits-cli recognize`: files named
# D-... must give the digit D, files named none-... must give nothing to read.
#   test-strokes.sh DIGITS_CLI DIR
set -euo pipefail
cli=$1
dir=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$cli" recognize --single "$dir"/*.json > "$out"
# Tabs separate the fields and DIGITS may be empty, so split with awk (the
# shell's read would fold the two tabs into one).
awk -F '\t' '
  {
    n = split ($1, parts, "/"); name = parts[n]; sub (/\.json$/, "", name)
    want = (name ~ /^none-/) ? "" : substr (name, 1, 1)
    total++
    if ($2 != want) { printf "MISREAD: %s read as \"%s\" (%s), want \"%s\"\n", name, $2, $3, want; failures++ }
  }
  END {
    printf "%d of %d stroke files read correctly\n", total - failures, total
    exit (total == 0 || failures > 0)
  }' "$out"
