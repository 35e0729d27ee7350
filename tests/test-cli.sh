#!/usr/bin/env bash
# digits-cli as a user runs it: a short training run, eval of its output,
# bench, and clear errors (exit status 1, the path and reason on stderr) for
# files that are not weights.
set -euo pipefail
cli=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# Training smoke test: four epochs on 4,000 images writes a loadable model.
"$cli" train --out "$tmp/smoke.safetensors" --epochs 4 --max-train 4000 --val 500 --no-augment \
  --arch conv8k3,bn,relu,pool,dense32,relu,dense10 --threads 2 > "$tmp/train.log"
grep -q "^epoch  4/4  loss" "$tmp/train.log" || fail "no progress line: $(cat "$tmp/train.log")"
grep -q 'img/s' "$tmp/train.log" || fail "no throughput in the progress line"
[ -s "$tmp/smoke.safetensors" ] || fail "train wrote no weights"

# eval reads them back and reports accuracy, the matrix and per-class scores.
"$cli" eval --weights "$tmp/smoke.safetensors" --limit 2000 > "$tmp/eval.log"
acc=$(sed -n 's/^accuracy: \([0-9.]*\)%.*/\1/p' "$tmp/eval.log")
[ -n "$acc" ] || fail "eval printed no accuracy"
awk -v a="$acc" 'BEGIN { exit !(a > 80) }' || fail "smoke model accuracy $acc% <= 80%"
grep -q 'confusion matrix' "$tmp/eval.log" || fail "no confusion matrix"
[ "$(grep -cE '^ +[0-9] +0\.[0-9]{4} +[01]\.[0-9]{4} +[01]\.[0-9]{4} +[0-9]+$' "$tmp/eval.log")" -eq 10 ] \
  || fail "per-class table lacks ten rows: $(cat "$tmp/eval.log")"

# The provenance is in the file.
grep -q '"command":"digits-cli train --out' "$tmp/smoke.safetensors" \
  || grep -q '"command": *"digits-cli train' "$tmp/smoke.safetensors" || fail "no command in metadata"

# bench answers in JSON.
"$cli" bench --weights "$tmp/smoke.safetensors" --seconds 0.2 --json > "$tmp/bench.json"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["batch1_latency_us"] > 0 and d["train_images_per_s"] > 0' "$tmp/bench.json" \
  || fail "bench JSON: $(cat "$tmp/bench.json")"

# Bad weights: a clear error naming the file, exit status 1, no crash.
printf 'not a weights file at all' > "$tmp/text.safetensors"
head -c 3000 "$tmp/smoke.safetensors" > "$tmp/truncated.safetensors"
: > "$tmp/empty.safetensors"
for bad in text truncated empty missing; do
  set +e
  "$cli" eval --weights "$tmp/$bad.safetensors" --limit 10 > /dev/null 2> "$tmp/err"
  status=$?
  set -e
  [ $status -eq 1 ] || fail "$bad weights: exit status $status, want 1"
  grep -q "$bad.safetensors" "$tmp/err" || fail "$bad weights: message does not name the file: $(cat "$tmp/err")"
done
echo "cli: all checks passed"
