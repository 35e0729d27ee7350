/* make-strings: MNIST test digits composed into numbers as they appear on
 * cheques and forms, for test-strings.sh.
 *
 *   make-strings [--from-train | --learnt] [--clean] [--seed S] MNIST_DIR OUT_DIR COUNT [FIRST]
 *   make-strings --candidates WEIGHTS MNIST_DIR OUT_PREFIX COUNT [FIRST]
 *   make-strings --pairs WEIGHTS MNIST_DIR OUT_PREFIX COUNT [FIRST]
 *   make-strings --touching-candidates WEIGHTS MNIST_DIR OUT_PREFIX COUNT [FIRST]
 *
 * (--candidates, --touching-candidates and --pairs make training data for
 * the strings model and the pair model: see make_candidates.)
 *
 * With --from-train the digits come instead from the validation split of
 * the training set (the 5000 images dg_train holds out with its default
 * seed and val_size: the shipped model never learnt from them), and the
 * presentations from another seed: strings to tune segmentation on, so
 * that the test set stays for the final report.  5000 digits make about
 * 800 strings; past them the digits come round again in new strings.
 * With --learnt they come from the other 55,000, the part of the split the
 * models learnt: read surely, whatever is misread there is mostly
 * segmentation's doing, and few digits come round again.
 *
 * Writes COUNT images per kind, OUT_DIR/KIND-NNNNN.png or .jpg, and
 * OUT_DIR/labels.csv ("file,kind,label,presentation,sources").  Each image
 * holds a string of 2 to 10 digits taken in order from the MNIST test set,
 * starting at digit FIRST (0) for the first kind; digits are never reused
 * within a run.  "sources" are the digits' indices, space-separated, in the
 * test set (with --from-train, in the validation split as dg_train_keep_split
 * orders it, as `digits-cli eval --validation` reads it; with --learnt, in
 * the training part as it orders that): test-strings.sh
 * reads them from MNIST's own images too, to tell what the strings lose
 * to their presentation from what the network misreads anyway.
 * Kinds:
 *
 *   separated  gaps of 0.25 .. 0.6 digit heights between neighbours' ink
 *   close      gaps of 1 pixel .. 0.1 heights: boxes overlap, ink does not
 *   touching   as close, but one pair of neighbours (two in strings of six
 *              or more) touch: their ink overlaps by 1 pixel plus 0 .. 3%
 *              of a height where they come nearest
 *   marks      separated, with a currency sign before the amount, a comma
 *              before the last three digits, and a dash after it, drawn as
 *              pen strokes
 *
 * Presentations vary with the index: white paper or a ruled field (a box
 * border and a baseline rule the digits may touch), dark ink of 0 .. 80 on
 * paper of 170 .. 250 with a lighting gradient, Gaussian noise of 2 .. 10
 * grey levels, a 3x3 blur for one in three, the whole field turned by
 * -5 .. 5 degrees, and JPEG (quality 70 .. 90) for half; digit heights 28 ..
 * 110 pixels.  --clean makes the same strings level, black on white
 * paper, sharp, without noise or a ruled box, as PNG.  --seed S (0) draws
 * other presentations, and other lengths and gaps: sets to tune on that
 * differ in more than their digits (with the same S and FIRST, the same
 * set).
 */
#include "dg-idx.h"
#include "dg-model.h"
#include "dg-preprocess.h"
#include "dg-segment.h"
#include "dg-train.h"
#include "dg-rng.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum
{
  KIND_SEPARATED,
  KIND_CLOSE,
  KIND_TOUCHING,
  KIND_MARKS,
  N_KINDS
} Kind;

static const char *kind_names[N_KINDS] = { "separated", "close", "touching", "marks" };

/* An ink canvas (height, width), 0 .. 1, and whose ink each pixel is: the
 * digit's index in the string, OWNER_MARK for a sign, comma or dash,
 * OWNER_NONE for paper and rules. */
typedef struct
{
  int width, height;
  float *ink;
  gint16 *owner;
} Canvas;

#define OWNER_NONE (-1)
#define OWNER_MARK (-2)

/* Bilinear sample of a 28x28 digit (0..1 ink) at (x, y) in digit pixels. */
static double
sample (const guint8 *digit, double x, double y)
{
  int x0 = (int) floor (x), y0 = (int) floor (y);
  double fx = x - x0, fy = y - y0, v = 0.0;

  for (int dy = 0; dy < 2; dy++)
    for (int dx = 0; dx < 2; dx++)
      {
        int xi = x0 + dx, yi = y0 + dy;
        if (xi < 0 || yi < 0 || xi >= 28 || yi >= 28)
          continue;
        v += digit[yi * 28 + xi] / 255.0 * (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy);
      }
  return v;
}

