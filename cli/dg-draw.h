/* dg-draw.h: pen strokes drawn into a grey page, for the benchmark's
 * synthetic cheque and the segmentation tests.
 *
 * Header-only: a few small functions, shared by digits-cli and tests/.
 */
#pragma once

#include <glib.h>
#include <math.h>

/* The ten digits as polylines in a box 0.7 wide and 1 tall (y down), the
 * way a person writes them.  Points are (x, y) pairs; a NAN pair lifts the
 * pen. */
static const double dg_draw_digit_points[10][48] = {
  /* 0 */ { 0.35, 0.0, 0.58, 0.08, 0.7, 0.3, 0.7, 0.65, 0.6, 0.9, 0.35, 1.0, 0.12, 0.9, 0.0, 0.65,
            0.0, 0.3, 0.12, 0.08, 0.35, 0.0, NAN },
  /* 1 */ { 0.3, 0.1, 0.42, 0.0, 0.42, 1.0, NAN },
  /* 2 */ { 0.05, 0.2, 0.2, 0.04, 0.4, 0.0, 0.6, 0.07, 0.66, 0.25, 0.55, 0.45, 0.0, 1.0, 0.7, 1.0,
            NAN },
  /* 3 */ { 0.05, 0.1, 0.3, 0.0, 0.58, 0.05, 0.64, 0.25, 0.5, 0.42, 0.28, 0.48, 0.55, 0.55, 0.68,
            0.75, 0.58, 0.95, 0.3, 1.0, 0.03, 0.9, NAN },
  /* 4 */ { 0.52, 1.0, 0.52, 0.0, 0.0, 0.68, 0.7, 0.68, NAN },
  /* 5 */ { 0.65, 0.0, 0.12, 0.0, 0.08, 0.45, 0.35, 0.38, 0.6, 0.45, 0.7, 0.7, 0.6, 0.92, 0.35, 1.0,
            0.05, 0.92, NAN },
  /* 6 */ { 0.6, 0.0, 0.28, 0.2, 0.05, 0.55, 0.08, 0.85, 0.3, 1.0, 0.55, 0.95, 0.68, 0.75, 0.58,
            0.55, 0.35, 0.5, 0.1, 0.62, NAN },
  /* 7 */ { 0.0, 0.0, 0.7, 0.0, 0.25, 1.0, NAN },
  /* 8 */ { 0.35, 0.48, 0.1, 0.35, 0.05, 0.15, 0.2, 0.02, 0.5, 0.02, 0.63, 0.15, 0.58, 0.35, 0.35,
            0.48, 0.1, 0.62, 0.02, 0.85, 0.2, 1.0, 0.5, 1.0, 0.68, 0.85, 0.6, 0.62, 0.35, 0.48, NAN },
  /* 9 */ { 0.65, 0.3, 0.45, 0.45, 0.15, 0.42, 0.03, 0.22, 0.2, 0.02, 0.5, 0.0, 0.66, 0.15, 0.65,
            0.3, 0.6, 1.0, NAN },
};

/* Darkens @grey (height, width, rows @stride bytes) towards @ink along a
 * pen stroke from (ax, ay) to (bx, by), @radius pixels, anti-aliased. */
static inline void
dg_draw_segment (guint8 *grey, int width, int height, int stride, double ax, double ay, double bx,
                 double by, double radius, int ink)
{
  int x0 = (int) floor (MIN (ax, bx) - radius - 1), x1 = (int) ceil (MAX (ax, bx) + radius + 1);
  int y0 = (int) floor (MIN (ay, by) - radius - 1), y1 = (int) ceil (MAX (ay, by) + radius + 1);
  double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
  for (int y = MAX (0, y0); y <= MIN (height - 1, y1); y++)
    for (int x = MAX (0, x0); x <= MIN (width - 1, x1); x++)
      {
        double px = x + 0.5, py = y + 0.5;
        double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0.0;
        t = CLAMP (t, 0.0, 1.0);
        double ex = px - (ax + t * dx), ey = py - (ay + t * dy);
        double cover = CLAMP (radius + 0.5 - sqrt (ex * ex + ey * ey), 0.0, 1.0);
        guint8 *p = &grey[(gsize) y * stride + x];
        double v = *p + (ink - *p) * cover;
        *p = (guint8) MIN ((double) *p, v);
      }
}

/* Draws the polyline through the first @n_points (x, y) pairs of @points
 * (fewer if one is NaN), each scaled by @w and @h and moved to (@x, @y),
 * leaning by @slant (x shift per pixel up from @h), pen @pen pixels wide. */
static inline void
dg_draw_polyline (guint8 *grey, int width, int height, int stride, const double *points,
                  int n_points, double x, double y, double w, double h, double slant, double pen,
                  int ink)
{
  const double *p = points;
  for (int i = 0; i + 1 < n_points && !isnan (p[2 * i + 2]); i++)
    {
      double ax = x + w * p[2 * i] + slant * h * (1.0 - p[2 * i + 1]);
      double ay = y + h * p[2 * i + 1];
      double bx = x + w * p[2 * i + 2] + slant * h * (1.0 - p[2 * i + 3]);
      double by = y + h * p[2 * i + 3];
      dg_draw_segment (grey, width, height, stride, ax, ay, bx, by, pen / 2, ink);
    }
}

/* Draws @digit (0 .. 9) with its box's top-left at (x, y), @h pixels tall
 * (0.7 @h wide), leaning by @slant (x shift per pixel up), pen @pen pixels wide. */
static inline void
dg_draw_digit (guint8 *grey, int width, int height, int stride, int digit, double x, double y,
               double h, double slant, double pen, int ink)
{
  dg_draw_polyline (grey, width, height, stride, dg_draw_digit_points[digit], 24, x, y, h, h, slant,
                    pen, ink);
}
