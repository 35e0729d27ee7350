#!/usr/bin/env bash
# Nothing the user has is lost: every file digits-cli writes goes to a
# temporary file that is renamed over the old one, so a write interrupted
# at any point leaves the old file whole.
#
#   test-atomic-write.sh DIGITS_CLI WEIGHTS STROKE_FILE
#
# Each writer is interrupted at each point of its write:
#   size-limit  the file size limit (ulimit -f) stops it with SIGXFSZ as it
#               makes the new file (GLib allocates the whole length first);
#   write       SIGKILL at its first write (recognize --output only: the
#               other commands write to stdout first);
#   fsync       SIGKILL at the fsync of the new file, written in full;
#   rename      SIGKILL at the rename that would replace the old file.
# strace injects the SIGKILLs, which nothing can catch.  Whatever the point,
# the old file must still hold exactly what it held.  Then an uninterrupted
# run must replace it with a complete file.  A program that opened the old
# file with O_TRUNC and wrote into it would fail at once.  Also, a training
# run killed part-way leaves the old weights in place.
set -euo pipefail
cli=$(realpath "$1")
weights=$(realpath "$2")
strokes=$(realpath "$3")
: "${DIGITS_MNIST_DIR:?DIGITS_MNIST_DIR must point at MNIST (tools/test sets it)}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

fail() { echo "FAIL: $*" >&2; exit 1; }
command -v strace > /dev/null || fail "strace is missing (tools/install-deps installs it)"

old_content="the user's precious old file"

# interrupted NAME TARGET POINT COMMAND...
interrupted() {
  local name=$1 target=$2 point=$3
  shift 3
  printf '%s' "$old_content" > "$target"
  local calls=$point
  [ "$point" = rename ] && calls=rename,renameat,renameat2
  set +e
  # In a subshell whose stderr is closed, so the shell's "Killed" goes too.
  (
    case $point in
      size-limit) ulimit -f 1; exec "$@" ;;
      *) exec strace -f -o /dev/null -e trace="$calls" -e inject="$calls":signal=SIGKILL:when=1 "$@" ;;
    esac
  ) > /dev/null 2>&1
  local status=$?
  set -e
  [ $status -ne 0 ] || fail "$name: not interrupted at $point (exit status 0)"
  [ "$(cat "$target")" = "$old_content" ] \
    || fail "$name interrupted at $point: the old file now holds $(wc -c < "$target") other bytes"
  # The new contents were under way in a temporary file beside the target.
  ls "$target".?????? > /dev/null 2>&1 || fail "$name interrupted at $point: no temporary file"
  rm -f "$target".??????
  echo "ok: $name interrupted at $point, the old file is intact"
}

recognize=("$cli" recognize --weights "$weights" --threads 1)
train=("$cli" train --arch pool,pool,dense10 --epochs 1 --max-train 100 --val 20 --threads 1)
eval_probs=("$cli" eval --weights "$weights" --threads 1 --limit 100 --dump-probs probs.bin)

interrupted "recognize --output" results.json write \
  "${recognize[@]}" --format json --output results.json "$strokes"
for point in size-limit fsync rename; do
  interrupted "recognize --output" results.json $point \
    "${recognize[@]}" --format json --output results.json "$strokes"
  interrupted "eval --dump-probs" probs.bin $point "${eval_probs[@]}"
  interrupted "train --out" model.safetensors $point "${train[@]}" --out model.safetensors
done
# The 28x28 PNG is under the smallest file size limit (1 KiB).
for point in fsync rename; do
  interrupted "recognize --dump-28x28" seen.png $point \
    "${recognize[@]}" --dump-28x28 seen.png "$strokes"
done

# Uninterrupted, each writer replaces the old file with a whole new one.
"${recognize[@]}" --format json --output results.json "$strokes" > /dev/null
/usr/bin/python3 -c 'import json, sys; assert len(json.load(open(sys.argv[1]))) == 1' results.json \
  || fail "results.json was not replaced by a whole JSON file"
"${recognize[@]}" --dump-28x28 seen.png "$strokes" > /dev/null
[ "$(head -c 4 seen.png | tail -c 3)" = PNG ] || fail "seen.png was not replaced by a PNG"
"${eval_probs[@]}" > /dev/null
[ "$(wc -c < probs.bin)" -eq 4000 ] || fail "probs.bin is $(wc -c < probs.bin) bytes, want 100 x 10 x 4"
"${train[@]}" --out model.safetensors > /dev/null
"$cli" eval --weights model.safetensors --limit 10 > /dev/null || fail "model.safetensors does not load"
echo "ok: uninterrupted writes replace each file with a whole one"

# A training run killed while it trains leaves the old weights.
cp "$weights" model.safetensors
"$cli" train --arch conv8k3,relu,pool,dense10 --epochs 50 --threads 1 --out model.safetensors \
  > /dev/null 2>&1 &
pid=$!
sleep 2
kill -KILL $pid
wait $pid 2> /dev/null || true
cmp -s "$weights" model.safetensors || fail "training killed part-way changed the old weights"
echo "ok: training killed part-way left the old weights"
[ -z "$(ls -A | grep -v -x -e results.json -e seen.png -e probs.bin -e model.safetensors)" ] \
  || fail "files left behind: $(ls -A)"
echo "atomic-write: all checks passed"