/* The digit enlarged @scale times, cropped to its ink (> 0.5): (h, w). */
static float *
render_digit (const guint8 *digit, double scale, int *w, int *h)
{
  int side = (int) ceil (28 * scale);
  float *full = g_new0 (float, (gsize) side * side);
  int x0 = side, x1 = -1, y0 = side, y1 = -1;
  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++)
      {
        float v = (float) sample (digit, (x + 0.5) / scale - 0.5, (y + 0.5) / scale - 0.5);
        full[y * side + x] = v;
        if (v > 0.5f)
          {
            x0 = MIN (x0, x);
            x1 = MAX (x1, x);
            y0 = MIN (y0, y);
            y1 = MAX (y1, y);
          }
      }
  /* Keep the soft edges: a margin of a few pixels. */
  int m = (int) ceil (scale);
  x0 = MAX (0, x0 - m), y0 = MAX (0, y0 - m), x1 = MIN (side - 1, x1 + m), y1 = MIN (side - 1, y1 + m);
  *w = x1 - x0 + 1;
  *h = y1 - y0 + 1;
  float *out = g_new (float, (gsize) *w * *h);
  for (int y = 0; y < *h; y++)
    memcpy (out + (gsize) y * *w, full + (gsize) (y0 + y) * side + x0, sizeof (float) * *w);
  g_free (full);
  return out;
}

/* A pen stroke from (ax, ay) to (bx, by), @radius pixels, anti-aliased;
 * its ink (over half) becomes @owner's. */
static void
draw_stroke (Canvas *c, double ax, double ay, double bx, double by, double radius, gint16 owner)
{
  int x0 = (int) floor (MIN (ax, bx) - radius - 1), x1 = (int) ceil (MAX (ax, bx) + radius + 1);
  int y0 = (int) floor (MIN (ay, by) - radius - 1), y1 = (int) ceil (MAX (ay, by) + radius + 1);
  double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
  for (int y = MAX (0, y0); y <= MIN (c->height - 1, y1); y++)
    for (int x = MAX (0, x0); x <= MIN (c->width - 1, x1); x++)
      {
        double px = x + 0.5, py = y + 0.5;
        double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0.0;
        t = CLAMP (t, 0.0, 1.0);
        double ex = px - (ax + t * dx), ey = py - (ay + t * dy);
        float cover = (float) CLAMP (radius + 0.5 - sqrt (ex * ex + ey * ey), 0.0, 1.0);
        float *p = &c->ink[(gsize) y * c->width + x];
        *p = MAX (*p, cover);
        if (cover > 0.5f)
          c->owner[(gsize) y * c->width + x] = owner;
      }
}

/* A printed rule, nobody's. */
static void
draw_segment (Canvas *c, double ax, double ay, double bx, double by, double radius)
{
  draw_stroke (c, ax, ay, bx, by, radius, OWNER_NONE);
}

/* A mark's stroke. */
static void
draw_mark (Canvas *c, double ax, double ay, double bx, double by, double radius)
{
  draw_stroke (c, ax, ay, bx, by, radius, OWNER_MARK);
}

/* A polyline through @n points (x, y pairs). */
static void
draw_polyline (Canvas *c, const double *points, int n, double radius)
{
  for (int i = 0; i + 1 < n; i++)
    draw_mark (c, points[2 * i], points[2 * i + 1], points[2 * i + 2], points[2 * i + 3], radius);
}

/* A "$" of height @h with its top-left at (x, y): an S of two arcs and a
 * bar through it, standing out above and below. */
static void
draw_dollar (Canvas *c, double x, double y, double h, double radius)
{
  double w = 0.55 * h, cx = x + w / 2, rx = 0.42 * w, ry = 0.22 * h, pts[2 * 42];
  int n = 0;
  /* Upper arc from its upper right, over the top and round the left to the
   * middle; lower arc from the middle round the right to its lower left. */
  for (int i = 0; i <= 20; i++, n++)
    {
      double a = (20.0 + 250.0 * i / 20.0) * G_PI / 180.0;
      pts[2 * n] = cx + rx * cos (a);
      pts[2 * n + 1] = y + 0.28 * h - ry * sin (a);
    }
  for (int i = 1; i <= 20; i++, n++)
    {
      double a = (90.0 - 250.0 * i / 20.0) * G_PI / 180.0;
      pts[2 * n] = cx + rx * cos (a);
      pts[2 * n + 1] = y + 0.72 * h - ry * sin (a);
    }
  draw_polyline (c, pts, n, radius);
  draw_mark (c, cx, y - 0.12 * h, cx, y + 1.12 * h, radius);
}

/* Composes one string into a new canvas; @label gets the digits.  With
 * @pairs (touching only) the digits touch in pairs, four pairs in five: the
 * first and second, the third and fourth, and so on; one pair in ten also
 * touches the digit before it. */
