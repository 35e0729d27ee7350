#!/usr/bin/env bash
# Issue 5's proof: MNIST test digits composed into numbers of 2 to 10 digits
# (make-strings: separated, close, touching pairs, and with a currency sign,
# a comma and a dash), on white paper or a ruled field with a box border,
# with noise, blur, a turn of up to 5 degrees and JPEG, read back through
# `digits-cli recognize`.  Prints the share of strings read exactly right
# per kind and per presentation, against issue 5's targets (separated >= 97%,
# touching >= 90%, marks: just the digits >= 97%); all three are met
# (97.5, 90.8 and 97.1%, 2026-12-04; marks since then, by one number).
# Pages are read with the strings model, trained to be unsure of what is
# not one digit (a fused pair, a piece, a sign), so that its top
# probability judges a cut; digits read whole get the digit model's second
# opinion, digits that overlap are read by the pair model, a comma close
# beside a digit is never merged into it, and pieces of a digit one above
# another are read as one.
#
# 1,000 strings of each kind, not fewer: which digits a number is made of
# moves its kind's share by several points.  The first 300 touching numbers
# of this set read 84.7%, the 300 that make-strings makes when asked for
# 300 read 93.7%, and all 1,000 88.5% (early on 2026-11-28).  With the
# averaged strings model (late on 2026-11-28) separated / close / touching /
# marks read 97.3 / 95.9 / 90.3 / 96.2%, against 96.7 / 94.8 / 89.2 / 96.6%
# on 1,000 strings each from the training set's validation split.
# The test fails below floors a margin for noise under those: a check
# against a change that costs many numbers, not one or two.  With fewer strings (STRINGS_PER_KIND, as the
# sanitizer run of tools/test sets it) each floor is lowered by two
# standard errors more, as a share of so few strings is that much noisier.
# The last column reads each number's digits as MNIST's own 28x28 images
# (make-strings' "sources") with the mean of the digit and strings models
# (`digits-cli eval --dump-probs`): the share of numbers right then is
# what reading a digit right would give, without its presentation; the
# rest is what the network misreads anyway (and a few mislabelled digits).
#   test-strings.sh MAKE_STRINGS DIGITS_CLI [COUNT_PER_KIND]
# (default 1,000; STRINGS_PER_KIND in the environment overrides it, so that
# tools/test can change the count meson passes.)
# With FROM_TRAIN=1 the strings are made from the training set's validation
# split instead (make-strings --from-train): what to tune on, keeping the
# test set for the report.  With CLEAN=1 they are drawn level and sharp on
# white paper, without noise, blur, JPEG or a ruled box (make-strings
# --clean).  VERBOSE=1 lists the strings read wrong; KEEP=DIR keeps the
# images and results there to look at.
set -euo pipefail
make=$(realpath "$1")
cli=$(realpath "$2")
count=${STRINGS_PER_KIND:-${3:-1000}}
: "${DIGITS_MNIST_DIR:?DIGITS_MNIST_DIR must point at MNIST (tools/test sets it)}"
if [[ -n "${KEEP:-}" ]]; then
  tmp=$KEEP
  rm -rf "$tmp/set" "$tmp/results.csv"
  mkdir -p "$tmp"
else
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
fi

