/* dg-preprocess.c: strokes and grey images -> MNIST's 28x28.
 *
 * The data flow, for a grey image:
 *
 *   grey (h, w) --dg_estimate_background--> paper surface, polarity, noise
 *        --contrast--> (h, w) bytes: how far each pixel departs from the paper
 *        --threshold, connected components--> the digit's runs, specks dropped
 *        --crop, stretch--> ink (rh, rw) floats, 1.0 = the strongest ink
 *        --dg_normalize_ink--> (28, 28)
 *
 * and for strokes, which need no cleaning:
 *
 *   points --bounding box, scale so the inked box is 20 px--> dg_render_strokes
 *        --centre of mass--> dg_render_strokes again, shifted --> (28, 28)
 */
#include "dg-preprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SIDE DG_IMAGE_SIDE
#define SUPERSAMPLE 8                  /* stroke samples per output pixel, per axis */
#define MASK_SIDE (SIDE * SUPERSAMPLE) /* 224 */

#define BG_BLOCKS 64       /* the background is fitted on at most 64 x 64 block means */
#define BG_MIN_AXIS 8      /* blocks along an axis needed to fit a curve along it */
#define CROP_MAX 400       /* a crop larger than this is box-averaged down first */
#define FAINT_INK 0.05     /* of the way from the paper's noise to the ink: still ink */
#define MAX_RUNS (1 << 21) /* more ink runs than this is texture or noise */

/* Images: the ink's longer side must reach this fraction of the image's
 * shorter side (a dust speck on a blank scan is not a digit). */
#define MIN_IMAGE_EXTENT_FRACTION 0.01

G_DEFINE_QUARK (dg-preprocess-error-quark, dg_preprocess_error)

/* CLAMP written as two selects that the compiler turns into min/max
 * instructions, so the per-pixel loops vectorise. */
static inline float
clamp_float (float value, float low, float high)
{
  value = value < low ? low : value;
  return value > high ? high : value;
}

static gboolean
nothing_to_read (GError **error)
{
  g_set_error_literal (error, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_NOTHING_TO_READ,
                       "nothing to read");
  return FALSE;
}

/* ------------------------------------------------------------------------ */
/* Measuring ink                                                             */

gboolean
dg_ink_bbox (const float *ink, int width, int height, float level, DgBox *box)
{
  g_return_val_if_fail (ink != NULL && width > 0 && height > 0 && box != NULL, FALSE);

  int x0 = width, x1 = -1, y0 = height, y1 = -1;
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      if (ink[(gsize) y * width + x] >= level)
        {
          x0 = MIN (x0, x);
          x1 = MAX (x1, x);
          y0 = MIN (y0, y);
          y1 = MAX (y1, y);
        }

  if (x1 < 0)
    {
      *box = (DgBox) { 0, 0, 0, 0 };
      return FALSE;
    }
  *box = (DgBox) { x0, y0, x1 - x0 + 1, y1 - y0 + 1 };
  return TRUE;
}