static Canvas
compose (Kind kind, gboolean pairs, gboolean clean, const DgIdx *images, const DgIdx *labels,
         int *next_digit, DgRng *rng, GString *label, GString *sources, double *out_height,
         gboolean *ruled)
{
  int n = 2 + (int) (dg_rng_uniform (rng) * 9); /* 2 .. 10 */
  double H = dg_rng_range (rng, 28, 110);       /* digit height, pixels */
  double scale = H / 20.0;
  double pen = 0.5 * 2.7 * scale;               /* MNIST's stroke, as a radius */
  *ruled = dg_rng_uniform (rng) < 0.5 && !clean;
  float **digit = g_new (float *, n);
  int *dw = g_new (int, n), *dh = g_new (int, n);
  int comma_before = kind == KIND_MARKS && n >= 4 ? n - 3 : -1;

  /* Wide enough for anything: each digit at most 28 * scale wide, plus gaps. */
  Canvas c;
  c.width = (int) (n * (28 * scale + 0.7 * H) + 4 * H);
  c.height = (int) (3.2 * H);
  c.ink = g_new0 (float, (gsize) c.width * c.height);
  c.owner = g_new (gint16, (gsize) c.width * c.height);
  for (gsize p = 0; p < (gsize) c.width * c.height; p++)
    c.owner[p] = OWNER_NONE;
  double baseline = 2.0 * H; /* digits' bottoms, before jitter */
  double left = 1.2 * H;
  int *touch = g_new0 (int, n);
  if (kind == KIND_TOUCHING && pairs)
    for (int i = 1; i < n; i++)
      touch[i] = dg_rng_uniform (rng) < (i % 2 == 1 ? 0.8 : 0.1);
  else if (kind == KIND_TOUCHING)
    {
      /* One touching pair, two in strings of six or more (never sharing a
       * digit): digit i touches digit i - 1. */
      int first = 1 + (int) (dg_rng_uniform (rng) * (n - 1));
      touch[first] = 1;
      if (n >= 6)
        for (;;)
          {
            int second = 1 + (int) (dg_rng_uniform (rng) * (n - 1));
            if (abs (second - first) >= 2)
              {
                touch[second] = 1;
                break;
              }
          }
    }

  if (kind == KIND_MARKS)
    {
      double h = 1.0 * H;
      draw_dollar (&c, left, baseline - h, h, pen);
      left += 0.55 * h + 2 * pen + dg_rng_range (rng, 0.25, 0.5) * H;
    }

  /* Right ink edge of the canvas so far, per row. */
  double *right_edge = g_new (double, c.height);
  for (int y = 0; y < c.height; y++)
    right_edge[y] = -1e9;
  for (int y = 0; y < c.height; y++)
    for (int x = c.width - 1; x >= 0; x--)
      if (c.ink[(gsize) y * c.width + x] > 0.5f)
        {
          right_edge[y] = x;
          break;
        }

  for (int i = 0; i < n; i++)
    {
      int index = (*next_digit)++ % images->n;
      digit[i] = render_digit (images->data + (gsize) index * 784, scale, &dw[i], &dh[i]);
      g_string_append_c (label, (char) ('0' + labels->data[index]));
      if (sources != NULL)
        g_string_append_printf (sources, "%s%d", i > 0 ? " " : "", index);
      int top = (int) (baseline - dh[i] + dg_rng_range (rng, -0.05, 0.05) * H);

      if (i == comma_before)
        {
          /* A comma: a short tail below the baseline. */
          double cx = -1e9;
          for (int y = 0; y < c.height; y++)
            cx = MAX (cx, right_edge[y] + 0.15 * H);
          double pts[] = { cx + 0.05 * H, baseline - 0.08 * H, cx + 0.06 * H, baseline + 0.05 * H,
                           cx - 0.04 * H, baseline + 0.2 * H };
          draw_polyline (&c, pts, 3, pen);
          for (int y = (int) (baseline - 0.2 * H); y < (int) (baseline + 0.3 * H) && y < c.height; y++)
            right_edge[y] = MAX (right_edge[y], cx + 0.1 * H);
        }

      /* Leftmost ink per row of the new digit; the offset that puts it at
       * the wanted gap from what is already there. */
      double need = -1e9;
      for (int y = 0; y < dh[i]; y++)
        for (int x = 0; x < dw[i]; x++)
          if (digit[i][(gsize) y * dw[i] + x] > 0.5f)
            {
              int cy = top + y;
              if (cy >= 0 && cy < c.height)
                need = MAX (need, right_edge[cy] - x);
              break;
            }
      double gap;
      if (i == 0 || need < -1e8)
        gap = 0.0, need = left;
      else if (kind == KIND_SEPARATED || kind == KIND_MARKS)
        gap = dg_rng_range (rng, 0.25, 0.6) * H;
      else if (touch[i])
        gap = -dg_rng_range (rng, 0.0, 0.03) * H - 1;
      else
        gap = 2 + dg_rng_range (rng, 0.0, 0.1) * H;
      int x0 = (int) ceil (need + gap);
      for (int y = 0; y < dh[i]; y++)
        for (int x = 0; x < dw[i]; x++)
          {
            int cx = x0 + x, cy = top + y;
            if (cx < 0 || cy < 0 || cx >= c.width || cy >= c.height)
              continue;
            float *p = &c.ink[(gsize) cy * c.width + cx];
            *p = MAX (*p, digit[i][(gsize) y * dw[i] + x]);
            if (*p > 0.5f)
              right_edge[cy] = MAX (right_edge[cy], cx);
            if (digit[i][(gsize) y * dw[i] + x] > 0.5f)
              c.owner[(gsize) cy * c.width + cx] = (gint16) i;
          }
    }

  double end = 0;
  for (int y = 0; y < c.height; y++)
    end = MAX (end, right_edge[y]);
  if (kind == KIND_MARKS)
    {
      double y = baseline - 0.45 * H, x = end + dg_rng_range (rng, 0.25, 0.5) * H;
      draw_mark (&c, x, y, x + 0.45 * H, y + dg_rng_range (rng, -0.05, 0.05) * H, pen);
      end = x + 0.5 * H;
    }
  if (*ruled)
    {
      /* A box border round the field and a rule under the digits, which
       * they may touch: a printed line, thinner than the pen. */
      double t = MAX (0.5, dg_rng_range (rng, 0.3, 0.8) * pen);
      double bx0 = 0.5 * H, bx1 = MIN (c.width - 2.0, end + 0.7 * H);
      double by0 = 0.5 * H, by1 = 2.7 * H;
      draw_segment (&c, bx0, by0, bx1, by0, t);
      draw_segment (&c, bx0, by1, bx1, by1, t);
      draw_segment (&c, bx0, by0, bx0, by1, t);
      draw_segment (&c, bx1, by0, bx1, by1, t);
      double rule = baseline + dg_rng_range (rng, -0.02, 0.12) * H;
      draw_segment (&c, bx0, rule, bx1, rule, t);
    }
  c.width = MIN (c.width, (int) (end + 1.2 * H));

  /* Crop the canvas's width (rows keep their stride for simplicity: copy). */
  float *cropped = g_new (float, (gsize) c.width * c.height);
  gint16 *cropped_owner = g_new (gint16, (gsize) c.width * c.height);
  int full_width = (int) (n * (28 * scale + 0.7 * H) + 4 * H);
  for (int y = 0; y < c.height; y++)
    {
      memcpy (cropped + (gsize) y * c.width, c.ink + (gsize) y * full_width, sizeof (float) * c.width);
      memcpy (cropped_owner + (gsize) y * c.width, c.owner + (gsize) y * full_width,
              sizeof (gint16) * c.width);
    }
  g_free (c.ink);
  g_free (c.owner);
  c.ink = cropped;
  c.owner = cropped_owner;

  for (int i = 0; i < n; i++)
    g_free (digit[i]);
  g_free (digit);
  g_free (dw);
  g_free (dh);
  g_free (touch);
  g_free (right_edge);
  *out_height = H;
  return c;
}

