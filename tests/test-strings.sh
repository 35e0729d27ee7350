#!/usr/bin/env bash
# Issue 5's proof: MNIST test digits composed into numbers of 2 to 10 digits
# (make-strings: separated, close, touching pairs, and with a currency sign,
# a comma and a dash), on white paper or a ruled field with a box border,
# with noise, blur, a turn of up to 5 degrees and JPEG, read back through
# `digits-cli recognize`.  Prints the share of strings read exactly right
# per kind and per presentation, against issue 5's targets (separated >= 97%,
# touching >= 90%, marks: just the digits >= 97%).  Touching's and marks'
# are met, separated's not yet.  Pages are read with the strings model,
# trained to be unsure of what is not one digit (a fused pair, a piece, a
# sign), so that its top probability judges a cut; digits read whole get the
# digit model's second opinion, digits that overlap are read by the pair
# model, and a comma close beside a digit is never merged into it: this
# code reads 95.7 / 93.3 / 93.7 / 97.0% (separated / close / touching /
# marks, 300 test strings each), against 95.7 / 93.3 / 93.7 / 96.3% before
# the comma rule, 96.0 / 94.0 / 75.3 / 96.3% before the pair model and
# 95.0 / 92.0 / 52.0 / 90.3% with the digit model alone; 97.3 / 96.7 / 86.7 /
# 97.3% on strings from the training set's validation split.  The test
# fails below floors a margin for noise under those, and below touching's
# target, which is met: a regression check while issue 5 is open.  Raise
# the floors as segmentation improves; they become the targets when it is
# done.
#   test-strings.sh MAKE_STRINGS DIGITS_CLI [COUNT_PER_KIND]
# With FROM_TRAIN=1 the strings are made from the training set's validation
# split instead (make-strings --from-train): what to tune on, keeping the
# test set for the report.  VERBOSE=1 lists the strings read wrong; KEEP=DIR
# keeps the images and results there to look at.
set -euo pipefail
make=$(realpath "$1")
cli=$(realpath "$2")
count=${3:-300}
: "${DIGITS_MNIST_DIR:?DIGITS_MNIST_DIR must point at MNIST (tools/test sets it)}"
if [[ -n "${KEEP:-}" ]]; then
  tmp=$KEEP
  rm -rf "$tmp/set" "$tmp/results.csv"
  mkdir -p "$tmp"
else
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
fi

"$make" ${FROM_TRAIN:+--from-train} "$DIGITS_MNIST_DIR" "$tmp/set" "$count"
start=$(date +%s.%N)
(cd "$tmp/set" && "$cli" recognize --format csv --output "$tmp/results.csv" ./*.png ./*.jpg)
end=$(date +%s.%N)

/usr/bin/python3 - "$tmp/set/labels.csv" "$tmp/results.csv" "$start" "$end" <<'PY'
import csv, os, sys
labels = list(csv.DictReader(open(sys.argv[1])))
results = {os.path.basename(row["path"]): row["digits"] for row in csv.DictReader(open(sys.argv[2]))}
seconds = float(sys.argv[4]) - float(sys.argv[3])
targets = {"separated": 97.0, "touching": 90.0, "marks": 97.0}   # issue 5
floors = {"separated": 93.0, "close": 90.0, "touching": 90.0, "marks": 95.0}  # reached so far

def tally(rows):
    right = sum(results.get(r["file"]) == r["label"] for r in rows)
    same_length = [r for r in rows if len(results.get(r["file"], "")) == len(r["label"])]
    digits = sum(len(r["label"]) for r in same_length)
    digits_right = sum(a == b for r in same_length for a, b in zip(results[r["file"]], r["label"]))
    return right, len(rows), len(same_length), digits_right, digits

kinds = ["separated", "close", "touching", "marks"]
print(f"{'kind':26s} {'strings right':>14s}  {'right length':>12s}  {'digits right (where the length is)':>s}")
failed = []
for kind in kinds:
    rows = [r for r in labels if r["kind"] == kind]
    right, total, same, drt, dt = tally(rows)
    acc = 100 * right / total
    print(f"{kind:26s} {acc:7.2f}% of {total:<4d}  {100 * same / total:10.2f}%  {100 * drt / max(dt, 1):8.2f}%")
    for feature in ("plain", "ruled", "blur", "jpeg"):
        sub = [r for r in rows if feature in r["presentation"].split()]
        if sub:
            r2, t2, _, _, _ = tally(sub)
            print(f"  {feature:24s} {100 * r2 / t2:7.2f}% of {t2}")
    if kind in targets:
        print(f"  issue 5 target {targets[kind]:.0f}%: {'met' if acc >= targets[kind] else 'NOT met'}")
    if kind in floors and acc < floors[kind]:
        failed.append(f"{kind} {acc:.2f}% < {floors[kind]:.0f}% (a regression)")
missing = [r["file"] for r in labels if r["file"] not in results]
print(f"{len(labels)} strings read in {seconds:.1f} s")
for r in labels:
    got = results.get(r["file"])
    if got != r["label"] and os.environ.get("VERBOSE"):
        print(f"  {r['file']}: want {r['label']}, read {got} ({r['presentation']})")
if missing:
    sys.exit(f"FAIL: {len(missing)} images were not read: {missing[:5]}")
if failed:
    sys.exit("FAIL: " + "; ".join(failed))
PY
