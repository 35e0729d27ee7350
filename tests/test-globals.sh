#!/usr/bin/env bash
# The engine keeps no state of its own between calls: pages, drawings and
# batches are read on several threads at once (recognize --jobs, the app's
# reader thread), so a writable global is a race.  One once was: a pointer
# that qsort's comparators read put one page's digits in another page's
# order, about one page in a few hundred under `recognize --jobs 2`.
# Lists the library's writable static data (nm: b, d, B, D, C) and fails on
# anything but what is meant to be shared:
#   engine_threads  the thread count, set by dg_set_threads before work starts
#   pixel_lanes     the pixel-major kernels' vector width: read and written
#                   atomically, always with the processor's answer or a test's
#   plan_lock       the mutex that guards a model's inference plan
#   scratch_key     the GPrivate key of the per-thread scratch buffers
#   q.N, once.N     GLib's quark and g_once caches, thread-safe by design
#   test-globals.sh LIBDIGITS.a
set -euo pipefail
lib=$1
allowed='^(engine_threads|pixel_lanes|plan_lock|scratch_key|q\.[0-9]+|once\.[0-9]+)$'
found=$(nm --defined-only "$lib" | awk 'NF == 3 && $2 ~ /^[bBdDcC]$/ { print $3 }' | sort -u)
[ -n "$found" ] || { echo "FAIL: nm found no data at all in $lib; is it the library?" >&2; exit 1; }
bad=$(grep -v -E "$allowed" <<<"$found" || true)
if [ -n "$bad" ]; then
  echo "FAIL: writable globals in the engine (a race when threads share it):" >&2
  echo "$bad" >&2
  exit 1
fi
echo "globals: $(wc -l <<<"$found") shared symbols, all meant to be shared"