/* A composed string as a scan shows it. */
typedef struct
{
  GdkPixbuf *pixbuf;  /* RGB, grey */
  gint16 *owner;      /* (height, width): whose ink each pixel shows, as Canvas.owner */
  gboolean jpeg;
  int quality;
  GString *presentation;
} Scan;

static void
scan_clear (Scan *scan)
{
  g_clear_object (&scan->pixbuf);
  g_clear_pointer (&scan->owner, g_free);
  if (scan->presentation != NULL)
    g_string_free (scan->presentation, TRUE);
  scan->presentation = NULL;
}

/* Presents canvas @c as a scan: turned, on lit paper, maybe blurred, with
 * noise; whether to save it as JPEG is drawn too.  @clean: level, black on
 * white, sharp, no noise, PNG (the same draws are made, then set aside, so
 * that the strings are the same).  Frees the canvas. */
static Scan
present (Canvas *c, DgRng *rng, double H, gboolean ruled, gboolean clean)
{
  Scan scan = { 0 };
  double angle = dg_rng_range (rng, -5.0, 5.0) * G_PI / 180.0;
  gboolean blur = dg_rng_uniform (rng) < 1.0 / 3.0;
  scan.jpeg = dg_rng_uniform (rng) < 0.5;
  scan.quality = 70 + (int) (dg_rng_uniform (rng) * 21);
  double paper = dg_rng_range (rng, 170, 250), ink = dg_rng_range (rng, 0, 80);
  double gradient = dg_rng_range (rng, -30, 30), noise = dg_rng_range (rng, 2, 10);
  if (clean)
    {
      angle = gradient = noise = ink = 0.0;
      paper = 255.0;
      blur = scan.jpeg = FALSE;
    }

  /* Turned about the centre: each output pixel samples the canvas. */
  int width = c->width, height = c->height;
  double ca = cos (angle), sa = sin (angle), mx = width / 2.0, my = height / 2.0;
  g_autofree double *grey = g_new (double, (gsize) width * height);
  scan.owner = g_new (gint16, (gsize) width * height);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        double u = ca * (x + 0.5 - mx) + sa * (y + 0.5 - my) + mx - 0.5;
        double v = -sa * (x + 0.5 - mx) + ca * (y + 0.5 - my) + my - 0.5;
        int u0 = (int) floor (u), v0 = (int) floor (v);
        double fu = u - u0, fv = v - v0, s = 0.0;
        for (int dv = 0; dv < 2; dv++)
          for (int du = 0; du < 2; du++)
            {
              int xi = u0 + du, yi = v0 + dv;
              if (xi >= 0 && yi >= 0 && xi < width && yi < height)
                s += c->ink[(gsize) yi * width + xi] * (du ? fu : 1 - fu) * (dv ? fv : 1 - fv);
            }
        double background = paper + gradient * ((double) x / width - 0.5);
        grey[(gsize) y * width + x] = background + (ink - background) * s;
        int un = (int) lround (u), vn = (int) lround (v);
        scan.owner[(gsize) y * width + x] = un >= 0 && vn >= 0 && un < width && vn < height
                                                ? c->owner[(gsize) vn * width + un]
                                                : OWNER_NONE;
      }
  if (blur)
    {
      g_autofree double *copy = g_memdup2 (grey, sizeof (double) * width * height);
      for (int y = 1; y < height - 1; y++)
        for (int x = 1; x < width - 1; x++)
          {
            double s = 0.0;
            for (int dy = -1; dy <= 1; dy++)
              for (int dx = -1; dx <= 1; dx++)
                s += copy[(gsize) (y + dy) * width + x + dx];
            grey[(gsize) y * width + x] = s / 9.0;
          }
    }
  scan.pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  guint8 *pixels = gdk_pixbuf_get_pixels (scan.pixbuf);
  int stride = gdk_pixbuf_get_rowstride (scan.pixbuf);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        double v = grey[(gsize) y * width + x] + noise * dg_rng_normal (rng);
        guint8 level = (guint8) CLAMP (lround (v), 0, 255);
        guint8 *p = pixels + (gsize) y * stride + x * 3;
        p[0] = p[1] = p[2] = level;
      }
  g_clear_pointer (&c->ink, g_free);
  g_clear_pointer (&c->owner, g_free);
  scan.presentation = g_string_new (NULL);
  g_string_printf (scan.presentation, "%s%s%s%s height %.0f angle %.1f", ruled ? "ruled" : "plain",
                   blur ? " blur" : "", scan.jpeg ? " jpeg" : "", clean ? " clean" : " noise", H,
                   angle * 180.0 / G_PI);
  return scan;
}

