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

# Training on from those weights with extra images, some labelled 255
# ("not one digit"): the base's recipe stays in the metadata.
/usr/bin/python3 - "$tmp" <<'PY'
import struct, sys
tmp = sys.argv[1]
n = 64
with open(f"{tmp}/extra-images-idx3-ubyte", "wb") as f:
    f.write(struct.pack(">IIII", 0x803, n, 28, 28) + bytes((i * 7 + p) % 256 for i in range(n) for p in range(784)))
with open(f"{tmp}/extra-labels-idx1-ubyte", "wb") as f:
    f.write(struct.pack(">II", 0x801, n) + bytes(255 if i % 2 else i % 10 for i in range(n)))
with open(f"{tmp}/bad-images-idx3-ubyte", "wb") as f:
    f.write(struct.pack(">IIII", 0x803, 1, 28, 28) + bytes(784))
with open(f"{tmp}/bad-labels-idx1-ubyte", "wb") as f:
    f.write(struct.pack(">II", 0x801, 1) + bytes([12]))
PY
"$cli" train --init "$tmp/smoke.safetensors" --extra "$tmp/extra" --extra "$tmp/extra" \
  --out "$tmp/more.safetensors" --epochs 1 --max-train 500 --val 200 --no-augment --threads 2 > "$tmp/more.log"
grep -q "and 128 more images" "$tmp/more.log" || fail "extra images (given twice) not used: $(cat "$tmp/more.log")"
grep -q '"base_command": *"digits-cli train --out' "$tmp/more.safetensors" || fail "no base_command in metadata"
set +e
"$cli" train --init "$tmp/smoke.safetensors" --extra "$tmp/bad" --out "$tmp/bad.safetensors" --epochs 1 \
  > /dev/null 2> "$tmp/err"
status=$?
"$cli" train --init "$tmp/smoke.safetensors" --arch conv8k3,dense10 --out "$tmp/bad.safetensors" \
  > /dev/null 2> "$tmp/err2"
status2=$?
"$cli" train --out "$tmp/bad.safetensors" --no-augment --blur 0.5 > /dev/null 2> "$tmp/err3"
status3=$?
set -e
[ $status -eq 1 ] && grep -q "label 12 of item 0" "$tmp/err" || fail "bad extra labels: $status $(cat "$tmp/err")"
[ $status2 -eq 2 ] && grep -q -- "--init" "$tmp/err2" || fail "--init with --arch: $status2 $(cat "$tmp/err2")"
[ $status3 -eq 2 ] && grep -q -- "--blur" "$tmp/err3" || fail "--blur with --no-augment: $status3 $(cat "$tmp/err3")"

