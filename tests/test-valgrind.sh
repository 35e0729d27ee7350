#!/usr/bin/env bash
# `digits-cli recognize` over a folder of real and broken files is clean
# under valgrind's memcheck: no invalid read or write, no use of an
# uninitialised value, no byte definitely lost.
#
#   test-valgrind.sh DIGITS_CLI WEIGHTS MAKE_REDRAWN STROKE_FILE
#
# The folder: PNG and JPEG digits (make-redrawn, from MNIST's test set), a
# stroke file, and what people have lying around: a text file named .png, a
# truncated PNG, an empty file, a 100000 x 100000 PNG header (a decompression
# bomb), a directory named .jpg.  OpenMP and OpenBLAS keep thread stacks and
# buffers to the end ("possibly lost", "still reachable"): only definite
# leaks and errors count.
#
# valgrind's own exit status for errors is 99, not 1: digits-cli exits with
# 1 when some input could not be read, as here, by design.
set -euo pipefail
cli=$(realpath "$1")
weights=$(realpath "$2")
make_redrawn=$(realpath "$3")
strokes=$(realpath "$4")
: "${DIGITS_MNIST_DIR:?DIGITS_MNIST_DIR must point at MNIST (tools/test sets it)}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
command -v valgrind > /dev/null || fail "valgrind is missing (tools/install-deps installs it)"

set_dir=$tmp/set
"$make_redrawn" "$DIGITS_MNIST_DIR" "$tmp/redrawn" 4 > /dev/null
mkdir "$set_dir"
cp "$tmp"/redrawn/*.png "$tmp"/redrawn/*.jpg "$set_dir"/
cp "$strokes" "$set_dir"/drawn.json
first_png=$(ls "$set_dir"/*.png | head -n1)
head -c "$(($(wc -c < "$first_png") / 2))" "$first_png" > "$set_dir/truncated.png"
echo "not an image, whatever its name says" > "$set_dir/notes.png"
: > "$set_dir/empty.png"
mkdir "$set_dir/folder.jpg"
/usr/bin/python3 - "$set_dir/bomb.png" <<'PY'
import struct, sys, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)
idat = zlib.compress(b"\0" * 100001 * 4, 9)
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
                              + chunk(b"IEND", b""))
PY

set +e
OPENBLAS_NUM_THREADS=1 valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
  --errors-for-leak-kinds=definite --show-leak-kinds=definite --track-origins=yes \
  --log-file="$tmp/valgrind.log" \
  "$cli" recognize --threads 1 --weights "$weights" "$set_dir"/* > "$tmp/out.txt" 2> "$tmp/err.txt"
status=$?
set -e
cat "$tmp/valgrind.log" >&2

[ $status -ne 99 ] || fail "valgrind found errors or definite leaks (log above)"
[ $status -eq 1 ] || fail "digits-cli exited with $status, want 1 (some inputs are broken): $(cat "$tmp/err.txt")"
grep -q "ERROR SUMMARY: 0 errors" "$tmp/valgrind.log" || fail "valgrind reports errors"
if grep -q "definitely lost:" "$tmp/valgrind.log"; then
  grep -q "definitely lost: 0 bytes" "$tmp/valgrind.log" || fail "definite leaks"
fi

# Every good file was read, every broken one reported, and none crashed it.
n_good=$(ls "$tmp"/redrawn/*.png "$tmp"/redrawn/*.jpg | wc -l)
[ "$(wc -l < "$tmp/out.txt")" -eq $((n_good + 1)) ] \
  || fail "want $((n_good + 1)) readings, got: $(cat "$tmp/out.txt")"
for broken in truncated.png notes.png empty.png folder.jpg bomb.png; do
  grep -q "$broken" "$tmp/err.txt" || fail "$broken was not reported: $(cat "$tmp/err.txt")"
done
grep -q "bomb.png: 100000 x 100000 pixels is over the limit" "$tmp/err.txt" \
  || fail "the bomb was not refused by its size: $(cat "$tmp/err.txt")"
echo "valgrind: recognize over $(ls "$set_dir" | wc -l) files, 0 errors, 0 bytes definitely lost"