/* --candidates: what segmentation shows the network, labelled. */

typedef struct
{
  int n_digits;
  const gint16 *owner;
  int width, height;
  const char *label;       /* the string's digits */
  GByteArray *images;      /* 784 bytes each, ink 255 */
  GByteArray *labels;      /* 0 .. 9 or DG_LABEL_NONE */
  DgModel *model;
  DgRng rng;
  double keep_digit;       /* share of the digits kept */
  double keep_none;        /* share of "not one digit" candidates kept */
  int counts[3];           /* digits, not one digit, left out */
  gboolean pairs;          /* harvest the pair model's views, not the candidates */
} Harvest;

/* How much of each digit's ink lies inside @b (@total: each digit's ink):
 * the three largest shares, in order, in @top, the first two's digits in
 * @top_i; the pixels of signs and of digits inside. */
static void
box_cover (const Harvest *h, const int *total, const DgBox *b, double top[3], int top_i[2],
           int *marks, int *digits)
{
  g_autofree int *inside = g_new0 (int, h->n_digits);
  *marks = *digits = 0;
  for (int y = MAX (0, b->y); y < MIN (h->height, b->y + b->height); y++)
    for (int x = MAX (0, b->x); x < MIN (h->width, b->x + b->width); x++)
      {
        gint16 o = h->owner[(gsize) y * h->width + x];
        if (o >= 0)
          inside[o]++, (*digits)++;
        else if (o == OWNER_MARK)
          (*marks)++;
      }
  top[0] = top[1] = top[2] = 0.0;
  top_i[0] = top_i[1] = -1;
  for (int i = 0; i < h->n_digits; i++)
    {
      double cover = total[i] > 0 ? (double) inside[i] / total[i] : 0.0;
      if (cover > top[0])
        top[2] = top[1], top[1] = top[0], top_i[1] = top_i[0], top[0] = cover, top_i[0] = i;
      else if (cover > top[1])
        top[2] = top[1], top[1] = cover, top_i[1] = i;
      else if (cover > top[2])
        top[2] = cover;
    }
}

/* Each digit's ink, pixels. */
static int *
ink_totals (const Harvest *h)
{
  int *total = g_new0 (int, h->n_digits);
  for (gsize p = 0; p < (gsize) h->width * h->height; p++)
    if (h->owner[p] >= 0)
      total[h->owner[p]]++;
  return total;
}