gboolean
dg_center_of_mass (const float *ink, int width, int height, double *x, double *y)
{
  g_return_val_if_fail (ink != NULL && width > 0 && height > 0, FALSE);

  double mass = 0.0, mx = 0.0, my = 0.0;
  for (int row = 0; row < height; row++)
    for (int col = 0; col < width; col++)
      {
        double v = ink[(gsize) row * width + col];
        mass += v;
        mx += v * col;
        my += v * row;
      }

  if (!(mass > 0.0))
    return FALSE;
  if (x != NULL)
    *x = mx / mass;
  if (y != NULL)
    *y = my / mass;
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Resampling                                                                */

/* The weights of one axis of dg_resample: destination pixel d reads source
 * pixels first[d] .. first[d] + count[d] - 1 with weights
 * weights[d * max_taps + k].  Source pixels outside [0, src_n) are zero and
 * are simply left out. */
typedef struct
{
  int max_taps;
  int *first;     /* (dst_n) */
  int *count;     /* (dst_n) */
  float *weights; /* (dst_n, max_taps) */
} AxisWeights;

static void
axis_weights_init (AxisWeights *aw, int src_n, int dst_n, double scale, double offset)
{
  aw->max_taps = scale < 1.0 ? (int) ceil (1.0 / scale) + 2 : 2;
  aw->first = g_new0 (int, dst_n);
  aw->count = g_new0 (int, dst_n);
  aw->weights = g_new0 (float, (gsize) dst_n * aw->max_taps);

  for (int d = 0; d < dst_n; d++)
    {
      float *w = aw->weights + (gsize) d * aw->max_taps;
      int n = 0, first = 0;

      /* Positions are clamped to just outside the source before becoming
       * ints, so far-off destination pixels simply read nothing. */
      if (scale < 1.0)
        {
          /* The destination pixel [d, d + 1) covers [a, b) of the source;
           * each source pixel counts by its overlap, the sum by b - a. */
          double a = (d - offset) / scale, b = (d + 1 - offset) / scale;
          int i0 = (int) CLAMP (floor (a), 0.0, (double) src_n);
          int i1 = (int) CLAMP (ceil (b) - 1.0, -1.0, src_n - 1.0);
          first = MIN (i0, src_n - 1);
          for (int i = i0; i <= i1 && n < aw->max_taps; i++)
            {
              double overlap = MIN (b, i + 1.0) - MAX (a, (double) i);
              w[n++] = (float) (MAX (overlap, 0.0) * scale);
            }
        }
      else
        {
          /* Bilinear between source pixel centres. */
          double x = CLAMP ((d + 0.5 - offset) / scale - 0.5, -2.0, src_n + 1.0);
          int i0 = (int) floor (x);
          double f = x - i0;
          first = CLAMP (i0, 0, src_n - 1);
          if (i0 >= 0 && i0 < src_n)
            w[n++] = (float) (1.0 - f);
          if (i0 + 1 >= 0 && i0 + 1 < src_n)
            w[n++] = (float) f;
        }
      aw->first[d] = first;
      aw->count[d] = n;
    }
}

static void
axis_weights_clear (AxisWeights *aw)
{
  g_free (aw->first);
  g_free (aw->count);
  g_free (aw->weights);
}

void
dg_resample (const float *src, int src_width, int src_height, double scale, double offset_x,
             double offset_y, float *dst, int dst_width, int dst_height)
{
  dg_resample_xy (src, src_width, src_height, scale, scale, offset_x, offset_y, dst, dst_width,
                  dst_height);
}

void
dg_resample_xy (const float *src, int src_width, int src_height, double scale_x, double scale_y,
                double offset_x, double offset_y, float *dst, int dst_width, int dst_height)
{
  g_return_if_fail (src != NULL && dst != NULL);
  g_return_if_fail (src_width > 0 && src_height > 0 && dst_width > 0 && dst_height > 0);
  g_return_if_fail (scale_x >= 1e-4 && scale_x <= 1e4 && scale_y >= 1e-4 && scale_y <= 1e4);
  g_return_if_fail (isfinite (offset_x) && isfinite (offset_y));

  AxisWeights wx, wy;
  axis_weights_init (&wx, src_width, dst_width, scale_x, offset_x);
  axis_weights_init (&wy, src_height, dst_height, scale_y, offset_y);

  /* Rows first: rows (dst_height, src_width), then columns. */
  float *rows = g_new0 (float, (gsize) dst_height * src_width);
  for (int v = 0; v < dst_height; v++)
    {
      float *out = rows + (gsize) v * src_width;
      for (int k = 0; k < wy.count[v]; k++)
        {
          const float *in = src + (gsize) (wy.first[v] + k) * src_width;
          float w = wy.weights[v * wy.max_taps + k];
          for (int x = 0; x < src_width; x++)
            out[x] += w * in[x];
        }
    }

  for (int v = 0; v < dst_height; v++)
    for (int u = 0; u < dst_width; u++)
      {
        const float *in = rows + (gsize) v * src_width + wx.first[u];
        const float *w = wx.weights + u * wx.max_taps;
        float sum = 0.0f;
        for (int k = 0; k < wx.count[u]; k++)
          sum += w[k] * in[k];
        dst[v * dst_width + u] = sum;
      }

  g_free (rows);
  axis_weights_clear (&wx);
  axis_weights_clear (&wy);
}

/* ------------------------------------------------------------------------ */
/* Normalisation (MNIST's rules)                                             */

gboolean
dg_normalize_ink (const float *ink, int width, int height, float out[DG_IMAGE_PIXELS],
                  GError **error)
{
  g_return_val_if_fail (ink != NULL && out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (width <= 0 || height <= 0)
    {
      g_set_error (error, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_INVALID,
                   "ink image is %d×%d pixels; both sides must be positive", width, height);
      return FALSE;
    }

  float strongest = 0.0f;
  for (gsize i = 0; i < (gsize) width * height; i++)
    strongest = MAX (strongest, ink[i]);

  DgBox box;
  double com_x, com_y;
  if (!(strongest > 0.0f) || !dg_ink_bbox (ink, width, height, 0.5f * strongest, &box)
      || !dg_center_of_mass (ink, width, height, &com_x, &com_y))
    return nothing_to_read (error);

  /* The longer side of the box becomes DG_DIGIT_BOX; the centre of mass
   * (continuous: index + 0.5) goes to DG_DIGIT_CENTRE + 0.5. */
  double scale = DG_DIGIT_BOX / MAX (box.width, box.height);
  double offset_x = DG_DIGIT_CENTRE + 0.5 - scale * (com_x + 0.5);
  double offset_y = DG_DIGIT_CENTRE + 0.5 - scale * (com_y + 0.5);
  dg_resample (ink, width, height, scale, offset_x, offset_y, out, SIDE, SIDE);

  /* Averaging over whole output pixels moves the centre of mass by a
   * fraction of a pixel; measure and shift once more.  A larger error means
   * ink was clipped at the border, which a shift would not mend. */
  double out_x, out_y;
  if (dg_center_of_mass (out, SIDE, SIDE, &out_x, &out_y))
    {
      double dx = DG_DIGIT_CENTRE - out_x, dy = DG_DIGIT_CENTRE - out_y;
      if (fabs (dx) > 1e-3 || fabs (dy) > 1e-3)
        if (fabs (dx) < 1.0 && fabs (dy) < 1.0)
          dg_resample (ink, width, height, scale, offset_x + dx, offset_y + dy, out, SIDE, SIDE);
    }

  for (int i = 0; i < DG_IMAGE_PIXELS; i++)
    out[i] = CLAMP (out[i], 0.0f, 1.0f);
  return TRUE;
}

/* A wide piece of ink read as two digits -> @out (28, 28): its box (of the
 * pixels at least half as strong as the strongest) stretched to
 * DG_PAIR_WIDTH x DG_DIGIT_BOX, whatever its aspect, its centre on the
 * field's.  Each digit of a pair then fills about half the field's width,
 * as wide as a digit normalised alone; the pair model (DG_WEIGHTS_PAIRS)
 * reads the left one, and the right one from the image mirrored. */
static gboolean
normalize_pair (const float *ink, int width, int height, float out[DG_IMAGE_PIXELS],
                GError **error)
{
  float strongest = 0.0f;
  for (gsize i = 0; i < (gsize) width * height; i++)
    strongest = MAX (strongest, ink[i]);
  DgBox box;
  if (!(strongest > 0.0f) || !dg_ink_bbox (ink, width, height, 0.5f * strongest, &box))
    return nothing_to_read (error);
  double scale_x = CLAMP (DG_PAIR_WIDTH / box.width, 1e-4, 1e4);
  double scale_y = CLAMP (DG_DIGIT_BOX / box.height, 1e-4, 1e4);
  double offset_x = 0.5 * SIDE - scale_x * (box.x + 0.5 * box.width);
  double offset_y = 0.5 * SIDE - scale_y * (box.y + 0.5 * box.height);
  dg_resample_xy (ink, width, height, scale_x, scale_y, offset_x, offset_y, out, SIDE, SIDE);
  for (int i = 0; i < DG_IMAGE_PIXELS; i++)
    out[i] = CLAMP (out[i], 0.0f, 1.0f);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Strokes                                                                   */

/* Pen radius at @p, output pixels. */
static double
point_radius (const DgPoint *p, double pen_width)
{
  double factor = p->pressure >= 0.0f ? 0.5 + MIN (p->pressure, 1.0f) : 1.0;
  return 0.5 * pen_width * factor;
}

/* Widens [*lo, *hi] to take in [a, b]. */
static inline void
widen (double *lo, double *hi, double a, double b)
{
  *lo = MIN (*lo, a);
  *hi = MAX (*hi, b);
}

/* Widens [*lo, *hi] by the chord of the disc at (cx, cy), radius @r, on the
 * line y = @y. */
static inline void
widen_by_chord (double *lo, double *hi, double cx, double cy, double r, double y)
{
  double h2 = r * r - (y - cy) * (y - cy);
  if (h2 >= 0.0)
    {
      double h = sqrt (h2);
      widen (lo, hi, cx - h, cx + h);
    }
}

/* Sets the mask samples inside the capsule from (x0, y0) radius r0 to
 * (x1, y1) radius r1, output pixels: the convex hull of the two discs (a
 * line with round caps; with pressure, a tapering one).  Being convex, it
 * meets each row of samples in one interval: the span of the two discs'
 * chords and of the crossings of the quadrilateral between the discs'
 * outer tangents.  Each row is one memset, so a segment costs its height,
 * however many samples it covers. */
static void
fill_capsule (guint8 *mask, double x0, double y0, double r0, double x1, double y1, double r1)
{
  double left = MIN (x0 - r0, x1 - r1), right = MAX (x0 + r0, x1 + r1);
  double top = MIN (y0 - r0, y1 - r1), bottom = MAX (y0 + r0, y1 + r1);
  /* Sample i sits at (i + 0.5) / SUPERSAMPLE. */
  double j_min = ceil (top * SUPERSAMPLE - 0.5), j_max = floor (bottom * SUPERSAMPLE - 0.5);
  if (right * SUPERSAMPLE - 0.5 < 0.0 || j_max < 0.0 || left * SUPERSAMPLE - 0.5 > MASK_SIDE - 1
      || j_min > MASK_SIDE - 1)
    return;
  int ja = (int) MAX (j_min, 0.0), jb = (int) MIN (j_max, MASK_SIDE - 1.0);

  /* The quadrilateral's corners, in order round it: c + r n for both discs
   * and both outer tangents, whose normals n satisfy n . (c1 - c0) = r0 - r1.
   * None when one disc holds the other. */
  double quad[4][2];
  gboolean has_quad = FALSE;
  double dx = x1 - x0, dy = y1 - y0, length = sqrt (dx * dx + dy * dy);
  if (length > fabs (r1 - r0) + 1e-12)
    {
      double ux = dx / length, uy = dy / length;
      double s = (r0 - r1) / length, c = sqrt (1.0 - s * s);
      double n_plus[2] = { s * ux - c * uy, s * uy + c * ux };
      double n_minus[2] = { s * ux + c * uy, s * uy - c * ux };
      quad[0][0] = x0 + r0 * n_plus[0], quad[0][1] = y0 + r0 * n_plus[1];
      quad[1][0] = x1 + r1 * n_plus[0], quad[1][1] = y1 + r1 * n_plus[1];
      quad[2][0] = x1 + r1 * n_minus[0], quad[2][1] = y1 + r1 * n_minus[1];
      quad[3][0] = x0 + r0 * n_minus[0], quad[3][1] = y0 + r0 * n_minus[1];
      has_quad = TRUE;
    }

  for (int j = ja; j <= jb; j++)
    {
      double sy = (j + 0.5) / SUPERSAMPLE;
      double lo = G_MAXDOUBLE, hi = -G_MAXDOUBLE;
      widen_by_chord (&lo, &hi, x0, y0, r0, sy);
      widen_by_chord (&lo, &hi, x1, y1, r1, sy);
      for (int e = 0; has_quad && e < 4; e++)
        {
          const double *a = quad[e], *b = quad[(e + 1) % 4];
          if ((a[1] - sy) * (b[1] - sy) > 0.0)
            continue;
          if (a[1] == b[1])
            widen (&lo, &hi, MIN (a[0], b[0]), MAX (a[0], b[0]));
          else
            {
              double x = a[0] + (sy - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
              widen (&lo, &hi, x, x);
            }
        }
      if (lo > hi)
        continue;
      double i_min = ceil (lo * SUPERSAMPLE - 0.5), i_max = floor (hi * SUPERSAMPLE - 0.5);
      if (i_max < 0.0 || i_min > MASK_SIDE - 1 || i_min > i_max)
        continue;
      int ia = (int) MAX (i_min, 0.0), ib = (int) MIN (i_max, MASK_SIDE - 1.0);
      memset (mask + j * MASK_SIDE + ia, 1, ib - ia + 1);
    }
}

/* A point of a stroke at the output scale, before the offset: position and
 * pen radius, output pixels. */
typedef struct
{
  double x, y, r;
} PenPoint;

/* Strokes at the output scale, simplified: @lengths[s] points of stroke s
 * follow one another in @points. */
typedef struct
{
  int n_strokes;
  int *lengths;
  PenPoint *points;
} PenStrokes;

/* How far, output pixels, a simplified stroke may stray from the drawn one:
 * a quarter of the distance between samples. */
#define SIMPLIFY_TOLERANCE (0.25 / SUPERSAMPLE)
/* Points a simplified segment may stand for, at most (a bound on the work
 * per point: a straight line of 100000 points would otherwise cost their
 * square). */
#define SIMPLIFY_MAX_RUN 64

/* Whether the points strictly between @a and @b lie within
 * SIMPLIFY_TOLERANCE of the segment from @a to @b, radius included. */
static gboolean
segment_stands_for (const PenPoint *a, const PenPoint *b)
{
  double dx = b->x - a->x, dy = b->y - a->y, len2 = dx * dx + dy * dy;
  for (const PenPoint *q = a + 1; q < b; q++)
    {
      double t = len2 > 0.0 ? ((q->x - a->x) * dx + (q->y - a->y) * dy) / len2 : 0.0;
      t = CLAMP (t, 0.0, 1.0);
      double ex = q->x - (a->x + t * dx), ey = q->y - (a->y + t * dy);
      double er = q->r - (a->r + t * (b->r - a->r));
      if (ex * ex + ey * ey > SIMPLIFY_TOLERANCE * SIMPLIFY_TOLERANCE
          || fabs (er) > SIMPLIFY_TOLERANCE)
        return FALSE;
    }
  return TRUE;
}

/* The strokes at @scale with the pen @pen_width output pixels wide, each
 * stroke's points thinned to those a polyline within SIMPLIFY_TOLERANCE of
 * it needs: a mouse or a tablet reports far more points than 8x8 samples
 * per pixel can tell apart, and rendering costs a row loop per segment. */
static PenStrokes
pen_strokes_new (const DgStroke *strokes, int n_strokes, double scale, double pen_width)
{
  int total = 0;
  for (int s = 0; s < n_strokes; s++)
    total += strokes[s].n_points;

  PenStrokes pen = { n_strokes, g_new0 (int, MAX (n_strokes, 1)), g_new (PenPoint, MAX (total, 1)) };
  PenPoint *out = pen.points;
  g_autofree PenPoint *scaled = g_new (PenPoint, MAX (total, 1));
  for (int s = 0; s < n_strokes; s++)
    {
      int n = strokes[s].n_points;
      if (n == 0)
        continue;
      for (int i = 0; i < n; i++)
        {
          const DgPoint *p = &strokes[s].points[i];
          scaled[i] = (PenPoint) { scale * p->x, scale * p->y, point_radius (p, pen_width) };
        }

      /* Greedy: from the last point kept, reach as far as a segment can
       * stand for every point on the way. */
      PenPoint *first = out;
      *out++ = scaled[0];
      int anchor = 0;
      for (int end = 2; end < n; end++)
        if (end - anchor > SIMPLIFY_MAX_RUN || !segment_stands_for (&scaled[anchor], &scaled[end]))
          {
            anchor = end - 1;
            *out++ = scaled[anchor];
          }
      if (n > 1)
        *out++ = scaled[n - 1];
      pen.lengths[s] = (int) (out - first);
    }
  return pen;
}

static void
pen_strokes_clear (PenStrokes *pen)
{
  g_clear_pointer (&pen->lengths, g_free);
  g_clear_pointer (&pen->points, g_free);
}

/* Sets the mask samples (MASK_SIDE, MASK_SIDE) the strokes cover, moved by
 * (@offset_x, @offset_y) output pixels. */
static void
render_mask (const PenStrokes *pen, double offset_x, double offset_y, guint8 *mask)
{
  const PenPoint *p = pen->points;
  for (int s = 0; s < pen->n_strokes; p += pen->lengths[s], s++)
    {
      int n = pen->lengths[s];
      /* Segment i joins points i and i + 1; a lone point is a capsule of
       * length zero, a disc. */
      for (int i = 0; i < MAX (n - 1, MIN (n, 1)); i++)
        {
          const PenPoint *a = &p[i], *b = &p[MIN (i + 1, n - 1)];
          fill_capsule (mask, a->x + offset_x, a->y + offset_y, a->r, b->x + offset_x,
                        b->y + offset_y, b->r);
        }
    }
}

/* @out (28, 28) = the strokes in @pen moved by (@offset_x, @offset_y)
 * output pixels: their samples set in @mask (MASK_SIDE, MASK_SIDE, cleared
 * here), then each 8x8 block box-filtered, columns first, a row of blocks
 * at a time, in loops the compiler vectorises. */
static void
render_pen (const PenStrokes *pen, double offset_x, double offset_y, guint8 *mask,
            float out[DG_IMAGE_PIXELS])
{
  memset (mask, 0, MASK_SIDE * MASK_SIDE);
  render_mask (pen, offset_x, offset_y, mask);
  for (int y = 0; y < SIDE; y++)
    {
      guint16 columns[MASK_SIDE] = { 0 };
      for (int j = y * SUPERSAMPLE; j < (y + 1) * SUPERSAMPLE; j++)
        for (int i = 0; i < MASK_SIDE; i++)
          columns[i] += mask[j * MASK_SIDE + i];
      for (int x = 0; x < SIDE; x++)
        {
          int covered = 0;
          for (int i = 0; i < SUPERSAMPLE; i++)
            covered += columns[x * SUPERSAMPLE + i];
          out[y * SIDE + x] = (float) covered / (SUPERSAMPLE * SUPERSAMPLE);
        }
    }
}

void
dg_render_strokes (const DgStroke *strokes, int n_strokes, double scale, double offset_x,
                   double offset_y, double pen_width, float out[DG_IMAGE_PIXELS])
{
  g_return_if_fail (out != NULL && (strokes != NULL || n_strokes == 0));

  PenStrokes pen = pen_strokes_new (strokes, n_strokes, scale, pen_width);
  g_autofree guint8 *mask = g_new (guint8, MASK_SIDE * MASK_SIDE);
  render_pen (&pen, offset_x, offset_y, mask, out);
  pen_strokes_clear (&pen);
}

/* Checks the strokes against the limits; counts their points. */
static gboolean
validate_strokes (const DgStroke *strokes, int n_strokes, double canvas_width, double canvas_height,
                  int *n_points, GError **error)
{
  if (!(isfinite (canvas_width) && isfinite (canvas_height) && canvas_width > 0.0
        && canvas_height > 0.0))
    {
      g_set_error (error, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_INVALID,
                   "canvas is %g×%g pixels; both sides must be positive", canvas_width,
                   canvas_height);
      return FALSE;
    }
  if (n_strokes < 0 || (strokes == NULL && n_strokes > 0))
    {
      g_set_error (error, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_INVALID,
                   "the drawing has %d strokes%s", n_strokes,
                   strokes == NULL ? " but no stroke data" : "");
      return FALSE;
    }
  if (n_strokes > DG_MAX_STROKES)
    {
      g_set_error (error, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_TOO_LARGE,
                   "the drawing has %d strokes; at most %d are allowed", n_strokes, DG_MAX_STROKES);
      return FALSE;
    }

  gint64 total = 0;
  for (int s = 0; s < n_strokes; s++)
    {
      if (strokes[s].n_points < 0 || (strokes[s].points == NULL && strokes[s].n_points > 0))
        {
          g_set_error (error, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_INVALID,
                       "stroke %d has %d points%s", s + 1, strokes[s].n_points,
                       strokes[s].points == NULL ? " but no point data" : "");
          return FALSE;
        }
      total += strokes[s].n_points;
    }
  if (total > DG_MAX_POINTS)
    {
      g_set_error (error, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_TOO_LARGE,
                   "the drawing has %" G_GINT64_FORMAT " points; at most %d are allowed", total,
                   DG_MAX_POINTS);
      return FALSE;
    }

  for (int s = 0; s < n_strokes; s++)
    for (int i = 0; i < strokes[s].n_points; i++)
      {
        const DgPoint *p = &strokes[s].points[i];
        if (!isfinite (p->x) || !isfinite (p->y) || isnan (p->pressure))
          {
            g_set_error (error, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_INVALID,
                         "point %d of stroke %d is not finite (%g, %g, pressure %g)", i + 1, s + 1,
                         p->x, p->y, p->pressure);
            return FALSE;
          }
      }

  *n_points = (int) total;
  return TRUE;
}

/* The longer side of the inked box (points widened by their pen radius)
 * at @scale, output pixels. */
static double
inked_extent (const DgStroke *strokes, int n_strokes, double scale, double pen_width)
{
  double x0 = G_MAXDOUBLE, x1 = -G_MAXDOUBLE, y0 = G_MAXDOUBLE, y1 = -G_MAXDOUBLE;
  for (int s = 0; s < n_strokes; s++)
    for (int i = 0; i < strokes[s].n_points; i++)
      {
        const DgPoint *p = &strokes[s].points[i];
        double r = point_radius (p, pen_width);
        x0 = MIN (x0, scale * p->x - r);
        x1 = MAX (x1, scale * p->x + r);
        y0 = MIN (y0, scale * p->y - r);
        y1 = MAX (y1, scale * p->y + r);
      }
  return MAX (x1 - x0, y1 - y0);
}

gboolean
dg_preprocess_strokes (const DgStroke *strokes, int n_strokes, double canvas_width,
                       double canvas_height, float out[DG_IMAGE_PIXELS], GError **error)
{
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  int n_points = 0;
  if (!validate_strokes (strokes, n_strokes, canvas_width, canvas_height, &n_points, error))
    return FALSE;
  if (n_points == 0)
    return nothing_to_read (error);

  /* Bounding box of the points themselves, canvas pixels. */
  double x0 = G_MAXDOUBLE, x1 = -G_MAXDOUBLE, y0 = G_MAXDOUBLE, y1 = -G_MAXDOUBLE;
  for (int s = 0; s < n_strokes; s++)
    for (int i = 0; i < strokes[s].n_points; i++)
      {
        const DgPoint *p = &strokes[s].points[i];
        x0 = MIN (x0, p->x);
        x1 = MAX (x1, p->x);
        y0 = MIN (y0, p->y);
        y1 = MAX (y1, p->y);
      }
  double extent = MAX (x1 - x0, y1 - y0);
  double min_extent
      = MAX (DG_MIN_EXTENT_FRACTION * MIN (canvas_width, canvas_height), DG_MIN_EXTENT_PIXELS);
  if (!(extent >= min_extent) || !isfinite (extent))
    return nothing_to_read (error);

  /* The scale at which the inked box, pen included, is DG_DIGIT_BOX long.
   * The pen's width is fixed in output pixels, so the inked extent grows
   * with the scale from 2 radii at 0 up past DG_DIGIT_BOX at
   * DG_DIGIT_BOX / extent: bisect. */
  double lo = 0.0, hi = DG_DIGIT_BOX / extent;
  for (int iter = 0; iter < 50; iter++)
    {
      double mid = 0.5 * (lo + hi);
      if (inked_extent (strokes, n_strokes, mid, DG_PEN_WIDTH) < DG_DIGIT_BOX)
        lo = mid;
      else
        hi = mid;
    }
  double scale = lo;

  /* First with the box centred, to find the centre of mass; then again with
   * the centre of mass on DG_DIGIT_CENTRE.  Rendering twice is exact where
   * shifting the pixels would blur them. */
  double offset_x = DG_DIGIT_CENTRE + 0.5 - scale * 0.5 * (x0 + x1);
  double offset_y = DG_DIGIT_CENTRE + 0.5 - scale * 0.5 * (y0 + y1);
  PenStrokes pen = pen_strokes_new (strokes, n_strokes, scale, DG_PEN_WIDTH);
  g_autofree guint8 *mask = g_new (guint8, MASK_SIDE * MASK_SIDE);
  render_pen (&pen, offset_x, offset_y, mask, out);

  double com_x, com_y;
  gboolean inked = dg_center_of_mass (out, SIDE, SIDE, &com_x, &com_y);
  if (inked)
    render_pen (&pen, offset_x + DG_DIGIT_CENTRE - com_x, offset_y + DG_DIGIT_CENTRE - com_y, mask,
                out);
  pen_strokes_clear (&pen);
  if (!inked)
    return nothing_to_read (error);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Thresholds and the background                                             */

int
dg_otsu_threshold (const guint32 histogram[256])
{
  g_return_val_if_fail (histogram != NULL, 0);

  double total = 0.0, sum = 0.0;
  int lowest = -1;
  for (int i = 0; i < 256; i++)
    {
      total += histogram[i];
      sum += (double) i * histogram[i];
      if (lowest < 0 && histogram[i] > 0)
        lowest = i;
    }
  if (total == 0.0)
    return 0;

  /* Between-class variance w0 w1 (mu1 - mu0)^2 for the split [0, t] | [t + 1, 255]. */
  double w0 = 0.0, sum0 = 0.0, best = -1.0;
  int first = lowest, last = lowest;
  for (int t = 0; t < 255; t++)
    {
      w0 += histogram[t];
      sum0 += (double) t * histogram[t];
      double w1 = total - w0;
      if (w0 == 0.0 || w1 == 0.0)
        continue;
      double mu0 = sum0 / w0, mu1 = (sum - sum0) / w1;
      double between = w0 * w1 * (mu1 - mu0) * (mu1 - mu0);
      if (between > best)
        {
          best = between;
          first = last = t;
        }
      else if (between == best && last == t - 1)
        last = t;
    }
  return (first + last) / 2;
}

/* @value, |value| < 4096, rounded to the nearest integer and clamped to
 * [-255, 255].  Shifted positive, truncation is floor; clamping after the
 * conversion, not before, keeps the loops around it vectorisable. */
static inline int
round_signed (float value)
{
  int q = (int) (value + 4096.5f) - 4096;
  q = q < -255 ? -255 : q;
  return q > 255 ? 255 : q;
}

/* Median of @values (n > 0), reordering them. */
static double
median_inplace (double *values, int n)
{
  /* Quickselect (Hoare), k = n / 2. */
  int k = n / 2, left = 0, right = n - 1;
  while (left < right)
    {
      double pivot = values[(left + right) / 2];
      int i = left, j = right;
      while (i <= j)
        {
          while (values[i] < pivot)
            i++;
          while (values[j] > pivot)
            j--;
          if (i <= j)
            {
              double t = values[i];
              values[i] = values[j];
              values[j] = t;
              i++;
              j--;
            }
        }
      if (k <= j)
        right = j;
      else if (k >= i)
        left = i;
      else
        break;
    }
  return values[k];
}

/* Solves the @m x @m system @a x = @b (a row-major) in place by Gaussian
 * elimination with partial pivoting.  FALSE when singular. */
static gboolean
solve_linear (double *a, double *b, int m)
{
  for (int col = 0; col < m; col++)
    {
      int pivot = col;
      for (int r = col + 1; r < m; r++)
        if (fabs (a[r * m + col]) > fabs (a[pivot * m + col]))
          pivot = r;
      if (fabs (a[pivot * m + col]) < 1e-12)
        return FALSE;
      if (pivot != col)
        {
          for (int c = 0; c < m; c++)
            {
              double t = a[col * m + c];
              a[col * m + c] = a[pivot * m + c];
              a[pivot * m + c] = t;
            }
          double t = b[col];
          b[col] = b[pivot];
          b[pivot] = t;
        }
      for (int r = col + 1; r < m; r++)
        {
          double f = a[r * m + col] / a[col * m + col];
          for (int c = col; c < m; c++)
            a[r * m + c] -= f * a[col * m + c];
          b[r] -= f * b[col];
        }
    }
  for (int r = m - 1; r >= 0; r--)
    {
      double s = b[r];
      for (int c = r + 1; c < m; c++)
        s -= a[r * m + c] * b[c];
      b[r] = s / a[r * m + r];
    }
  return TRUE;
}

/* The six quadratic terms at (u, v). */
static void
quadratic_terms (double u, double v, double terms[6])
{
  terms[0] = 1.0;
  terms[1] = u;
  terms[2] = v;
  terms[3] = u * u;
  terms[4] = u * v;
  terms[5] = v * v;
}

/* Fits c (6) to the @n samples (u, v, value) by iteratively reweighted least
 * squares with Tukey's biweight, using only the terms in @use (6). */
static void
fit_paper (const double *u, const double *v, const double *value, int n, const gboolean use[6],
           double c[6])
{
  double *residual = g_new (double, n);
  double *weight = g_new (double, n);

  /* Start from the median, which ignores a minority of ink outright. */
  memcpy (residual, value, sizeof (double) * n);
  memset (c, 0, sizeof (double) * 6);
  c[0] = median_inplace (residual, n);

  int idx[6], m = 0;
  for (int t = 0; t < 6; t++)
    if (use[t])
      idx[m++] = t;

  for (int iter = 0; iter < 10; iter++)
    {
      for (int i = 0; i < n; i++)
        {
          double terms[6], fit = 0.0;
          quadratic_terms (u[i], v[i], terms);
          for (int t = 0; t < 6; t++)
            fit += c[t] * terms[t];
          residual[i] = value[i] - fit;
          weight[i] = fabs (residual[i]);
        }
      /* Robust spread of the paper; at least half a grey level, since block
       * means of clean synthetic paper can agree exactly. */
      double sigma = MAX (1.4826 * median_inplace (weight, n), 0.5);
      double cutoff = 4.0 * sigma;

      double a[36] = { 0 }, b[6] = { 0 };
      for (int i = 0; i < n; i++)
        {
          double r = residual[i] / cutoff;
          if (fabs (r) >= 1.0)
            continue;
          double w = (1.0 - r * r) * (1.0 - r * r);
          double terms[6];
          quadratic_terms (u[i], v[i], terms);
          for (int p = 0; p < m; p++)
            {
              for (int q = 0; q < m; q++)
                a[p * m + q] += w * terms[idx[p]] * terms[idx[q]];
              b[p] += w * terms[idx[p]] * value[i];
            }
        }
      if (!solve_linear (a, b, m))
        break;
      memset (c, 0, sizeof (double) * 6);
      for (int p = 0; p < m; p++)
        c[idx[p]] = b[p];
    }

  g_free (residual);
  g_free (weight);
}

/* Paper level along row @y: coefficients (a, b, c) of a + b u + c u^2. */
static void
background_row (const DgBackground *bg, int height, int y, double row[3])
{
  double v = 2.0 * (y + 0.5) / height - 1.0;
  row[0] = bg->c[0] + bg->c[2] * v + bg->c[5] * v * v;
  row[1] = bg->c[1] + bg->c[4] * v;
  row[2] = bg->c[3];
}

/* Paper level of each pixel of row @y, clamped to [0, 255]: @paper (width);
 * @col_u (width) from column_u. */
static void
paper_row (const DgBackground *bg, int height, int y, const float *col_u, int width, float *paper)
{
  double r[3];
  background_row (bg, height, y, r);
  float a = (float) r[0], b = (float) r[1], c = (float) r[2];
  for (int x = 0; x < width; x++)
    paper[x] = clamp_float (a + (b + c * col_u[x]) * col_u[x], 0.0f, 255.0f);
}

/* u of each column: (width). */
static float *
column_u (int width)
{
  float *u = g_new (float, width);
  for (int x = 0; x < width; x++)
    u[x] = (float) (2.0 * (x + 0.5) / width - 1.0);
  return u;
}

double
dg_background_at (const DgBackground *background, int width, int height, double x, double y)
{
  g_return_val_if_fail (background != NULL && width > 0 && height > 0, 0.0);

  double terms[6], level = 0.0;
  quadratic_terms (2.0 * (x + 0.5) / width - 1.0, 2.0 * (y + 0.5) / height - 1.0, terms);
  for (int t = 0; t < 6; t++)
    level += background->c[t] * terms[t];
  return CLAMP (level, 0.0, 255.0);
}

/* Median and robust standard deviation (1.4826 x median absolute deviation)
 * of the values whose counts are @hist (n_bins), bin i standing for value
 * i - @zero. */
static void
histogram_median_spread (const guint64 *hist, int n_bins, int zero, double *median, double *spread)
{
  guint64 total = 0;
  for (int i = 0; i < n_bins; i++)
    total += hist[i];

  int med = 0;
  guint64 acc = 0;
  for (med = 0; med < n_bins; med++)
    {
      acc += hist[med];
      if (2 * acc >= total)
        break;
    }
  med = MIN (med, n_bins - 1);

  /* Grow the window [med - d, med + d] until it holds half the values. */
  acc = hist[med];
  int d = 0;
  while (2 * acc < total && d < n_bins)
    {
      d++;
      if (med - d >= 0)
        acc += hist[med - d];
      if (med + d < n_bins)
        acc += hist[med + d];
    }
  *median = med - zero;
  *spread = 1.4826 * d;
}

void
dg_estimate_background (const guint8 *grey, int width, int height, int stride,
                        DgBackground *background)
{
  g_return_if_fail (grey != NULL && background != NULL);
  g_return_if_fail (width > 0 && height > 0 && stride >= width);

  /* Block medians: (blocks_y, blocks_x), each block k x k pixels (fewer at
   * the right and bottom edges).  A median, not a mean: where the digits
   * fill much of a small field, most blocks hold some ink, and their means
   * would drag the paper's fit towards the ink (a tightly written amount
   * 40 pixels high on a 390 x 123 field read as nothing at all). */
  int k = MAX (1, (MAX (width, height) + BG_BLOCKS - 1) / BG_BLOCKS);
  int blocks_x = (width + k - 1) / k, blocks_y = (height + k - 1) / k;
  int n = blocks_x * blocks_y;
  double *medians = g_new (double, n), *u = g_new (double, n), *v = g_new (double, n);
  guint32 *block_hist = g_new (guint32, (gsize) blocks_x * 256);

  for (int by = 0; by < blocks_y; by++)
    {
      int y0 = by * k, y1 = MIN (height, y0 + k);
      memset (block_hist, 0, sizeof (guint32) * blocks_x * 256);
      for (int y = y0; y < y1; y++)
        {
          const guint8 *row = grey + (gsize) y * stride;
          for (int bx = 0; bx < blocks_x; bx++)
            {
              guint32 *hist = block_hist + bx * 256;
              for (int x = bx * k; x < MIN (width, (bx + 1) * k); x++)
                hist[row[x]]++;
            }
        }
      for (int bx = 0; bx < blocks_x; bx++)
        {
          int x0 = bx * k, x1 = MIN (width, x0 + k);
          int i = by * blocks_x + bx;
          guint32 half = (guint32) ((x1 - x0) * (y1 - y0) + 1) / 2, acc = 0;
          int level = 0;
          while ((acc += block_hist[bx * 256 + level]) < half)
            level++;
          medians[i] = level;
          /* Block centre, index coordinates, then mapped to [-1, 1]. */
          u[i] = 2.0 * (0.5 * (x0 + x1 - 1) + 0.5) / width - 1.0;
          v[i] = 2.0 * (0.5 * (y0 + y1 - 1) + 0.5) / height - 1.0;
        }
    }
  g_free (block_hist);

  /* A curve along an axis needs enough blocks along it. */
  gboolean along_x = blocks_x >= BG_MIN_AXIS, along_y = blocks_y >= BG_MIN_AXIS;
  gboolean use[6] = { TRUE, along_x, along_y, along_x, along_x && along_y, along_y };
  memset (background, 0, sizeof *background);
  fit_paper (u, v, medians, n, use, background->c);
  g_free (medians);
  g_free (u);
  g_free (v);

  /* Full resolution: the histogram of grey - paper, -255 .. 255. */
  guint64 *hist = g_new0 (guint64, 511);
  float *col_u = column_u (width);
  float *paper = g_new (float, width);
  int *bins = g_new (int, width);
  for (int y = 0; y < height; y++)
    {
      paper_row (background, height, y, col_u, width, paper);
      const guint8 *row = grey + (gsize) y * stride;
      for (int x = 0; x < width; x++)
        bins[x] = round_signed (row[x] - paper[x]) + 255;
      for (int x = 0; x < width; x++)
        hist[bins[x]]++;
    }
  g_free (bins);
  g_free (paper);
  g_free (col_u);

  double median, spread;
  histogram_median_spread (hist, 511, 255, &median, &spread);
  background->noise = spread;

  /* Ink is the far tail: beyond 4 noise deviations and 8 grey levels.  The
   * side with more of it, weighted by distance, is the ink's. */
  double bound = MAX (4.0 * spread, 8.0);
  double dark = 0.0, light = 0.0;
  for (int i = 0; i < 511; i++)
    {
      double d = (i - 255) - median;
      if (d < -bound)
        dark += -d * hist[i];
      else if (d > bound)
        light += d * hist[i];
    }
  background->polarity = light > dark ? DG_POLARITY_LIGHT_INK : DG_POLARITY_DARK_INK;
  g_free (hist);
}

/* ------------------------------------------------------------------------ */
/* Stroke width                                                              */

/* Stroke width of an ink image, pixels: twice the ink's mass over its total
 * variation (area over half the perimeter), which blur hardly changes. */
static double
stroke_width (const float *ink, int width, int height)
{
  double mass = 0.0, variation = 0.0;

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        float v = ink[y * width + x];
        float right = x + 1 < width ? ink[y * width + x + 1] : 0.0f;
        float below = y + 1 < height ? ink[(y + 1) * width + x] : 0.0f;
        mass += v;
        variation += fabsf (v - right) + fabsf (v - below);
      }
  /* Edges at the left and top border, which the loop does not see. */
  for (int y = 0; y < height; y++)
    variation += ink[y * width];
  for (int x = 0; x < width; x++)
    variation += ink[x];
  return variation > 0.0 ? 4.0 * mass / variation : 0.0;
}

/* Squared distances along one line to the nearest set sample (Felzenszwalb
 * and Huttenlocher's lower envelope of parabolas): f (n) in, d (n) out. */
static void
distance_line (const float *f, float *d, int n, int *v, float *z)
{
  int k = 0;
  v[0] = 0;
  z[0] = -G_MAXFLOAT;
  z[1] = G_MAXFLOAT;
  for (int q = 1; q < n; q++)
    {
      float s;
      for (;;)
        {
          int p = v[k];
          s = ((f[q] + (float) q * q) - (f[p] + (float) p * p)) / (2.0f * (q - p));
          if (s > z[k] || k == 0)
            break;
          k--;
        }
      if (s <= z[k])
        {
          /* only when k == 0 and the new parabola wins everywhere */
          v[0] = q;
          z[1] = G_MAXFLOAT;
          continue;
        }
      k++;
      v[k] = q;
      z[k] = s;
      z[k + 1] = G_MAXFLOAT;
    }
  k = 0;
  for (int q = 0; q < n; q++)
    {
      while (z[k + 1] < q)
        k++;
      float dq = (float) (q - v[k]);
      d[q] = dq * dq + f[v[k]];
    }
}

/* Thin ink (a pen line on a big page) would reach the network far thinner
 * than MNIST's strokes, and read as a "1".  Where the strokes would come out
 * under MIN_OUTPUT_WIDTH after scaling the digit to DG_DIGIT_BOX, widen them
 * to about DG_PEN_WIDTH: every pixel within the extra radius of the ink
 * becomes ink, with an anti-aliased edge (exact Euclidean distances). */
#define MIN_OUTPUT_WIDTH 1.8

static void
thicken_thin_strokes (float *ink, int width, int height)
{
  float strongest = 0.0f;
  DgBox box;

  for (gsize i = 0; i < (gsize) width * height; i++)
    strongest = MAX (strongest, ink[i]);
  if (!(strongest > 0.0f) || !dg_ink_bbox (ink, width, height, 0.5f * strongest, &box))
    return;
  double scale = DG_DIGIT_BOX / MAX (box.width, box.height);
  double out_width = stroke_width (ink, width, height) / strongest * scale;
  if (out_width >= MIN_OUTPUT_WIDTH)
    return;
  float radius = (float) ((DG_PEN_WIDTH - out_width) / (2.0 * scale));

  int n = MAX (width, height);
  float *f = g_new (float, (gsize) width * height);
  float *line = g_new (float, n), *d = g_new (float, n), *z = g_new (float, n + 1);
  int *v = g_new (int, n);
  const float far = (float) width * width + (float) height * height;

  for (gsize i = 0; i < (gsize) width * height; i++)
    f[i] = ink[i] >= 0.5f * strongest ? 0.0f : far;
  for (int x = 0; x < width; x++)
    {
      for (int y = 0; y < height; y++)
        line[y] = f[y * width + x];
      distance_line (line, d, height, v, z);
      for (int y = 0; y < height; y++)
        f[y * width + x] = d[y];
    }
  for (int y = 0; y < height; y++)
    {
      distance_line (f + (gsize) y * width, d, width, v, z);
      for (int x = 0; x < width; x++)
        {
          float cover = CLAMP (radius + 0.5f - sqrtf (d[x]), 0.0f, 1.0f) * strongest;
          ink[y * width + x] = MAX (ink[y * width + x], cover);
        }
    }
  g_free (f);
  g_free (line);
  g_free (d);
  g_free (z);
  g_free (v);
}

/* ------------------------------------------------------------------------ */
/* Grey images                                                               */

/* A horizontal run of ink pixels [x0, x1) on row y, and its union-find parent. */
typedef struct
{
  int y, x0, x1;
  int parent;
} Run;

static int
run_root (Run *runs, int i)
{
  while (runs[i].parent != i)
    {
      runs[i].parent = runs[runs[i].parent].parent;
      i = runs[i].parent;
    }
  return i;
}

static void
run_union (Run *runs, int a, int b)
{
  a = run_root (runs, a);
  b = run_root (runs, b);
  if (a < b)
    runs[b].parent = a;
  else if (b < a)
    runs[a].parent = b;
}

/* Runs of @contrast (height, width) > @threshold, joined into 8-connected
 * components.  NULL when there are more than MAX_RUNS. */
static GArray *
find_runs (const guint8 *contrast, int width, int height, int threshold)
{
  GArray *runs = g_array_new (FALSE, FALSE, sizeof (Run));
  int prev_start = 0, prev_end = 0;

  for (int y = 0; y < height; y++)
    {
      const guint8 *row = contrast + (gsize) y * width;
      int start = runs->len;
      for (int x = 0; x < width;)
        {
          if (row[x] <= threshold)
            {
              x++;
              continue;
            }
          int x0 = x;
          while (x < width && row[x] > threshold)
            x++;
          if (runs->len >= MAX_RUNS)
            {
              g_array_free (runs, TRUE);
              return NULL;
            }
          Run run = { y, x0, x, runs->len };
          g_array_append_val (runs, run);
        }
      int end = runs->len;

      /* Join with the runs of the row above that touch, diagonals included. */
      Run *r = (Run *) runs->data;
      int i = prev_start, j = start;
      while (i < prev_end && j < end)
        {
          if (r[i].x1 < r[j].x0)
            i++;
          else if (r[j].x1 < r[i].x0)
            j++;
          else
            {
              run_union (r, i, j);
              if (r[i].x1 < r[j].x1)
                i++;
              else
                j++;
            }
        }
      prev_start = start;
      prev_end = end;
    }
  return runs;
}

typedef struct
{
  gint64 area;
  int x0, y0, x1, y1; /* inclusive */
} Component;

/* Marks in @keep (n_runs) the runs of the digit: the largest component and
 * those near it that are not specks beside it.  Returns the kept box. */
static DgBox
keep_main_ink (Run *runs, int n_runs, gboolean *keep)
{
  Component *comp = g_new (Component, n_runs);
  int *root = g_new (int, n_runs);
  for (int i = 0; i < n_runs; i++)
    comp[i] = (Component) { 0, G_MAXINT, G_MAXINT, -1, -1 };

  int largest = 0;
  for (int i = 0; i < n_runs; i++)
    {
      root[i] = run_root (runs, i);
      Component *c = &comp[root[i]];
      c->area += runs[i].x1 - runs[i].x0;
      c->x0 = MIN (c->x0, runs[i].x0);
      c->x1 = MAX (c->x1, runs[i].x1 - 1);
      c->y0 = MIN (c->y0, runs[i].y);
      c->y1 = MAX (c->y1, runs[i].y);
      if (c->area > comp[largest].area)
        largest = root[i];
    }

  /* Keep pieces of at least 5% of the main one's area whose boxes come
   * within 60% of its longer side: the bar of a 5, a broken stroke. */
  const Component *main = &comp[largest];
  int reach = (int) (0.6 * MAX (main->x1 - main->x0 + 1, main->y1 - main->y0 + 1));
  gint64 min_area = MAX (2, main->area / 20);
  int x0 = G_MAXINT, y0 = G_MAXINT, x1 = -1, y1 = -1;
  for (int i = 0; i < n_runs; i++)
    {
      const Component *c = &comp[root[i]];
      keep[i] = root[i] == largest
                || (c->area >= min_area && c->x1 >= main->x0 - reach && c->x0 <= main->x1 + reach
                    && c->y1 >= main->y0 - reach && c->y0 <= main->y1 + reach);
      if (keep[i])
        {
          x0 = MIN (x0, runs[i].x0);
          x1 = MAX (x1, runs[i].x1 - 1);
          y0 = MIN (y0, runs[i].y);
          y1 = MAX (y1, runs[i].y);
        }
    }
  g_free (comp);
  g_free (root);
  return (DgBox) { x0, y0, x1 - x0 + 1, y1 - y0 + 1 };
}

/* One line of dilate: dst[i] = any of src[i - radius .. i + radius], the
 * elements @step apart, by a running count of set elements in the window. */
static void
dilate_line (const guint8 *src, guint8 *dst, int n, int step, int radius)
{
  int count = 0;
  for (int i = 0; i < MIN (radius, n); i++)
    count += src[i * step] != 0;
  for (int i = 0; i < n; i++)
    {
      if (i + radius < n)
        count += src[(i + radius) * step] != 0;
      if (i - radius - 1 >= 0)
        count -= src[(i - radius - 1) * step] != 0;
      dst[i * step] = count > 0;
    }
}

/* Grows @kept (height, width; 1 = the digit's) into every cell of @ink
 * (the same cells' mean ink, 0 .. 1) of FAINT_INK or more that a chain of
 * such cells joins to it: the faint part of a stroke, under the threshold
 * that found the digit's ink, is the digit's too (a 9 whose loop was drawn
 * lightly read as a 7 without it).  Other ink was taken out of @ink
 * before, so that a neighbour's faint strokes are not reached. */
static void
keep_faint_strokes (guint8 *kept, const float *ink, int width, int height)
{
  gsize n = (gsize) width * height;
  int *queue = g_new (int, n);
  gsize head = 0, tail = 0;
  for (gsize i = 0; i < n; i++)
    if (kept[i])
      queue[tail++] = (int) i;
  while (head < tail)
    {
      int i = queue[head++], x = i % width, y = i / width;
      for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++)
          {
            int xx = x + dx, yy = y + dy;
            if (xx < 0 || xx >= width || yy < 0 || yy >= height)
              continue;
            int j = yy * width + xx;
            if (!kept[j] && ink[j] >= FAINT_INK)
              {
                kept[j] = 1;
                queue[tail++] = j;
              }
          }
    }
  g_free (queue);
}

/* Max filter over a square of side 2 @radius + 1 on @mask (height, width),
 * in place. */
static void
dilate (guint8 *mask, int width, int height, int radius)
{
  guint8 *copy = g_new (guint8, (gsize) width * height);
  for (int y = 0; y < height; y++)
    dilate_line (mask + y * width, copy + y * width, width, 1, radius);
  for (int x = 0; x < width; x++)
    dilate_line (copy + x, mask + x, height, width, radius);
  g_free (copy);
}

gboolean
dg_contrast_init (DgContrast *c, const guint8 *grey, int width, int height, int stride,
                  GError **error)
{
  g_return_val_if_fail (c != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (c, 0, sizeof *c);
  if (width <= 0 || height <= 0)
    {
      g_set_error (error, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_INVALID,
                   "image is %d×%d pixels; both sides must be positive", width, height);
      return FALSE;
    }
  if ((gint64) width * height > DG_MAX_IMAGE_PIXELS || width > DG_MAX_IMAGE_SIDE
      || height > DG_MAX_IMAGE_SIDE)
    {
      g_set_error (error, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_TOO_LARGE,
                   "image is %d×%d pixels; at most %d megapixels and %d pixels a side can be "
                   "read, scale it down or crop it to the digit",
                   width, height, DG_MAX_IMAGE_PIXELS / (1024 * 1024), DG_MAX_IMAGE_SIDE);
      return FALSE;
    }
  if (stride < width)
    {
      g_set_error (error, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_INVALID,
                   "image rows are %d bytes apart but %d pixels wide", stride, width);
      return FALSE;
    }
  if (grey == NULL)
    {
      g_set_error_literal (error, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_INVALID,
                           "image has no pixel data");
      return FALSE;
    }

  DgBackground bg;
  dg_estimate_background (grey, width, height, stride, &bg);
  gboolean dark_ink = bg.polarity == DG_POLARITY_DARK_INK;

  /* Contrast: how far each pixel departs from the paper towards the ink.
   * Dark ink: the fraction of the paper's light it absorbs, (paper - grey)
   * / paper, which divides out uneven lighting.  Light ink: (grey - paper)
   * / (255 - paper), the same with black and white swapped.  Stored as
   * bytes, 255 = 1.0, with the signed values' histogram for the paper's
   * own spread. */
  guint8 *contrast = g_new (guint8, (gsize) width * height);
  guint64 signed_hist[511] = { 0 };
  float *col_u = column_u (width);
  float *paper_grey = g_new (float, width), *gain = g_new (float, width);
  int *bins = g_new (int, width);
  /* towards = +1 for dark ink, -1 for light; white = 0 or 255. */
  float towards = dark_ink ? 1.0f : -1.0f, white = dark_ink ? 0.0f : 255.0f;
  for (int y = 0; y < height; y++)
    {
      paper_row (&bg, height, y, col_u, width, paper_grey);
      for (int x = 0; x < width; x++)
        gain[x] = 255.0f * towards / MAX (white + towards * paper_grey[x], 16.0f);
      const guint8 *row = grey + (gsize) y * stride;
      for (int x = 0; x < width; x++)
        bins[x] = round_signed ((paper_grey[x] - row[x]) * gain[x]);
      guint8 *out_row = contrast + (gsize) y * width;
      for (int x = 0; x < width; x++)
        {
          signed_hist[bins[x] + 255]++;
          out_row[x] = (guint8) MAX (bins[x], 0);
        }
    }
  g_free (bins);
  g_free (gain);
  g_free (paper_grey);
  g_free (col_u);

  /* The paper's level and spread, 1/255 units; at least 2, as clean
   * synthetic paper has none and a JPEG's faintest artefacts are not ink. */
  double paper, spread;
  histogram_median_spread (signed_hist, 511, 255, &paper, &spread);
  spread = MAX (spread, 2.0);

  /* Candidates for ink stand clear of the paper's noise; their strong end
   * (95th percentile) is the ink's level.  Ink must stand out from the
   * noise far more than noise does from itself: pure noise fails here. */
  double candidate = paper + MAX (4.0 * spread, 10.0);
  guint64 n_candidates = 0;
  for (int q = 255; q >= 0 && q > candidate; q--)
    n_candidates += signed_hist[q + 255];
  double ink_level = 0.0;
  guint64 acc = 0;
  for (int q = 255; q >= 0 && q > candidate; q--)
    {
      acc += signed_hist[q + 255];
      if (20 * acc >= n_candidates)
        {
          ink_level = q;
          break;
        }
    }
  if (n_candidates == 0 || ink_level - paper < MAX (6.0 * spread, 30.0))
    {
      g_free (contrast);
      return nothing_to_read (error);
    }

  /* Otsu on the contrast, kept between 30% and 70% of the way from paper to
   * ink (Otsu drifts into the paper when the ink is a tiny part of a page)
   * and clear of the noise. */
  guint32 hist[256] = { 0 };
  for (int q = -255; q <= 255; q++)
    hist[MAX (q, 0)] += (guint32) signed_hist[q + 255]; /* at most 64 Mi pixels */
  double lower = paper + MAX (4.0 * spread, 0.3 * (ink_level - paper));
  double upper = MAX (lower, paper + 0.7 * (ink_level - paper));

  c->width = width;
  c->height = height;
  c->contrast = contrast;
  c->background = bg;
  c->paper = paper;
  c->spread = spread;
  c->ink_level = ink_level;
  c->threshold = (int) CLAMP ((double) dg_otsu_threshold (hist), lower, upper);
  return TRUE;
}

void
dg_contrast_clear (DgContrast *c)
{
  g_return_if_fail (c != NULL);
  g_clear_pointer (&c->contrast, g_free);
}

/* Index of the first run of @runs (n, sorted by row) on row @y or below. */
static int
first_run_at_row (const DgRun *runs, int n, int y)
{
  int lo = 0, hi = n;
  while (lo < hi)
    {
      int mid = lo + (hi - lo) / 2;
      if (runs[mid].y < y)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

static gboolean
preprocess_runs (const DgContrast *c, const DgRun *ink, int n_ink, const DgRun *other,
                 int n_other, gboolean pair, float out[DG_IMAGE_PIXELS], GError **error)
{
  g_return_val_if_fail (c != NULL && c->contrast != NULL && out != NULL, FALSE);
  g_return_val_if_fail (n_ink >= 0 && (ink != NULL || n_ink == 0), FALSE);
  g_return_val_if_fail (n_other >= 0 && (other != NULL || n_other == 0), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  int width = c->width, height = c->height;
  const guint8 *contrast = c->contrast;
  int x0 = G_MAXINT, y0 = G_MAXINT, x1 = -1, y1 = -1;
  for (int i = 0; i < n_ink; i++)
    if (ink[i].x1 > ink[i].x0)
      {
        g_return_val_if_fail (ink[i].y >= 0 && ink[i].y < height && ink[i].x0 >= 0
                                  && ink[i].x1 <= width, FALSE);
        x0 = MIN (x0, ink[i].x0);
        x1 = MAX (x1, ink[i].x1 - 1);
        y0 = MIN (y0, ink[i].y);
        y1 = MAX (y1, ink[i].y);
      }
  if (x1 < 0)
    return nothing_to_read (error);
  DgBox box = { x0, y0, x1 - x0 + 1, y1 - y0 + 1 };
  int longer = MAX (box.width, box.height);

  /* Stretch: the noise floor to 0, the digit's 95th percentile to 1. */
  guint64 kept_hist[256] = { 0 }, n_kept = 0, acc = 0;
  for (int i = 0; i < n_ink; i++)
    for (int x = ink[i].x0; x < ink[i].x1; x++)
      {
        kept_hist[contrast[(gsize) ink[i].y * width + x]]++;
        n_kept++;
      }
  double strong = 255.0;
  for (int q = 255; q >= 0; q--)
    {
      acc += kept_hist[q];
      if (20 * acc >= n_kept)
        {
          strong = q;
          break;
        }
    }
  double floor_level = MAX (c->paper + 2.0 * c->spread, 0.0);
  strong = MAX (strong, floor_level + 1.0);
  float stretch[256];
  for (int q = 0; q < 256; q++)
    stretch[q] = (float) CLAMP ((q - floor_level) / (strong - floor_level), 0.0, 1.0);

  /* Crop to the digit plus a margin for its soft edges, averaged down by
   * @f when large.  Cells away from the digit, unless its faint strokes
   * reach them (keep_faint_strokes), are paper: specks and noise there are
   * dropped. */
  int margin = 1 + longer / 25;
  int crop_x0 = MAX (0, box.x - margin), crop_y0 = MAX (0, box.y - margin);
  int crop_x1 = MIN (width, box.x + box.width + margin);
  int crop_y1 = MIN (height, box.y + box.height + margin);
  int crop_w = crop_x1 - crop_x0, crop_h = crop_y1 - crop_y0;
  int f = MAX (1, (MAX (crop_w, crop_h) + CROP_MAX - 1) / CROP_MAX);
  int cells_w = (crop_w + f - 1) / f, cells_h = (crop_h + f - 1) / f;

  guint8 *kept_cells = g_new0 (guint8, (gsize) cells_w * cells_h);
  for (int i = 0; i < n_ink; i++)
    if (ink[i].x1 > ink[i].x0)
      {
        int cy = (ink[i].y - crop_y0) / f;
        for (int cx = (ink[i].x0 - crop_x0) / f; cx <= (ink[i].x1 - 1 - crop_x0) / f; cx++)
          kept_cells[cy * cells_w + cx] = 1;
      }
  dilate (kept_cells, cells_w, cells_h, MAX (1, (margin + f - 1) / f));

  /* Other ink in the crop, and the paper within the margin of it, is not
   * this digit's: (crop_h, crop_w), 1 = leave out.  The digit's own ink is
   * never left out. */
  guint8 *excluded = NULL;
  if (n_other > 0)
    {
      gboolean any = FALSE;
      excluded = g_new0 (guint8, (gsize) crop_w * crop_h);
      for (int i = first_run_at_row (other, n_other, crop_y0); i < n_other && other[i].y < crop_y1; i++)
        {
          int a = MAX (other[i].x0, crop_x0), b = MIN (other[i].x1, crop_x1);
          if (a < b)
            {
              memset (excluded + (gsize) (other[i].y - crop_y0) * crop_w + (a - crop_x0), 1, b - a);
              any = TRUE;
            }
        }
      for (int i = 0; any && i < n_ink; i++)
        if (ink[i].x1 > ink[i].x0)
          memset (excluded + (gsize) (ink[i].y - crop_y0) * crop_w + (ink[i].x0 - crop_x0), 0,
                  ink[i].x1 - ink[i].x0);
      if (any)
        {
          dilate (excluded, crop_w, crop_h, margin);
          for (int i = 0; i < n_ink; i++)
            if (ink[i].x1 > ink[i].x0)
              memset (excluded + (gsize) (ink[i].y - crop_y0) * crop_w + (ink[i].x0 - crop_x0), 0,
                      ink[i].x1 - ink[i].x0);
        }
      else
        g_clear_pointer (&excluded, g_free);
    }

  float *cells_ink = g_new0 (float, (gsize) cells_w * cells_h);
  int *cell_of = g_new (int, crop_w);
  for (int x = 0; x < crop_w; x++)
    cell_of[x] = x / f;
  for (int y = crop_y0; y < crop_y1; y++)
    {
      const guint8 *row = contrast + (gsize) y * width + crop_x0;
      float *cells = cells_ink + ((y - crop_y0) / f) * cells_w;
      if (excluded != NULL)
        {
          const guint8 *skip = excluded + (gsize) (y - crop_y0) * crop_w;
          for (int x = 0; x < crop_w; x++)
            cells[cell_of[x]] += skip[x] ? 0.0f : stretch[row[x]];
        }
      else
        for (int x = 0; x < crop_w; x++)
          cells[cell_of[x]] += stretch[row[x]];
    }
  g_free (cell_of);
  g_free (excluded);
  for (int cy = 0; cy < cells_h; cy++)
    for (int cx = 0; cx < cells_w; cx++)
      {
        int i = cy * cells_w + cx;
        int pixels = (MIN (crop_w, (cx + 1) * f) - cx * f) * (MIN (crop_h, (cy + 1) * f) - cy * f);
        cells_ink[i] /= pixels;
      }
  keep_faint_strokes (kept_cells, cells_ink, cells_w, cells_h);
  for (gsize i = 0; i < (gsize) cells_w * cells_h; i++)
    if (!kept_cells[i])
      cells_ink[i] = 0.0f;

  thicken_thin_strokes (cells_ink, cells_w, cells_h);
  gboolean ok = pair ? normalize_pair (cells_ink, cells_w, cells_h, out, error)
                     : dg_normalize_ink (cells_ink, cells_w, cells_h, out, error);

  g_free (cells_ink);
  g_free (kept_cells);
  return ok;
}

gboolean
dg_preprocess_runs (const DgContrast *c, const DgRun *ink, int n_ink, const DgRun *other,
                    int n_other, float out[DG_IMAGE_PIXELS], GError **error)
{
  return preprocess_runs (c, ink, n_ink, other, n_other, FALSE, out, error);
}

gboolean
dg_preprocess_pair (const DgContrast *c, const DgRun *ink, int n_ink, const DgRun *other,
                    int n_other, float out[2 * DG_IMAGE_PIXELS], GError **error)
{
  if (!preprocess_runs (c, ink, n_ink, other, n_other, TRUE, out, error))
    return FALSE;
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++)
      out[DG_IMAGE_PIXELS + y * SIDE + x] = out[y * SIDE + SIDE - 1 - x];
  return TRUE;
}

gboolean
dg_preprocess_grey (const guint8 *grey, int width, int height, int stride,
                    float out[DG_IMAGE_PIXELS], GError **error)
{
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  DgContrast c;
  if (!dg_contrast_init (&c, grey, width, height, stride, error))
    return FALSE;

  GArray *run_array = find_runs (c.contrast, width, height, c.threshold);
  if (run_array == NULL || run_array->len == 0)
    {
      if (run_array != NULL)
        g_array_free (run_array, TRUE);
      dg_contrast_clear (&c);
      return nothing_to_read (error);
    }
  Run *runs = (Run *) run_array->data;
  int n_runs = run_array->len;
  gboolean *keep = g_new (gboolean, n_runs);
  DgBox box = keep_main_ink (runs, n_runs, keep);

  gboolean ok = FALSE;
  int longer = MAX (box.width, box.height);
  if (longer < MAX (MIN_IMAGE_EXTENT_FRACTION * MIN (width, height), DG_MIN_EXTENT_PIXELS))
    nothing_to_read (error);
  else
    {
      DgRun *kept = g_new (DgRun, n_runs);
      int n_kept = 0;
      for (int i = 0; i < n_runs; i++)
        if (keep[i])
          kept[n_kept++] = (DgRun) { runs[i].y, runs[i].x0, runs[i].x1 };
      ok = dg_preprocess_runs (&c, kept, n_kept, NULL, 0, out, error);
      g_free (kept);
    }

  g_free (keep);
  g_array_free (run_array, TRUE);
  dg_contrast_clear (&c);
  return ok;
}
