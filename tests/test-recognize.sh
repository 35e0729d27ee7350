#!/usr/bin/env bash
# `digits-cli recognize` on many multi-digit images at once: the same
# results in input order whatever --jobs, one CSV row per input, JSON with
# each digit's box, probabilities and top three, bad files reported and
# skipped with exit status 1, and --output written whole.
#   test-recognize.sh MAKE_STRINGS DIGITS_CLI
set -euo pipefail
make=$(realpath "$1")
cli=$(realpath "$2")
: "${DIGITS_MNIST_DIR:?DIGITS_MNIST_DIR must point at MNIST (tools/test sets it)}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$make" "$DIGITS_MNIST_DIR" "$tmp/set" 5 5000
cd "$tmp/set"
inputs=(separated-0000*.* marks-0000*.* touching-0000*.*)
printf 'not an image' > bad.png

# Text: PATH<TAB>DIGITS<TAB>CONFIDENCE[<TAB>unsure: N,...], in input order,
# the same with one job or four.
"$cli" recognize --jobs 1 "${inputs[@]}" > one.txt
"$cli" recognize --jobs 4 "${inputs[@]}" > four.txt
cmp -s one.txt four.txt || fail "--jobs 4 differs from --jobs 1: $(diff one.txt four.txt)"
[ "$(wc -l < one.txt)" -eq "${#inputs[@]}" ] || fail "one line per input: $(cat one.txt)"
paste <(printf '%s\n' "${inputs[@]}") <(cut -f1 one.txt) | awk -F '\t' '$1 != $2 { exit 1 }' \
  || fail "results not in input order: $(cut -f1 one.txt)"
grep -vqP '^[^\t]+\t[0-9 ]+\t[01]\.[0-9]{3}(\tunsure: [0-9]+(,[0-9]+)*)?$' one.txt \
  && fail "malformed text line: $(grep -vP '^[^\t]+\t[0-9 ]+\t[01]\.[0-9]{3}(\tunsure: [0-9]+(,[0-9]+)*)?$' one.txt)"
# Most of these read right (the proof is test-strings.sh; this is the format).
right=$(awk -F '\t' 'NR == FNR { want[$1] = $3; next } want[$1] == $2 { n++ } END { print n + 0 }' \
  FS=, labels.csv FS='\t' one.txt)
[ "$right" -ge $(( ${#inputs[@]} * 2 / 3 )) ] || fail "only $right of ${#inputs[@]} strings read right"

# A bad file among them: reported by name, the rest still read, status 1.
set +e
"$cli" recognize --format csv --output results.csv "${inputs[0]}" bad.png "${inputs[1]}" 2> err.txt
status=$?
set -e
[ $status -eq 1 ] || fail "a bad input gave exit status $status, want 1"
grep -q 'bad.png' err.txt || fail "the bad input was not named: $(cat err.txt)"
[ "$(head -n1 results.csv)" = "path,digits,confidence,unsure" ] || fail "CSV header: $(head -n1 results.csv)"
[ "$(wc -l < results.csv)" -eq 3 ] || fail "CSV should hold a header and two rows: $(cat results.csv)"

# JSON: each digit's box, whether it was cut out of touching ink, ten
# probabilities summing to 1, three alternatives.
"$cli" recognize --format json "${inputs[0]}" "${inputs[5]}" touching-0000*.* > results.json
/usr/bin/python3 - results.json <<'PY' || fail "JSON: $(head -c 600 results.json)"
import json, sys
results = json.load(open(sys.argv[1]))
assert len(results) == 7
for r in results:
    digits = r["digits"].replace(" ", "")
    assert len(r["per_digit"]) == len(digits) > 0, r
    assert abs(r["confidence"] - min(d["confidence"] for d in r["per_digit"])) < 1e-6
    for d, c in zip(r["per_digit"], digits):
        assert d["digit"] == int(c)
        assert all(k in d["box"] for k in ("x", "y", "width", "height")) and d["box"]["width"] > 0
        assert len(d["probabilities"]) == 10 and abs(sum(d["probabilities"]) - 1) < 1e-3
        assert [a["digit"] for a in d["alternatives"]][0] == d["digit"] and len(d["alternatives"]) == 3
        assert isinstance(d["cut"], bool)
    xs = [d["box"]["x"] for d in r["per_digit"]]
    assert xs == sorted(xs), xs
# The marks string's sign, comma and dash are marks, not digits.
assert any(m["kind"] == "symbol" for m in results[1]["marks"]), results[1]["marks"]
# Separated digits are read whole; some touching ones are cut apart.
assert not any(d["cut"] for d in results[0]["per_digit"]), results[0]
assert any(d["cut"] for r in results[2:] for d in r["per_digit"])
PY
# GLib's debug messages (segmentation lists its candidates) go to stderr,
# never among the results.
G_MESSAGES_DEBUG=all "$cli" recognize --format json "${inputs[10]}" > debug.json 2> debug.txt
/usr/bin/python3 -c 'import json, sys; json.load(open(sys.argv[1]))' debug.json \
  || fail "debug messages broke the JSON: $(head -c 300 debug.json)"
grep -q 'candidate' debug.txt || fail "no debug messages on stderr with G_MESSAGES_DEBUG=all"

echo "recognize: all checks passed"