"$make" ${FROM_TRAIN:+--from-train} ${CLEAN:+--clean} "$DIGITS_MNIST_DIR" "$tmp/set" "$count"
start=$(date +%s.%N)
(cd "$tmp/set" && shopt -s nullglob && "$cli" recognize --format csv --output "$tmp/results.csv" ./*.png ./*.jpg)
end=$(date +%s.%N)

# Both models' probabilities for every image of the set the digits came
# from: eval finds the digit model as recognize does; the strings model is
# named, as recognize finds it ($DIGITS_STRINGS_WEIGHTS, then data/weights).
strings=${DIGITS_STRINGS_WEIGHTS:-$(cd "$(dirname "$0")/.." && pwd)/data/weights/mnist-strings.safetensors}
"$cli" eval ${FROM_TRAIN:+--validation} --dump-probs "$tmp/digit.f32" >/dev/null
"$cli" eval ${FROM_TRAIN:+--validation} --weights "$strings" --dump-probs "$tmp/strings.f32" >/dev/null

/usr/bin/python3 - "$tmp/set/labels.csv" "$tmp/results.csv" "$start" "$end" "$tmp/digit.f32" "$tmp/strings.f32" <<'PY'
import array, csv, os, sys
labels = list(csv.DictReader(open(sys.argv[1])))
probs = []
for path in sys.argv[5:7]:
    a = array.array("f")
    a.frombytes(open(path, "rb").read())
    if sys.byteorder != "little":
        a.byteswap()
    probs.append(a)

def raw_right(row):
    """Whether the mean of both models reads every digit of @row from its own image."""
    for index, want in zip(row["sources"].split(), row["label"]):
        p = [(probs[0][int(index) * 10 + c] + probs[1][int(index) * 10 + c]) / 2 for c in range(10)]
        if p.index(max(p)) != int(want):
            return False
    return True

results = {os.path.basename(row["path"]): row["digits"] for row in csv.DictReader(open(sys.argv[2]))}
seconds = float(sys.argv[4]) - float(sys.argv[3])
targets = {"separated": 97.0, "touching": 90.0, "marks": 97.0}   # issue 5
# Reached so far, less a margin, on 1,000 strings of each kind.
floors = {"separated": 95.0, "close": 93.5, "touching": 88.0, "marks": 94.5}
FLOOR_COUNT = 1000

def floor_for(kind, total):
    """The floor for @total strings: lower than the one for FLOOR_COUNT by
    twice what the standard error of a share grows by with fewer strings."""
    p = floors[kind] / 100
    spread = (p * (1 - p)) ** 0.5 * (total ** -0.5 - FLOOR_COUNT ** -0.5)
    return floors[kind] - 2 * 100 * max(spread, 0.0)

def tally(rows):
    right = sum(results.get(r["file"]) == r["label"] for r in rows)
    same_length = [r for r in rows if len(results.get(r["file"], "")) == len(r["label"])]
    digits = sum(len(r["label"]) for r in same_length)
    digits_right = sum(a == b for r in same_length for a, b in zip(results[r["file"]], r["label"]))
    return right, len(rows), len(same_length), digits_right, digits

kinds = ["separated", "close", "touching", "marks"]
print(f"{'kind':26s} {'strings right':>14s}  {'right length':>12s}  {'digits right (where the length is)':>s}"
      f"  {'from raw 28x28':>s}")
failed = []
for kind in kinds:
    rows = [r for r in labels if r["kind"] == kind]
    right, total, same, drt, dt = tally(rows)
    acc = 100 * right / total
    raw = 100 * sum(map(raw_right, rows)) / total
    print(f"{kind:26s} {acc:7.2f}% of {total:<4d}  {100 * same / total:10.2f}%  {100 * drt / max(dt, 1):8.2f}%"
          f"  {raw:33.2f}%")
    # Read raw, nearly every number is right: lower, the sources do not
    # name the digits drawn (or eval read another set).
    if raw < 90.0:
        failed.append(f"{kind}: only {raw:.2f}% right from their raw images (sources wrong?)")
    for feature in ("plain", "ruled", "blur", "jpeg"):
        sub = [r for r in rows if feature in r["presentation"].split()]
        if sub:
            r2, t2, _, _, _ = tally(sub)
            print(f"  {feature:24s} {100 * r2 / t2:7.2f}% of {t2}")
    if kind in targets:
        print(f"  issue 5 target {targets[kind]:.0f}%: {'met' if acc >= targets[kind] else 'NOT met'}")
    floor = floor_for(kind, total) if kind in floors else 0.0
    if acc < floor:
        failed.append(f"{kind} {acc:.2f}% < {floor:.1f}% (a regression)")
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
