#!/usr/bin/python3
"""Writes the stroke files the tests read: every digit in several styles
(a 7 with and without a bar, a 1 with and without a flag, an open and a
closed 4, ...), each drawn at three sizes and positions on three canvas
sizes, plus drawings with nothing to read.  Run it from anywhere; the JSON
files land beside it.  Shapes are in a unit box, x to the right, y down."""
import json, math, os

HERE = os.path.dirname(os.path.abspath(__file__))

def line(*points, n=12):
    out = []
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        for i in range(n):
            t = i / n
            out.append((x0 + (x1 - x0) * t, y0 + (y1 - y0) * t))
    out.append(points[-1])
    return out

def arc(cx, cy, rx, ry, a0, a1, n=40):
    """Degrees; with y down, increasing angles turn clockwise on screen."""
    return [(cx + rx * math.cos(math.radians(a0 + (a1 - a0) * i / n)),
             cy + ry * math.sin(math.radians(a0 + (a1 - a0) * i / n))) for i in range(n + 1)]

def eight(n=80):
    return [(0.5 + 0.28 * math.sin(2 * s), 0.5 - 0.45 * math.cos(s))
            for s in (2 * math.pi * i / n for i in range(n + 1))]

STYLES = {
    "0-oval": [arc(0.5, 0.5, 0.3, 0.45, -90, 275)],
    "0-round": [arc(0.5, 0.5, 0.38, 0.45, -100, 265)],
    "1-plain": [line((0.5, 0.05), (0.5, 0.95))],
    "1-flag": [line((0.3, 0.25), (0.52, 0.05), (0.52, 0.95))],
    "1-flag-base": [line((0.3, 0.25), (0.52, 0.05), (0.52, 0.95)), line((0.3, 0.95), (0.74, 0.95))],
    "2-curved": [arc(0.5, 0.3, 0.28, 0.25, 200, 390) + line((0.76, 0.38), (0.2, 0.95), (0.82, 0.95))],
    "2-loop": [arc(0.5, 0.3, 0.28, 0.25, 200, 390) + line((0.76, 0.38), (0.25, 0.9)) + arc(0.3, 0.88, 0.08, 0.07, 240, 0) + line((0.38, 0.88), (0.85, 0.93))],
    "3-round": [arc(0.5, 0.27, 0.25, 0.22, 200, 450) + arc(0.5, 0.71, 0.28, 0.24, 270, 520)],
    "3-flat-top": [line((0.2, 0.05), (0.78, 0.05), (0.45, 0.42)) + arc(0.5, 0.7, 0.28, 0.26, 260, 520)],
    "4-closed": [line((0.66, 0.95), (0.66, 0.05), (0.12, 0.66), (0.88, 0.66))],
    "4-open": [line((0.22, 0.05), (0.17, 0.6), (0.85, 0.6)), line((0.68, 0.08), (0.68, 0.98))],
    "5-two-strokes": [line((0.3, 0.05), (0.27, 0.45)) + arc(0.5, 0.68, 0.28, 0.27, 235, 500), line((0.3, 0.05), (0.78, 0.05))],
    "5-one-stroke": [line((0.78, 0.05), (0.3, 0.05), (0.27, 0.45)) + arc(0.5, 0.68, 0.28, 0.27, 235, 500)],
    "6-loop": [line((0.7, 0.05), (0.3, 0.5)) + arc(0.5, 0.72, 0.25, 0.23, 200, -160)],
    "6-curved": [arc(0.62, 0.55, 0.36, 0.5, 250, 180) + arc(0.5, 0.72, 0.24, 0.23, 180, -180)],
    "7-plain": [line((0.15, 0.05), (0.85, 0.05), (0.4, 0.98))],
    "7-bar": [line((0.15, 0.05), (0.85, 0.05), (0.4, 0.98)), line((0.38, 0.5), (0.78, 0.5))],
    "8-one-stroke": [eight()],
    "8-two-loops": [arc(0.5, 0.26, 0.22, 0.21, 90, 450), arc(0.5, 0.72, 0.27, 0.25, 270, 630)],
    "9-loop": [arc(0.5, 0.3, 0.25, 0.24, 0, -360) + line((0.75, 0.3), (0.72, 0.98))],
    "9-curved": [arc(0.5, 0.3, 0.25, 0.24, 10, -350) + arc(0.2, 0.3, 0.55, 0.68, 0, 80, n=20)],
}

# (canvas width, canvas height, digit height in pixels, left, top, slant)
PLACEMENTS = {
    "small": (600, 400, 40, 420, 60, 0.0),
    "medium": (280, 280, 200, 60, 40, 0.15),
    "large": (1200, 900, 780, 250, 60, -0.1),
}

def place(strokes, width, height, size, left, top, slant, pressure=None):
    out = []
    for stroke in strokes:
        points = []
        for x, y in stroke:
            x = x + slant * (0.5 - y)            # lean the digit a little
            p = [round(left + x * size * 0.75, 2), round(top + y * size, 2)]
            if pressure is not None:
                p.append(pressure)
            points.append(p)
        out.append(points)
    return {"width": width, "height": height, "strokes": out}

def write(name, drawing):
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(drawing, f, separators=(",", ":"))
        f.write("\n")

for style, strokes in STYLES.items():
    for where, (w, h, size, left, top, slant) in PLACEMENTS.items():
        write(f"{style}-{where}", place(strokes, w, h, size, left, top, slant))
# A pen with pressure.
write("7-bar-pen", place(STYLES["7-bar"], 800, 600, 300, 200, 100, 0.0, pressure=0.6))
# Nothing to read.
write("none-empty", {"width": 400, "height": 400, "strokes": []})
write("none-dot", {"width": 400, "height": 400, "strokes": [[[200, 200]]]})
write("none-scribble", {"width": 400, "height": 400,
                        "strokes": [[[200, 200], [203, 201], [201, 204], [204, 203]]]})