/* Keeps @image with @label, or counts it as left out when @label is -1. */
static void
keep (Harvest *h, const float *image, int label)
{
  h->counts[label < 0 ? 2 : label == DG_LABEL_NONE ? 1 : 0]++;
  if (label < 0)
    return;
  guint8 pixels[DG_IMAGE_PIXELS];
  for (int j = 0; j < DG_IMAGE_PIXELS; j++)
    pixels[j] = (guint8) CLAMP (lroundf (image[j] * 255.0f), 0, 255);
  g_byte_array_append (h->images, pixels, DG_IMAGE_PIXELS);
  guint8 l = (guint8) label;
  g_byte_array_append (h->labels, &l, 1);
}

/* Each candidate is labelled by the ink inside its box: a digit when it
 * holds nearly all of one digit's ink and little of any other's; not one
 * digit when it holds most of two digits' ink, or little of any digit's
 * (a piece of one), or is mostly a sign; left out in between.  With
 * --pairs only the pairs are harvested (harvest_pairs). */
static void
harvest (int n, const float *images, const DgBox *boxes, float *probs, float *fits,
         gpointer user_data)
{
  Harvest *h = user_data;
  dg_classify_with_model (n, images, boxes, probs, fits, h->model);
  if (h->pairs)
    return;
  g_autofree int *total = ink_totals (h);
  for (int k = 0; k < n; k++)
    {
      double top[3];
      int top_i[2], marks, digits;
      box_cover (h, total, &boxes[k], top, top_i, &marks, &digits);
      int label = -1;
      if (top[0] >= 0.9 && top[1] <= 0.25 && marks <= 0.1 * top[0] * total[top_i[0]])
        label = h->label[top_i[0]] - '0';
      else if (top[1] >= 0.5 || (top[0] < 0.6 && top[1] <= 0.25 && marks <= 0.1 * digits)
               || (marks >= digits && top[0] < 0.3))
        label = DG_LABEL_NONE;
      if (label >= 0 && dg_rng_uniform (&h->rng) >= (label == DG_LABEL_NONE ? h->keep_none : h->keep_digit))
        label = -1;
      keep (h, images + (gsize) k * DG_IMAGE_PIXELS, label);
    }
}

/* --pairs: each atom segmentation shows the pair model (its left view,
 * then its right one) labelled by the ink inside its box: the two digits
 * when it holds nearly all of two neighbours' ink and little of any
 * other's; "not a pair" for both views when it holds one digit, a piece
 * of one, a sign, or most of three digits; left out in between.  Unsure answers go back, so the
 * reading does not depend on a pair model. */
static void
harvest_pairs (int n, const float *images, const DgBox *boxes, float *probs, float *fits,
               gpointer user_data)
{
  Harvest *h = user_data;
  g_autofree int *total = ink_totals (h);
  for (int k = 0; k < n; k++)
    {
      for (int j = 0; j < DG_CLASSES; j++)
        probs[(gsize) k * DG_CLASSES + j] = 1.0f / DG_CLASSES;
      fits[k] = logf (1.0f / DG_CLASSES);
    }
  for (int k = 0; k + 1 < n; k += 2)
    {
      double top[3];
      int top_i[2], marks, digits;
      box_cover (h, total, &boxes[k], top, top_i, &marks, &digits);
      int left = -1, right = -1;
      if (top[1] >= 0.9 && top[2] <= 0.1 && abs (top_i[0] - top_i[1]) == 1 && marks <= 0.1 * digits)
        {
          left = h->label[MIN (top_i[0], top_i[1])] - '0';
          right = h->label[MAX (top_i[0], top_i[1])] - '0';
        }
      else if ((top[0] >= 0.9 && top[1] <= 0.25) || (top[0] < 0.6 && top[1] <= 0.25)
               || (marks >= digits && top[0] < 0.3) || top[2] >= 0.5)
        {
          if (dg_rng_uniform (&h->rng) < h->keep_none)
            left = right = DG_LABEL_NONE;
        }
      keep (h, images + (gsize) k * DG_IMAGE_PIXELS, left);
      keep (h, images + (gsize) (k + 1) * DG_IMAGE_PIXELS, right);
    }
}

/* An IDX file of unsigned bytes with dimensions @dims (@rank of them). */
static gboolean
write_idx (const char *path, const guint8 *data, const int *dims, int rank, GError **error)
{
  g_autoptr (GByteArray) file = g_byte_array_new ();
  guint8 head[4] = { 0, 0, 0x08, (guint8) rank };
  gsize size = 1;
  g_byte_array_append (file, head, 4);
  for (int d = 0; d < rank; d++)
    {
      guint32 be = GUINT32_TO_BE ((guint32) dims[d]);
      g_byte_array_append (file, (const guint8 *) &be, 4);
      size *= (gsize) dims[d];
    }
  g_byte_array_append (file, data, (guint) size);
  return g_file_set_contents (path, (const char *) file->data, (gssize) file->len, error);
}