# average: each weight the mean of the models' (smoke and more share an
# architecture), their recipes in the metadata, and the weights they were
# trained further from when all share them; models of two
# architectures, or one model alone, are refused.
"$cli" average --out "$tmp/mean.safetensors" "$tmp/smoke.safetensors" "$tmp/more.safetensors" > /dev/null
"$cli" average --out "$tmp/mean2.safetensors" "$tmp/more.safetensors" "$tmp/more.safetensors" > /dev/null
/usr/bin/python3 - "$tmp" <<'PY' || fail "average: weights are not the mean"
import array, json, struct, sys
def load(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    tensors = {}
    for name, t in header.items():
        if name != "__metadata__":
            a = array.array("f")
            a.frombytes(data[8 + n + t["data_offsets"][0]:8 + n + t["data_offsets"][1]])
            tensors[name] = a
    return header["__metadata__"], tensors
tmp = sys.argv[1]
_, a = load(f"{tmp}/smoke.safetensors")
meta_more, b = load(f"{tmp}/more.safetensors")
meta, mean = load(f"{tmp}/mean.safetensors")
assert set(mean) == set(a) and len(mean) > 4, sorted(mean)
assert any(x != y for name in a for x, y in zip(a[name], b[name]))
for name in mean:
    for x, y, m in zip(a[name], b[name], mean[name]):
        assert abs(m - (x + y) / 2) <= 1e-6 * max(1.0, abs(m)), (name, x, y, m)
assert meta["command"].startswith("digits-cli average"), meta
assert meta["averaged_commands"].count("digits-cli train") == 2, meta
assert "val_accuracy" not in meta, meta
# smoke was trained from scratch, more from smoke: no weights both came from
assert "base_command" not in meta and "base_weights" not in meta, meta
meta2, _ = load(f"{tmp}/mean2.safetensors")
assert meta2["base_command"].startswith("digits-cli train --out"), meta2
assert meta2["base_weights"] == meta_more["base_weights"], (meta2, meta_more)
PY
set +e
"$cli" average --out "$tmp/bad.safetensors" "$tmp/smoke.safetensors" > /dev/null 2> "$tmp/err"
status=$?
"$cli" train --out "$tmp/other.safetensors" --epochs 1 --max-train 200 --val 100 --no-augment \
  --arch conv4k3,relu,pool,dense10 --threads 2 > /dev/null
"$cli" average --out "$tmp/bad.safetensors" "$tmp/smoke.safetensors" "$tmp/other.safetensors" \
  > /dev/null 2> "$tmp/err2"
status2=$?
set -e
[ $status -eq 2 ] || fail "average of one model: $status $(cat "$tmp/err")"
[ $status2 -eq 1 ] && grep -q "not conv8k3" "$tmp/err2" || fail "average of two architectures: $status2 $(cat "$tmp/err2")"
[ ! -e "$tmp/bad.safetensors" ] || fail "average wrote weights it refused"

# eval reads them back and reports accuracy, the matrix and per-class scores.
"$cli" eval --weights "$tmp/smoke.safetensors" --limit 2000 > "$tmp/eval.log"
acc=$(sed -n 's/^accuracy: \([0-9.]*\)%.*/\1/p' "$tmp/eval.log")
[ -n "$acc" ] || fail "eval printed no accuracy"
awk -v a="$acc" 'BEGIN { exit !(a > 80) }' || fail "smoke model accuracy $acc% <= 80%"
grep -q 'confusion matrix' "$tmp/eval.log" || fail "no confusion matrix"
[ "$(grep -cE '^ +[0-9] +0\.[0-9]{4} +[01]\.[0-9]{4} +[01]\.[0-9]{4} +[0-9]+$' "$tmp/eval.log")" -eq 10 ] \
  || fail "per-class table lacks ten rows: $(cat "$tmp/eval.log")"
# --validation: the 5,000 training images every model held out, in the
# order make-strings --from-train takes them.
"$cli" eval --weights "$tmp/smoke.safetensors" --validation > "$tmp/val.log"
grep -q '^accuracy: [0-9.]*% ([0-9]* of 5000 MNIST validation images' "$tmp/val.log" \
  || fail "eval --validation: $(head -3 "$tmp/val.log")"

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
# recognize: a good image and a stroke file are read; bad inputs are each
# reported on stderr with their path, the rest still read, exit status 1.
/usr/bin/python3 - "$tmp" <<'PY'
import struct, sys, zlib
tmp = sys.argv[1]
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
def png(path, width, height, rows):
    raw = b"".join(b"\0" + bytes(r) for r in rows)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
# a thick dark "1" on white paper, 60 x 80
png(f"{tmp}/one.png", 60, 80, [[30 if 25 <= x < 35 and 10 <= y < 70 else 240 for x in range(60)] for y in range(80)])
# a decompression bomb: 467 bytes that claim 100000 x 100000 pixels
ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)
with open(f"{tmp}/bomb.png", "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(bytes(100001 * 4))) + chunk(b"IEND", b""))
PY
head -c 100 "$tmp/one.png" > "$tmp/truncated.png"
: > "$tmp/empty.png"
printf 'hello\n' > "$tmp/text.png"
printf '{"width": 100, "height": 100, "strokes": [[[50, 10], [50, 90]]]}' > "$tmp/stroke.json"
set +e
"$cli" recognize --weights "$tmp/smoke.safetensors" "$tmp/one.png" "$tmp/missing.png" "$tmp/text.png" \
  "$tmp/truncated.png" "$tmp/empty.png" "$tmp/bomb.png" "$tmp/stroke.json" > "$tmp/rec.out" 2> "$tmp/rec.err"
status=$?
set -e
[ $status -eq 1 ] || fail "recognize with bad inputs: exit status $status, want 1"
[ "$(wc -l < "$tmp/rec.out")" -eq 2 ] || fail "recognize should print the two good inputs: $(cat "$tmp/rec.out")"
grep -q "one.png	1	" "$tmp/rec.out" || fail "a thick 1 was not read as 1: $(cat "$tmp/rec.out")"
grep -q "stroke.json	1	" "$tmp/rec.out" || fail "a stroke 1 was not read as 1: $(cat "$tmp/rec.out")"
for bad in missing text truncated empty bomb; do
  grep -q "$bad.png" "$tmp/rec.err" || fail "no error naming $bad.png: $(cat "$tmp/rec.err")"
done
grep -q "bomb.png: 100000 x 100000 pixels is over the limit" "$tmp/rec.err" || fail "the bomb was not refused by its header"

# A bad pair or scan model: a clear error naming the file, exit status 1.
for flag in --pairs-weights --scan-weights; do
  set +e
  "$cli" recognize "$flag" "$tmp/truncated.safetensors" "$tmp/one.png" > /dev/null 2> "$tmp/err"
  status=$?
  set -e
  [ $status -eq 1 ] && grep -q "truncated.safetensors" "$tmp/err" || fail "bad $flag: $status $(cat "$tmp/err")"
done

echo "cli: all checks passed"