/* A JPEG scan as its file would be read back. */
static GdkPixbuf *
jpeg_round_trip (GdkPixbuf *pixbuf, int quality, GError **error)
{
  g_autofree char *q = g_strdup_printf ("%d", quality);
  g_autofree gchar *buffer = NULL;
  gsize size = 0;
  if (!gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &size, "jpeg", error, "quality", q, NULL))
    return NULL;
  g_autoptr (GdkPixbufLoader) loader = gdk_pixbuf_loader_new ();
  if (!gdk_pixbuf_loader_write (loader, (const guchar *) buffer, size, error)
      || !gdk_pixbuf_loader_close (loader, error))
    return NULL;
  return g_object_ref (gdk_pixbuf_loader_get_pixbuf (loader));
}

/* make-strings --candidates WEIGHTS MNIST_DIR OUT_PREFIX COUNT: COUNT
 * strings of each kind from the digits the model learnt from (never the
 * validation split or the test set), read by segmentation, every candidate
 * it shows the network labelled (harvest); half of the digits and a
 * quarter of the rest are kept (keeping half of the rest read worse on
 * validation strings).  Writes OUT_PREFIX-images-idx3-ubyte and
 * OUT_PREFIX-labels-idx1-ubyte, for `digits-cli train --extra`.
 *
 * make-strings --pairs WEIGHTS MNIST_DIR OUT_PREFIX COUNT: the same for the
 * pair model, from COUNT touching strings whose digits touch in pairs
 * (compose): every view of an atom the pair model is shown, labelled by
 * harvest_pairs; all pairs are kept and half of the rest.
 *
 * make-strings --touching-candidates WEIGHTS MNIST_DIR OUT_PREFIX COUNT:
 * candidates as --candidates labels and keeps them, from COUNT strings
 * drawn as --pairs draws them (more touching digits to learn from).
 *
 * FIRST (0) numbers the first string, so that several runs at once make
 * different strings.  @pairs: pair views are harvested (--pairs);
 * @drawn_in_pairs: the strings are drawn as --pairs draws them (--pairs
 * and --touching-candidates). */
static int
make_candidates (const char *weights, gboolean pairs, gboolean drawn_in_pairs, DgIdx *images,
                 DgIdx *labels, const char *prefix, int count, int first)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DgModel) model = dg_model_load (weights, &error);
  if (model == NULL)
    {
      g_printerr ("make-strings: %s\n", error->message);
      return 1;
    }
  dg_model_prepare (model);
  Harvest h = { .model = model, .keep_digit = 0.5, .keep_none = pairs ? 0.5 : 0.25,
                .rng = dg_rng_at (pairs ? 8287 : 8117, 0, 0), .pairs = pairs };
  h.images = g_byte_array_new ();
  h.labels = g_byte_array_new ();
  int next_digit = 6 * first;
  for (int i = first; i < first + count; i++)
    for (int kind = drawn_in_pairs ? KIND_TOUCHING : 0;
         kind < (drawn_in_pairs ? KIND_TOUCHING + 1 : N_KINDS); kind++)
      {
        DgRng rng = dg_rng_at (drawn_in_pairs ? 6359 : 6151, (uint64_t) i, (uint64_t) kind);
        g_autoptr (GString) label = g_string_new (NULL);
        double H;
        gboolean ruled;
        Canvas c = compose (kind, drawn_in_pairs, FALSE, images, labels, &next_digit, &rng, label,
                            NULL, &H, &ruled);
        int width = c.width, height = c.height;
        Scan scan = present (&c, &rng, H, ruled, FALSE);
        g_autoptr (GdkPixbuf) read = scan.jpeg ? jpeg_round_trip (scan.pixbuf, scan.quality, &error)
                                               : g_object_ref (scan.pixbuf);
        if (read == NULL)
          {
            g_printerr ("make-strings: %s\n", error->message);
            return 1;
          }
        g_autofree guint8 *grey = g_new (guint8, (gsize) width * height);
        const guint8 *pixels = gdk_pixbuf_get_pixels (read);
        int stride = gdk_pixbuf_get_rowstride (read), channels = gdk_pixbuf_get_n_channels (read);
        for (int y = 0; y < height; y++)
          for (int x = 0; x < width; x++)
            grey[(gsize) y * width + x] = pixels[(gsize) y * stride + x * channels];
        h.n_digits = (int) label->len;
        h.label = label->str;
        h.owner = scan.owner;
        h.width = width;
        h.height = height;
        DgContrast contrast;
        if (dg_contrast_init (&contrast, grey, width, height, width, NULL))
          {
            g_autoptr (DgReading) reading
                = dg_read_contrast (&contrast, harvest, &h, pairs ? harvest_pairs : NULL, &h, NULL);
            dg_contrast_clear (&contrast);
          }
        scan_clear (&scan);
      }
  int n = (int) h.labels->len;
  int image_dims[3] = { n, DG_IMAGE_SIDE, DG_IMAGE_SIDE }, label_dims[1] = { n };
  g_autofree char *image_path = g_strconcat (prefix, "-images-idx3-ubyte", NULL);
  g_autofree char *label_path = g_strconcat (prefix, "-labels-idx1-ubyte", NULL);
  gboolean ok = write_idx (image_path, h.images->data, image_dims, 3, &error)
                && write_idx (label_path, h.labels->data, label_dims, 1, &error);
  if (!ok)
    g_printerr ("make-strings: %s\n", error->message);
  else
    g_print ("%d candidates kept from %d digits' strings: %d %s, %d not %s; %d left out\n", n,
             next_digit, h.counts[0], pairs ? "views of pairs" : "digits", h.counts[1],
             pairs ? "a pair" : "one digit", h.counts[2]);
  g_byte_array_unref (h.images);
  g_byte_array_unref (h.labels);
  return ok ? 0 : 1;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DgIdx) images = NULL, labels = NULL;
  g_autoptr (GString) csv = g_string_new ("file,kind,label,presentation,sources\n");

  const char *weights = NULL;
  gboolean from_train = FALSE, learnt = FALSE, clean = FALSE;
  guint64 seed = 0;
  while (argc > 1)
    {
      if (strcmp (argv[1], "--from-train") == 0)
        from_train = TRUE;
      else if (strcmp (argv[1], "--learnt") == 0)
        from_train = learnt = TRUE;
      else if (strcmp (argv[1], "--clean") == 0)
        clean = TRUE;
      else if (strcmp (argv[1], "--seed") == 0 && argc > 2
               && g_ascii_string_to_unsigned (argv[2], 10, 0, G_MAXUINT32, &seed, NULL))
        {
          argv++;
          argc--;
        }
      else
        break;
      argv++;
      argc--;
    }
  gboolean pairs = FALSE, touching = FALSE;
  if (!from_train && !clean && argc > 2
      && (strcmp (argv[1], "--candidates") == 0 || strcmp (argv[1], "--pairs") == 0
          || strcmp (argv[1], "--touching-candidates") == 0))
    {
      pairs = strcmp (argv[1], "--pairs") == 0;
      touching = strcmp (argv[1], "--touching-candidates") == 0;
      weights = argv[2];
      argv += 2;
      argc -= 2;
    }
  if (argc != 4 && argc != 5)
    {
      g_printerr (
          "usage: make-strings [--from-train | --learnt] [--clean] [--seed S] MNIST_DIR OUT_DIR "
          "COUNT [FIRST]\n"
          "       make-strings --candidates WEIGHTS MNIST_DIR OUT_PREFIX COUNT [FIRST]\n"
          "       make-strings --pairs WEIGHTS MNIST_DIR OUT_PREFIX COUNT [FIRST]\n"
          "       make-strings --touching-candidates WEIGHTS MNIST_DIR OUT_PREFIX COUNT [FIRST]\n");
      return 2;
    }
  int count = MAX (1, atoi (argv[3]));
  int next_digit = argc == 5 ? atoi (argv[4]) : 0;
  if (!dg_mnist_load (argv[1], from_train || weights != NULL ? "train" : "t10k", &images, &labels,
                      &error))
    {
      g_printerr ("make-strings: %s\n", error->message);
      return 1;
    }
  if (from_train || weights != NULL)
    dg_train_keep_split (images, labels, from_train && !learnt);
  if (weights != NULL)
    return make_candidates (weights, pairs, pairs || touching, images, labels, argv[2], count,
                            argc == 5 ? atoi (argv[4]) : 0);
  uint64_t presentation_seed = (from_train ? 4049 : 2027) + seed;
  g_mkdir_with_parents (argv[2], 0755);

  for (int kind = 0; kind < N_KINDS; kind++)
    for (int i = 0; i < count; i++)
      {
        DgRng rng = dg_rng_at (presentation_seed, (uint64_t) i, (uint64_t) kind);
        g_autoptr (GString) label = g_string_new (NULL), sources = g_string_new (NULL);
        double H;
        gboolean ruled;
        Canvas c = compose (kind, FALSE, clean, images, labels, &next_digit, &rng, label, sources, &H,
                            &ruled);
        Scan scan = present (&c, &rng, H, ruled, clean);

        g_autofree char *name = g_strdup_printf ("%s-%05d.%s", kind_names[kind], i,
                                                 scan.jpeg ? "jpg" : "png");
        g_autofree char *path = g_build_filename (argv[2], name, NULL);
        g_autofree char *q = g_strdup_printf ("%d", scan.quality);
        gboolean saved = scan.jpeg ? gdk_pixbuf_save (scan.pixbuf, path, "jpeg", &error, "quality", q, NULL)
                                   : gdk_pixbuf_save (scan.pixbuf, path, "png", &error, NULL);
        if (!saved)
          {
            g_printerr ("make-strings: %s: %s\n", path, error->message);
            return 1;
          }
        g_string_append_printf (csv, "%s,%s,%s,%s,%s\n", name, kind_names[kind], label->str,
                                scan.presentation->str, sources->str);
        scan_clear (&scan);
      }

  g_autofree char *csv_path = g_build_filename (argv[2], "labels.csv", NULL);
  if (!g_file_set_contents (csv_path, csv->str, (gssize) csv->len, &error))
    {
      g_printerr ("make-strings: %s\n", error->message);
      return 1;
    }
  return 0;
}
