/* test-preprocess.c: each step on hand-made input, then whole drawings and
 * real MNIST digits drawn back at other sizes, offsets and polarities. */
#include "dg-idx.h"
#include "dg-preprocess.h"

#include <math.h>
#include <string.h>

#define SIDE DG_IMAGE_SIDE

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static double
total (const float *image, int n)
{
  double sum = 0.0;
  for (int i = 0; i < n; i++)
    sum += image[i];
  return sum;
}

/* Pearson correlation of two (28, 28) images. */
static double
correlation (const float *a, const float *b)
{
  double ma = total (a, DG_IMAGE_PIXELS) / DG_IMAGE_PIXELS;
  double mb = total (b, DG_IMAGE_PIXELS) / DG_IMAGE_PIXELS;
  double ab = 0.0, aa = 0.0, bb = 0.0;
  for (int i = 0; i < DG_IMAGE_PIXELS; i++)
    {
      ab += (a[i] - ma) * (b[i] - mb);
      aa += (a[i] - ma) * (a[i] - ma);
      bb += (b[i] - mb) * (b[i] - mb);
    }
  return ab / sqrt (aa * bb);
}

static void
assert_center (const float *image, double tolerance)
{
  double x, y;
  g_assert_true (dg_center_of_mass (image, SIDE, SIDE, &x, &y));
  g_assert_cmpfloat_with_epsilon (x, DG_DIGIT_CENTRE, tolerance);
  g_assert_cmpfloat_with_epsilon (y, DG_DIGIT_CENTRE, tolerance);
}

/* The first few MNIST test digits as floats (n, 28, 28), ink 1.0.  Fails
 * the test (and returns NULL) when DIGITS_MNIST_DIR is not usable. */
static float *
load_mnist_digits (int n)
{
  const char *dir = g_getenv ("DIGITS_MNIST_DIR");
  if (dir == NULL || dir[0] == '\0')
    {
      g_test_fail_printf ("DIGITS_MNIST_DIR is unset; set it to the directory printed by "
                          "tools/fetch-mnist (tools/test does this) so preprocessing can be "
                          "checked on real digits");
      return NULL;
    }
  g_autoptr (DgIdx) images = NULL;
  g_autoptr (DgIdx) label_idx = NULL;
  g_autoptr (GError) error = NULL;
  if (!dg_mnist_load (dir, "t10k", &images, &label_idx, &error))
    {
      g_test_fail_printf ("cannot load MNIST from DIGITS_MNIST_DIR: %s", error->message);
      return NULL;
    }
  float *digits = g_new (float, (gsize) n * DG_IMAGE_PIXELS);
  for (int i = 0; i < n * DG_IMAGE_PIXELS; i++)
    digits[i] = images->data[i] / 255.0f;
  return digits;
}

/* A grey page (height, width) showing @digit (28, 28) enlarged @zoom times
 * (bilinear between pixel centres) with its top-left at (@left, @top):
 * paper brightening from 150 on the left to 240 on the right, ink 90% of
 * the way to black (or, @light_ink, dark paper 20..70 and ink at 230), plus
 * Gaussian noise of 4 grey levels. */
static guint8 *
draw_digit_page (const float *digit, int width, int height, int zoom, int left, int top,
                 gboolean light_ink, guint32 seed)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  guint8 *page = g_new (guint8, (gsize) width * height);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        double t = (double) x / (width - 1);
        double paper = light_ink ? 20.0 + 50.0 * t : 150.0 + 90.0 * t;
        double ink_grey = light_ink ? 230.0 : 0.1 * paper;

        /* Source position in the digit, index coordinates. */
        double sx = (x - left + 0.5) / zoom - 0.5, sy = (y - top + 0.5) / zoom - 0.5;
        int x0 = (int) floor (sx), y0 = (int) floor (sy);
        double fx = sx - x0, fy = sy - y0, ink = 0.0;
        for (int j = 0; j < 2; j++)
          for (int i = 0; i < 2; i++)
            if (x0 + i >= 0 && x0 + i < SIDE && y0 + j >= 0 && y0 + j < SIDE)
              ink += digit[(y0 + j) * SIDE + x0 + i] * (i ? fx : 1 - fx) * (j ? fy : 1 - fy);

        /* Box-Muller. */
        double u1 = g_rand_double_range (rand, 1e-12, 1.0), u2 = g_rand_double (rand);
        double noise = 4.0 * sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
        double value = paper + ink * (ink_grey - paper) + noise;
        page[(gsize) y * width + x] = (guint8) CLAMP (lrint (value), 0, 255);
      }
  return page;
}

/* Points along the quadratic Bezier curves @curves (n, 3 control points),
 * mapped by p * @zoom + (@dx, @dy) and rounded to whole canvas pixels as a
 * mouse reports them, one every 3 canvas pixels or so: a larger drawing has
 * more points, like a real one. */
static void
add_curves (GArray *points, const float (*curves)[3][2], int n, double zoom, double dx, double dy)
{
  for (int c = 0; c < n; c++)
    {
      const float (*q)[2] = curves[c];
      double len = zoom
                   * (hypot (q[1][0] - q[0][0], q[1][1] - q[0][1])
                      + hypot (q[2][0] - q[1][0], q[2][1] - q[1][1]));
      int parts = MAX (1, (int) ceil (len / 3.0));
      for (int k = (c == 0 ? 0 : 1); k <= parts; k++)
        {
          double t = (double) k / parts, a = (1 - t) * (1 - t), b = 2 * t * (1 - t), e = t * t;
          double x = a * q[0][0] + b * q[1][0] + e * q[2][0];
          double y = a * q[0][1] + b * q[1][1] + e * q[2][1];
          DgPoint p = { (float) round (x * zoom + dx), (float) round (y * zoom + dy), -1.0f };
          g_array_append_val (points, p);
        }
    }
}

/* A hand-written 7 in a 100 x 100 box: a bar, a bowed diagonal, a cross bar. */
static const float seven_stroke[][3][2] = {
  { { 14, 12 }, { 45, 4 }, { 82, 8 } },
  { { 82, 8 }, { 55, 45 }, { 44, 96 } },
};
static const float seven_bar[][3][2] = { { { 38, 54 }, { 58, 50 }, { 78, 52 } } };

/* Preprocesses the 7 drawn @zoom times the box size at (@dx, @dy) on a
 * @canvas_width x @canvas_height canvas. */
static void
preprocess_seven (double zoom, double dx, double dy, double canvas_width, double canvas_height,
                  float out[DG_IMAGE_PIXELS])
{
  g_autoptr (GArray) first = g_array_new (FALSE, FALSE, sizeof (DgPoint));
  g_autoptr (GArray) second = g_array_new (FALSE, FALSE, sizeof (DgPoint));
  add_curves (first, seven_stroke, G_N_ELEMENTS (seven_stroke), zoom, dx, dy);
  add_curves (second, seven_bar, G_N_ELEMENTS (seven_bar), zoom, dx, dy);
  DgStroke strokes[2]
      = { { (DgPoint *) first->data, first->len }, { (DgPoint *) second->data, second->len } };
  g_autoptr (GError) error = NULL;
  g_assert_true (dg_preprocess_strokes (strokes, 2, canvas_width, canvas_height, out, &error));
  g_assert_no_error (error);
}

/* A vertical stroke from (200, 100) to (200, 300) on a 400 x 400 canvas,
 * all points at @pressure. */
static void
preprocess_line (float pressure, float out[DG_IMAGE_PIXELS])
{
  DgPoint points[11];
  for (int i = 0; i < 11; i++)
    points[i] = (DgPoint){ 200.0f, 100.0f + 20.0f * i, pressure };
  DgStroke stroke = { points, 11 };
  g_autoptr (GError) error = NULL;
  g_assert_true (dg_preprocess_strokes (&stroke, 1, 400, 400, out, &error));
  g_assert_no_error (error);
}

static void
assert_strokes_refused (const DgStroke *strokes, int n_strokes, double width, double height,
                        int code)
{
  float out[DG_IMAGE_PIXELS];
  g_autoptr (GError) error = NULL;
  g_assert_false (dg_preprocess_strokes (strokes, n_strokes, width, height, out, &error));
  g_assert_error (error, DG_PREPROCESS_ERROR, code);
  if (code == DG_PREPROCESS_ERROR_NOTHING_TO_READ)
    g_assert_cmpstr (error->message, ==, "nothing to read");
  g_test_message ("refused as expected: %s", error->message);
}

static void
assert_grey_refused (const guint8 *grey, int width, int height, int stride, int code)
{
  float out[DG_IMAGE_PIXELS];
  g_autoptr (GError) error = NULL;
  g_assert_false (dg_preprocess_grey (grey, width, height, stride, out, &error));
  g_assert_error (error, DG_PREPROCESS_ERROR, code);
  g_test_message ("refused as expected: %s", error->message);
}

/* ------------------------------------------------------------------------ */
/* The steps                                                                 */

static void
test_otsu_bimodal (void)
{
  /* {0, 0} | {100, 200}: w0 w1 (mu1 - mu0)^2 = 2 * 2 * 150^2 = 90000 for t in
   * 0..99, against 3 * 1 * (200 - 33.3)^2 = 83333 for t in 100..199; the
   * middle of 0..99 is 49. */
  guint32 h[256] = { 0 };
  h[0] = 2;
  h[100] = 1;
  h[200] = 1;
  g_assert_cmpint (dg_otsu_threshold (h), ==, 49);

  /* Two tight clusters: every t in the gap 30..199 ties; the middle is 114. */
  memset (h, 0, sizeof h);
  h[20] = h[30] = h[200] = h[210] = 1;
  g_assert_cmpint (dg_otsu_threshold (h), ==, 114);

  /* {0, 1, 2, 2}: t = 0 gives 1 * 3 * (5/3)^2 = 8.33, t = 1 gives
   * 2 * 2 * 1.5^2 = 9: a unique best at 1. */
  memset (h, 0, sizeof h);
  h[0] = 1;
  h[1] = 1;
  h[2] = 2;
  g_assert_cmpint (dg_otsu_threshold (h), ==, 1);

  /* Paper (900 pixels over 190..210) and ink (100 over 30..50): every split
   * t = 50 .. 189 ties, and the middle of that run is 119. */
  memset (h, 0, sizeof h);
  for (int i = -10; i <= 10; i++)
    {
      h[200 + i] += 900 / 21 + (i == 0 ? 900 % 21 : 0);
      if (i >= -5 && i <= 5)
        h[40 + 2 * i] += 100 / 11 + (i == 0 ? 100 % 11 : 0);
    }
  g_assert_cmpint (dg_otsu_threshold (h), ==, 119);

  memset (h, 0, sizeof h);
  g_assert_cmpint (dg_otsu_threshold (h), ==, 0);
  h[77] = 5;
  g_assert_cmpint (dg_otsu_threshold (h), ==, 77);
}

/* A 60 x 40 page: a "+" of ink 6 px thick, and a bar along the left edge
 * (ink touching the border), on @paper, optionally with a gradient. */
static guint8 *
make_cross_page (guint8 paper, guint8 ink, gboolean gradient)
{
  guint8 *page = g_new (guint8, 60 * 40);
  for (int y = 0; y < 40; y++)
    for (int x = 0; x < 60; x++)
      {
        gboolean inked = (x >= 27 && x < 33 && y >= 8 && y < 32)
                         || (y >= 17 && y < 23 && x >= 18 && x < 42) || x < 3;
        int level = gradient ? paper - 80 + x * 3 / 2 : paper;
        page[y * 60 + x] = inked ? ink : (guint8) level;
      }
  return page;
}

static void
test_polarity (void)
{
  DgBackground bg;
  g_autofree guint8 *dark = make_cross_page (220, 30, FALSE);
  dg_estimate_background (dark, 60, 40, 60, &bg);
  g_assert_cmpint (bg.polarity, ==, DG_POLARITY_DARK_INK);
  g_assert_cmpfloat_with_epsilon (dg_background_at (&bg, 60, 40, 10, 30), 220.0, 0.5);

  g_autofree guint8 *light = make_cross_page (25, 240, FALSE);
  dg_estimate_background (light, 60, 40, 60, &bg);
  g_assert_cmpint (bg.polarity, ==, DG_POLARITY_LIGHT_INK);
  g_assert_cmpfloat_with_epsilon (dg_background_at (&bg, 60, 40, 50, 5), 25.0, 0.5);

  /* Paper 140 + 1.5 x (integer division), ink at 40 down the left edge:
   * the fit follows the paper, not the ink. */
  g_autofree guint8 *gradient = make_cross_page (220, 40, TRUE);
  dg_estimate_background (gradient, 60, 40, 60, &bg);
  g_assert_cmpint (bg.polarity, ==, DG_POLARITY_DARK_INK);
  for (int x = 5; x < 60; x += 9)
    g_assert_cmpfloat_with_epsilon (dg_background_at (&bg, 60, 40, x, 3), 140 + x * 3 / 2, 1.0);

  /* Rows longer than the image: the padding is never read. */
  g_autofree guint8 *padded = g_new (guint8, 64 * 40);
  for (int y = 0; y < 40; y++)
    {
      memcpy (padded + y * 64, light + y * 60, 60);
      memset (padded + y * 64 + 60, 255, 4);
    }
  dg_estimate_background (padded, 60, 40, 64, &bg);
  g_assert_cmpint (bg.polarity, ==, DG_POLARITY_LIGHT_INK);
}

static void
test_bbox (void)
{
  /* 6 x 5; the pixels >= 0.5 span columns 1..4, rows 1..3. */
  /* clang-format off */
  static const float ink[5 * 6] = {
    0.0f, 0.0f, 0.2f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.9f, 0.0f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.5f, 0.0f, 0.7f, 0.0f,
    0.0f, 0.0f, 0.0f, 1.0f, 0.0f, 0.0f,
    0.4f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
  };
  /* clang-format on */
  DgBox box;
  g_assert_true (dg_ink_bbox (ink, 6, 5, 0.5f, &box));
  g_assert_cmpint (box.x, ==, 1);
  g_assert_cmpint (box.y, ==, 1);
  g_assert_cmpint (box.width, ==, 4);
  g_assert_cmpint (box.height, ==, 3);

  /* At 0.1 the faint corner and top pixels join. */
  g_assert_true (dg_ink_bbox (ink, 6, 5, 0.1f, &box));
  g_assert_cmpint (box.x, ==, 0);
  g_assert_cmpint (box.y, ==, 0);
  g_assert_cmpint (box.width, ==, 5);
  g_assert_cmpint (box.height, ==, 5);

  g_assert_false (dg_ink_bbox (ink, 6, 5, 1.5f, &box));
  g_assert_cmpint (box.width, ==, 0);
  g_assert_cmpint (box.height, ==, 0);
}

static void
test_center_of_mass (void)
{
  /* 1 at (1, 1) and 3 at (3, 2): x = (1 + 9) / 4, y = (1 + 6) / 4. */
  float ink[4 * 5] = { 0 };
  ink[1 * 5 + 1] = 1.0f;
  ink[2 * 5 + 3] = 3.0f;
  double x, y;
  g_assert_true (dg_center_of_mass (ink, 5, 4, &x, &y));
  g_assert_cmpfloat_with_epsilon (x, 2.5, 1e-9);
  g_assert_cmpfloat_with_epsilon (y, 1.75, 1e-9);

  memset (ink, 0, sizeof ink);
  g_assert_false (dg_center_of_mass (ink, 5, 4, &x, &y));
}

/* A @bar_w x @bar_h bar of 1.0 at (@left, @top) in a @width x @height image. */
static float *
make_bar (int width, int height, int left, int top, int bar_w, int bar_h)
{
  float *image = g_new0 (float, width *height);
  for (int y = top; y < top + bar_h; y++)
    for (int x = left; x < left + bar_w; x++)
      image[y * width + x] = 1.0f;
  return image;
}

static void
test_scale_bar (void)
{
  /* 40 x 10 -> 20 x 5, centred on pixel 14 (continuous 14.5): columns
   * [4.5, 24.5), rows [12, 17).  Columns 4 and 24 are half covered. */
  g_autofree float *wide = make_bar (60, 30, 7, 11, 40, 10);
  float out[DG_IMAGE_PIXELS];
  g_autoptr (GError) error = NULL;
  g_assert_true (dg_normalize_ink (wide, 60, 30, out, &error));
  g_assert_no_error (error);
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++)
      {
        float expected = 0.0f;
        if (y >= 12 && y <= 16)
          expected = x >= 5 && x <= 23 ? 1.0f : x == 4 || x == 24 ? 0.5f : 0.0f;
        g_assert_cmpfloat_with_epsilon (out[y * SIDE + x], expected, 1e-5);
      }
  /* Ink scales by the area ratio, (20 * 5) / (40 * 10). */
  g_assert_cmpfloat_with_epsilon (total (out, DG_IMAGE_PIXELS), 400 * 0.25, 1e-3);
  assert_center (out, 1e-4);

  /* Standing up, it stays thin: 5 wide, not stretched to 20. */
  g_autofree float *tall = make_bar (30, 60, 3, 9, 10, 40);
  g_assert_true (dg_normalize_ink (tall, 30, 60, out, &error));
  DgBox box;
  g_assert_true (dg_ink_bbox (out, SIDE, SIDE, 0.99f, &box));
  g_assert_cmpint (box.x, ==, 12);
  g_assert_cmpint (box.width, ==, 5);
  g_assert_cmpint (box.y, ==, 5);
  g_assert_cmpint (box.height, ==, 19);

  /* Enlarging (8 x 2 -> 20 x 5) interpolates: ink still scales by the area
   * ratio 6.25, within the bilinear edges' rounding. */
  g_autofree float *small = make_bar (12, 6, 2, 2, 8, 2);
  g_assert_true (dg_normalize_ink (small, 12, 6, out, &error));
  g_assert_cmpfloat_with_epsilon (total (out, DG_IMAGE_PIXELS), 16 * 6.25, 2.0);
  assert_center (out, 0.01);
  g_assert_cmpfloat (out[14 * SIDE + 14], >, 0.99f);
  g_assert_cmpfloat (out[14 * SIDE + 1], ==, 0.0f);
}

static void
test_center_symmetric (void)
{
  /* A disc centred on a pixel comes out symmetric about pixel 14. */
  float disc[41 * 41];
  for (int y = 0; y < 41; y++)
    for (int x = 0; x < 41; x++)
      disc[y * 41 + x] = hypot (x - 22, y - 18) <= 12.0 ? 1.0f : 0.0f;
  float out[DG_IMAGE_PIXELS];
  g_assert_true (dg_normalize_ink (disc, 41, 41, out, NULL));
  assert_center (out, 1e-3);
  for (int y = 0; y < SIDE; y++)
    for (int k = 1; k < 14; k++)
      {
        g_assert_cmpfloat_with_epsilon (out[y * SIDE + 14 - k], out[y * SIDE + 14 + k], 1e-4);
        g_assert_cmpfloat_with_epsilon (out[(14 - k) * SIDE + y], out[(14 + k) * SIDE + y], 1e-4);
      }
  g_assert_cmpfloat (out[14 * SIDE + 14], ==, 1.0f);
  g_assert_cmpfloat (out[14 * SIDE + 3], ==, 0.0f);
  g_assert_cmpfloat (out[14 * SIDE + 4], >, 0.0f);

  /* A lopsided shape (an L) is placed by its mass, not its box. */
  float ell[30 * 30] = { 0 };
  for (int i = 0; i < 30; i++)
    {
      ell[i * 30 + 2] = ell[i * 30 + 3] = ell[i * 30 + 4] = 1.0f;
      ell[27 * 30 + i] = ell[28 * 30 + i] = ell[29 * 30 + i] = 1.0f;
    }
  g_assert_true (dg_normalize_ink (ell, 30, 30, out, NULL));
  assert_center (out, 0.05);
}

static void
test_normalize_nothing (void)
{
  float blank[10 * 10] = { 0 };
  float out[DG_IMAGE_PIXELS];
  g_autoptr (GError) error = NULL;
  g_assert_false (dg_normalize_ink (blank, 10, 10, out, &error));
  g_assert_error (error, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_NOTHING_TO_READ);
  g_clear_error (&error);
  g_assert_false (dg_normalize_ink (blank, 0, 10, out, &error));
  g_assert_error (error, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_INVALID);
}

static void
test_render_capsule (void)
{
  /* A horizontal segment from (8, 14) to (20, 14), pen 4 wide, covers
   * y in [12, 16]: rows 12 to 15 fully inked between the ends, rows 11 and
   * 16 untouched; the round caps reach 2 px past the ends. */
  DgPoint points[2] = { { 8, 14, -1 }, { 20, 14, -1 } };
  DgStroke stroke = { points, 2 };
  float out[DG_IMAGE_PIXELS];
  dg_render_strokes (&stroke, 1, 1.0, 0.0, 0.0, 4.0, out);
  for (int x = 8; x < 20; x++)
    for (int y = 12; y < 16; y++)
      g_assert_cmpfloat (out[y * SIDE + x], ==, 1.0f);
  for (int x = 0; x < SIDE; x++)
    {
      g_assert_cmpfloat (out[11 * SIDE + x], ==, 0.0f);
      g_assert_cmpfloat (out[16 * SIDE + x], ==, 0.0f);
    }
  g_assert_cmpfloat (out[14 * SIDE + 5], ==, 0.0f);
  g_assert_cmpfloat (out[14 * SIDE + 6], >, 0.5f);
  g_assert_cmpfloat (out[14 * SIDE + 22], ==, 0.0f);
  /* Area: 12 x 4 plus a disc of radius 2, to the sampling's accuracy. */
  g_assert_cmpfloat_with_epsilon (total (out, DG_IMAGE_PIXELS), 48 + G_PI * 4, 0.3);

  /* The same points scaled by 2 and shifted land in the same place. */
  DgPoint half[2] = { { 4, 5, -1 }, { 10, 5, -1 } };
  DgStroke moved = { half, 2 };
  float again[DG_IMAGE_PIXELS];
  dg_render_strokes (&moved, 1, 2.0, 0.0, 4.0, 4.0, again);
  g_assert_cmpmem (out, sizeof out, again, sizeof again);
}

static void
test_render_taper (void)
{
  /* Pressure 0 to 1 with a pen 4 wide: radius 1 at (6, 14), 3 at (22, 14).
   * The stroke is the convex hull of the two discs, its half-width growing
   * along the outer tangents: about 2.02 at x = 14 and 2.15 at x = 15, so
   * column 14 (x in [14, 15]) has rows 12 to 15 fully inked, rows 11 and 16
   * partly, and nothing beyond; it is mirrored about y = 14; and the
   * columns' ink grows from the thin end to the thick one. */
  DgPoint points[2] = { { 6, 14, 0.0f }, { 22, 14, 1.0f } };
  DgStroke stroke = { points, 2 };
  float out[DG_IMAGE_PIXELS];
  dg_render_strokes (&stroke, 1, 1.0, 0.0, 0.0, 4.0, out);
  for (int y = 12; y < 16; y++)
    g_assert_cmpfloat (out[y * SIDE + 14], ==, 1.0f);
  g_assert_cmpfloat (out[11 * SIDE + 14], >, 0.0f);
  g_assert_cmpfloat (out[11 * SIDE + 14], <, 0.25f);
  g_assert_cmpfloat (out[10 * SIDE + 14], ==, 0.0f);
  g_assert_cmpfloat (out[17 * SIDE + 14], ==, 0.0f);
  double previous = 0.0;
  for (int x = 0; x < SIDE; x++)
    {
      double column = 0.0;
      for (int k = 0; k < SIDE / 2; k++)
        {
          g_assert_cmpfloat (out[(13 - k + SIDE) % SIDE * SIDE + x], ==,
                             out[(14 + k) % SIDE * SIDE + x]);
          column += out[(14 + k) % SIDE * SIDE + x];
        }
      if (x >= 5 && x <= 22)
        g_assert_cmpfloat (column, >=, previous);
      previous = column;
    }
}

static void
test_render_dense (void)
{
  /* A mouse or a tablet sends hundreds of points along a line: they render
   * as the line's two ends do (the thinned stroke is the same capsule,
   * perhaps in collinear pieces, whose union is the same). */
  enum { N = 1001 };
  DgPoint *dense = g_new (DgPoint, N);
  for (int i = 0; i < N; i++)
    dense[i] = (DgPoint) { 5.0f + 16.0f * i / (N - 1), 7.0f + 12.0f * i / (N - 1), -1.0f };
  DgPoint ends[2] = { dense[0], dense[N - 1] };
  DgStroke many = { dense, N }, two = { ends, 2 };
  float a[DG_IMAGE_PIXELS], b[DG_IMAGE_PIXELS];
  dg_render_strokes (&many, 1, 1.0, 0.0, 0.0, 3.0, a);
  dg_render_strokes (&two, 1, 1.0, 0.0, 0.0, 3.0, b);
  for (int i = 0; i < DG_IMAGE_PIXELS; i++)
    g_assert_cmpfloat_with_epsilon (a[i], b[i], 1.5 / 64);

  /* A circle drawn with 2000 points and with 100 differs by what the
   * coarser polygon loses, not by more: thinning keeps within 1/32 px. */
  enum { FINE = 2000, COARSE = 100 };
  DgPoint *fine = g_new (DgPoint, FINE), coarse[COARSE];
  for (int i = 0; i < FINE; i++)
    fine[i] = (DgPoint) { 14 + 8 * cos (2 * G_PI * i / (FINE - 1)),
                          14 + 8 * sin (2 * G_PI * i / (FINE - 1)), -1.0f };
  for (int i = 0; i < COARSE; i++)
    coarse[i] = (DgPoint) { 14 + 8 * cos (2 * G_PI * i / (COARSE - 1)),
                            14 + 8 * sin (2 * G_PI * i / (COARSE - 1)), -1.0f };
  DgStroke fine_stroke = { fine, FINE }, coarse_stroke = { coarse, COARSE };
  dg_render_strokes (&fine_stroke, 1, 1.0, 0.0, 0.0, 3.0, a);
  dg_render_strokes (&coarse_stroke, 1, 1.0, 0.0, 0.0, 3.0, b);
  double area_a = total (a, DG_IMAGE_PIXELS), area_b = total (b, DG_IMAGE_PIXELS);
  /* Ring area 2 pi R w = 150.8; the 100-gon's ring is smaller by less than
   * its sagitta (0.004 px) times its length. */
  g_assert_cmpfloat_with_epsilon (area_a, 2 * G_PI * 8 * 3, 0.5);
  g_assert_cmpfloat_with_epsilon (area_a, area_b, 0.5);
  for (int i = 0; i < DG_IMAGE_PIXELS; i++)
    g_assert_cmpfloat_with_epsilon (a[i], b[i], 6.0 / 64);
  g_free (fine);
  g_free (dense);
}

/* ------------------------------------------------------------------------ */
/* Strokes                                                                   */

static void
test_strokes_scale_invariant (void)
{
  /* The same 7 at 0.8x, 2x and 9.3x its box, on different canvases. */
  float small[DG_IMAGE_PIXELS], medium[DG_IMAGE_PIXELS], large[DG_IMAGE_PIXELS];
  preprocess_seven (0.8, 20, 31, 160, 150, small);
  preprocess_seven (2.0, 310.5, 97, 640, 480, medium);
  preprocess_seven (9.3, 50, 400, 2000, 1500, large);

  const float *others[2] = { small, large };
  for (int k = 0; k < 2; k++)
    {
      double max_diff = 0.0, sum_diff = 0.0;
      for (int i = 0; i < DG_IMAGE_PIXELS; i++)
        {
          double d = fabs (others[k][i] - medium[i]);
          max_diff = MAX (max_diff, d);
          sum_diff += d;
        }
      g_test_message ("7 at another size: max diff %.3f, mean diff %.4f", max_diff,
                      sum_diff / DG_IMAGE_PIXELS);
      g_assert_cmpfloat (max_diff, <, 0.15);
      g_assert_cmpfloat (sum_diff / DG_IMAGE_PIXELS, <, 0.02);
    }

  /* MNIST's geometry: the inked box is 20 px high, so its half-inked
   * pixels span 19 or 20 rows (see test_strokes_width); the mass is
   * centred on pixel 14. */
  DgBox box;
  g_assert_true (dg_ink_bbox (medium, SIDE, SIDE, 0.5f, &box));
  g_assert_cmpint (box.height, >=, 19);
  g_assert_cmpint (box.height, <=, 20);
  g_assert_cmpint (box.width, <, box.height);
  assert_center (medium, 0.05);
  /* Ink is in MNIST's range for a 7 (class mean 90 over the test set). */
  g_assert_cmpfloat (total (medium, DG_IMAGE_PIXELS), >, 70.0);
  g_assert_cmpfloat (total (medium, DG_IMAGE_PIXELS), <, 110.0);
}

static void
test_strokes_width (void)
{
  float out[DG_IMAGE_PIXELS];
  preprocess_line (-1.0f, out);

  /* 20 px tall with its round caps and centred on pixel 14: y in
   * [4.5, 24.5].  The caps' tips put under half a pixel of ink in rows 4
   * and 24, so the box of the half-inked pixels is rows 5 to 23.  Along the
   * middle rows each row holds DG_PEN_WIDTH of ink (to the 1/8 px of the
   * sampling), 2 to 4 pixels over 0.5. */
  DgBox box;
  g_assert_true (dg_ink_bbox (out, SIDE, SIDE, 1e-6f, &box));
  g_assert_cmpint (box.y, ==, 4);
  g_assert_cmpint (box.height, ==, 21);
  g_assert_true (dg_ink_bbox (out, SIDE, SIDE, 0.5f, &box));
  g_assert_cmpint (box.y, ==, 5);
  g_assert_cmpint (box.height, ==, 19);
  assert_center (out, 0.01);
  for (int y = 8; y < 20; y++)
    {
      int strong = 0;
      for (int x = 0; x < SIDE; x++)
        strong += out[y * SIDE + x] > 0.5f;
      g_assert_cmpint (strong, >=, 2);
      g_assert_cmpint (strong, <=, 4);
      g_assert_cmpfloat_with_epsilon (total (out + y * SIDE, SIDE), DG_PEN_WIDTH, 1.0 / 8);
    }
}

static void
test_strokes_pressure (void)
{
  float plain[DG_IMAGE_PIXELS], hard[DG_IMAGE_PIXELS], light[DG_IMAGE_PIXELS],
      middle[DG_IMAGE_PIXELS];
  preprocess_line (-1.0f, plain);
  preprocess_line (1.0f, hard);
  preprocess_line (0.1f, light);
  preprocess_line (0.5f, middle);

  /* Pen width times (0.5 + pressure), per row: 1.5x, 0.6x, 1x, to the
   * 1/8 px of the sampling. */
  g_assert_cmpfloat_with_epsilon (total (hard + 14 * SIDE, SIDE), 1.5 * DG_PEN_WIDTH, 1.0 / 8);
  g_assert_cmpfloat_with_epsilon (total (light + 14 * SIDE, SIDE), 0.6 * DG_PEN_WIDTH, 1.0 / 8);
  for (int i = 0; i < DG_IMAGE_PIXELS; i++)
    g_assert_cmpfloat (middle[i], ==, plain[i]);
  g_assert_cmpfloat (total (hard, DG_IMAGE_PIXELS), >, 1.3 * total (plain, DG_IMAGE_PIXELS));
}

static void
test_strokes_one (void)
{
  /* A short straight stroke (40 px on a 300 x 300 canvas) is a 1: 20 tall,
   * a pen's width wide, not stretched to 20 wide. */
  DgPoint points[2] = { { 150, 130, -1 }, { 146, 170, -1 } };
  DgStroke stroke = { points, 2 };
  float out[DG_IMAGE_PIXELS];
  g_autoptr (GError) error = NULL;
  g_assert_true (dg_preprocess_strokes (&stroke, 1, 300, 300, out, &error));
  g_assert_no_error (error);
  DgBox box;
  g_assert_true (dg_ink_bbox (out, SIDE, SIDE, 0.5f, &box));
  g_assert_cmpint (box.height, >=, 19);
  g_assert_cmpint (box.height, <=, 20);
  g_assert_cmpint (box.width, <=, 5);
  assert_center (out, 0.01);
}

static void
test_strokes_nothing (void)
{
  assert_strokes_refused (NULL, 0, 400, 400, DG_PREPROCESS_ERROR_NOTHING_TO_READ);

  DgStroke empty[2] = { { NULL, 0 }, { NULL, 0 } };
  assert_strokes_refused (empty, 2, 400, 400, DG_PREPROCESS_ERROR_NOTHING_TO_READ);

  /* A dot: one point, or a tap that jittered by a pixel. */
  DgPoint dot[3] = { { 120, 80, 0.5f }, { 120.5f, 80, 0.6f }, { 121, 80.5f, 0.5f } };
  DgStroke tap = { dot, 1 };
  assert_strokes_refused (&tap, 1, 400, 400, DG_PREPROCESS_ERROR_NOTHING_TO_READ);
  tap.n_points = 3;
  assert_strokes_refused (&tap, 1, 400, 400, DG_PREPROCESS_ERROR_NOTHING_TO_READ);

  /* A scribble 10 px across on a 600 x 500 canvas: under 3% of 500. */
  DgPoint scribble[5] = {
    { 300, 200, -1 }, { 310, 204, -1 }, { 302, 208, -1 }, { 309, 203, -1 }, { 305, 209, -1 }
  };
  DgStroke tiny = { scribble, 5 };
  assert_strokes_refused (&tiny, 1, 600, 500, DG_PREPROCESS_ERROR_NOTHING_TO_READ);
  /* The same scribble fills a third of a 30 x 30 canvas: a (strange) digit. */
  float out[DG_IMAGE_PIXELS];
  g_assert_true (dg_preprocess_strokes (&tiny, 1, 30, 30, out, NULL));
}

static void
test_strokes_limits (void)
{
  DgPoint points[2] = { { 10, 10, -1 }, { 10, 90, -1 } };

  g_autofree DgStroke *many = g_new (DgStroke, DG_MAX_STROKES + 1);
  for (int i = 0; i <= DG_MAX_STROKES; i++)
    many[i] = (DgStroke){ points, 2 };
  assert_strokes_refused (many, DG_MAX_STROKES + 1, 100, 100, DG_PREPROCESS_ERROR_TOO_LARGE);
  float out[DG_IMAGE_PIXELS];
  g_assert_true (dg_preprocess_strokes (many, DG_MAX_STROKES, 100, 100, out, NULL));

  /* The point limit is over all strokes; the points are never read. */
  g_autofree DgPoint *lots = g_new0 (DgPoint, DG_MAX_POINTS / 2 + 1);
  DgStroke two[2] = { { lots, DG_MAX_POINTS / 2 + 1 }, { lots, DG_MAX_POINTS / 2 } };
  assert_strokes_refused (two, 2, 100, 100, DG_PREPROCESS_ERROR_TOO_LARGE);
  DgStroke huge[2] = { { lots, G_MAXINT }, { lots, G_MAXINT } };
  assert_strokes_refused (huge, 2, 100, 100, DG_PREPROCESS_ERROR_TOO_LARGE);

  DgStroke negative = { points, -1 };
  assert_strokes_refused (&negative, 1, 100, 100, DG_PREPROCESS_ERROR_INVALID);
  DgStroke no_data = { NULL, 4 };
  assert_strokes_refused (&no_data, 1, 100, 100, DG_PREPROCESS_ERROR_INVALID);
  DgStroke fine = { points, 2 };
  assert_strokes_refused (&fine, -1, 100, 100, DG_PREPROCESS_ERROR_INVALID);
  assert_strokes_refused (&fine, 1, 0, 100, DG_PREPROCESS_ERROR_INVALID);
  assert_strokes_refused (&fine, 1, 100, NAN, DG_PREPROCESS_ERROR_INVALID);

  DgPoint bad[2] = { { 10, 10, -1 }, { NAN, 90, -1 } };
  DgStroke not_a_number = { bad, 2 };
  assert_strokes_refused (&not_a_number, 1, 100, 100, DG_PREPROCESS_ERROR_INVALID);
  bad[1] = (DgPoint){ 10, INFINITY, -1 };
  assert_strokes_refused (&not_a_number, 1, 100, 100, DG_PREPROCESS_ERROR_INVALID);

  /* Points far off the canvas are allowed and harmless. */
  DgPoint far[2] = { { -1e30f, 0, -1 }, { 1e30f, 1, -1 } };
  DgStroke wild = { far, 2 };
  g_assert_true (dg_preprocess_strokes (&wild, 1, 100, 100, out, NULL));
  assert_center (out, 0.05);
}

/* ------------------------------------------------------------------------ */
/* Grey images                                                               */

/* MNIST test digits drawn back at 5x on a 400 x 300 page at an offset, with
 * a gradient and noise, come back close to the originals. */
static void
check_mnist_on_page (gboolean light_ink)
{
  enum
  {
    N = 6,
    W = 400,
    H = 300
  };
  g_autofree float *digits = load_mnist_digits (N);
  if (digits == NULL)
    return;

  for (int k = 0; k < N; k++)
    {
      const float *digit = digits + k * DG_IMAGE_PIXELS;
      g_autofree guint8 *page
          = draw_digit_page (digit, W, H, 5, 40 + 37 * k, 25 + 19 * k, light_ink, 17 + k);
      float out[DG_IMAGE_PIXELS];
      g_autoptr (GError) error = NULL;
      g_assert_true (dg_preprocess_grey (page, W, H, W, out, &error));
      g_assert_no_error (error);

      /* Against the digit itself, and against what MNIST's rules make of
       * it: MNIST rounded its centring shift to whole pixels, we do not, so
       * the two differ by up to half a pixel before we add anything. */
      float renormalized[DG_IMAGE_PIXELS];
      g_assert_true (dg_normalize_ink (digit, SIDE, SIDE, renormalized, NULL));
      double r = correlation (out, digit), r_normalized = correlation (out, renormalized);
      g_test_message ("MNIST test digit %d, %s ink: correlation %.3f, %.3f renormalised", k,
                      light_ink ? "light" : "dark", r, r_normalized);
      g_assert_cmpfloat (r, >, 0.9);
      g_assert_cmpfloat (r_normalized, >, 0.95);
      assert_center (out, 0.1);
      float strongest = 0.0f;
      for (int i = 0; i < DG_IMAGE_PIXELS; i++)
        strongest = MAX (strongest, out[i]);
      g_assert_cmpfloat (strongest, >, 0.9f);
      /* Paper far from the digit is exactly empty. */
      g_assert_cmpfloat (out[0], ==, 0.0f);
      g_assert_cmpfloat (out[DG_IMAGE_PIXELS - 1], ==, 0.0f);
    }
}

static void
test_grey_mnist_dark (void)
{
  check_mnist_on_page (FALSE);
}

static void
test_grey_mnist_light (void)
{
  check_mnist_on_page (TRUE);
}

static void
test_grey_mnist_itself (void)
{
  /* An MNIST digit fed as an image (light on black, 28 x 28) is itself. */
  enum
  {
    N = 4
  };
  g_autofree float *digits = load_mnist_digits (N);
  if (digits == NULL)
    return;
  for (int k = 0; k < N; k++)
    {
      guint8 grey[DG_IMAGE_PIXELS];
      for (int i = 0; i < DG_IMAGE_PIXELS; i++)
        grey[i] = (guint8) lrintf (255.0f * digits[k * DG_IMAGE_PIXELS + i]);
      float out[DG_IMAGE_PIXELS];
      g_assert_true (dg_preprocess_grey (grey, SIDE, SIDE, SIDE, out, NULL));
      /* The cleaning changes nothing: only the sub-pixel centring (see
       * check_mnist_on_page) separates the result from the digit. */
      float renormalized[DG_IMAGE_PIXELS];
      g_assert_true (
          dg_normalize_ink (digits + k * DG_IMAGE_PIXELS, SIDE, SIDE, renormalized, NULL));
      double r = correlation (out, digits + k * DG_IMAGE_PIXELS);
      double r_normalized = correlation (out, renormalized);
      g_test_message ("MNIST test digit %d as an image: correlation %.3f, %.4f renormalised", k, r,
                      r_normalized);
      g_assert_cmpfloat (r, >, 0.9);
      g_assert_cmpfloat (r_normalized, >, 0.99);
    }
}

static void
test_grey_specks_and_border (void)
{
  enum
  {
    W = 400,
    H = 300
  };
  g_autofree float *digits = load_mnist_digits (1);
  if (digits == NULL)
    return;

  /* Salt and pepper far from the digit, and a few dark specks near it. */
  g_autofree guint8 *page = draw_digit_page (digits, W, H, 5, 150, 80, FALSE, 5);
  g_autoptr (GRand) rand = g_rand_new_with_seed (99);
  for (int i = 0; i < 400; i++)
    {
      int x = g_rand_int_range (rand, 0, W), y = g_rand_int_range (rand, 0, H);
      if (x >= 140 && x < 300 && y >= 70 && y < 230)
        continue;
      page[y * W + x] = g_rand_boolean (rand) ? 0 : 255;
    }
  for (int i = 0; i < 3; i++)
    page[(60 + 2 * i) * W + 120 + 3 * i] = 10;
  float out[DG_IMAGE_PIXELS];
  g_assert_true (dg_preprocess_grey (page, W, H, W, out, NULL));
  float renormalized[DG_IMAGE_PIXELS];
  g_assert_true (dg_normalize_ink (digits, SIDE, SIDE, renormalized, NULL));
  g_test_message ("digit among specks: correlation %.3f", correlation (out, renormalized));
  g_assert_cmpfloat (correlation (out, renormalized), >, 0.98);

  /* Cropped to the box of its faintest ink: the digit touches all four
   * borders of the image (a tight box from segmentation). */
  g_autofree guint8 *tight = draw_digit_page (digits, 140, 140, 5, 0, 0, FALSE, 6);
  DgBox box;
  g_assert_true (dg_ink_bbox (digits, SIDE, SIDE, 0.01f, &box));
  int x0 = box.x * 5, y0 = box.y * 5, w = box.width * 5, h = box.height * 5;
  g_assert_true (dg_preprocess_grey (tight + y0 * 140 + x0, w, h, 140, out, NULL));
  g_test_message ("digit touching the border: correlation %.3f", correlation (out, renormalized));
  g_assert_cmpfloat (correlation (out, renormalized), >, 0.98);
}

/* A thin pen line on a big page (a ring 2 px wide, 600 px across) must reach
 * the network with MNIST's stroke width, not as a hairline. */
static void
test_grey_thin_lines (void)
{
  const int side = 1000;
  g_autofree guint8 *page = g_new (guint8, side * side);
  float out[DG_IMAGE_PIXELS];
  g_autoptr (GError) error = NULL;

  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++)
      {
        double r = hypot (x + 0.5 - 500, (y + 0.5 - 500) * 0.7);
        page[y * side + x] = fabs (r - 210) < 1.0 ? 20 : 245;
      }
  g_assert_true (dg_preprocess_grey (page, side, side, side, out, &error));
  g_assert_no_error (error);

  /* Row 14 crosses the ring twice: two runs of ink, each 2..4 px above 0.5. */
  int runs = 0, widths[4] = { 0 };
  for (int x = 0; x < 28; x++)
    if (out[14 * 28 + x] > 0.5f)
      {
        if (x == 0 || out[14 * 28 + x - 1] <= 0.5f)
          runs++;
        if (runs <= 4)
          widths[runs - 1]++;
      }
  g_assert_cmpint (runs, ==, 2);
  for (int i = 0; i < 2; i++)
    {
      g_assert_cmpint (widths[i], >=, 2);
      g_assert_cmpint (widths[i], <=, 4);
    }
}

/* A stroke drawn lightly, under the threshold that finds ink and far from
 * the dark strokes it joins, is still the digit's: a 9 whose loop is
 * faint must not reach the network as a 7. */
static void
test_grey_faint_stroke (void)
{
  enum
  {
    SIDE_PAGE = 200,
    PAPER = 245,
    INK = 20
  };
  const guint8 faint = PAPER - (PAPER - INK) / 4;
  g_autofree guint8 *page = g_new (guint8, SIDE_PAGE * SIDE_PAGE);
  memset (page, PAPER, SIDE_PAGE * SIDE_PAGE);
  for (int y = 40; y < 160; y++)
    for (int x = 60; x < 127; x++)
      {
        gboolean stem = x >= 120, top = y < 47;
        gboolean loop = (x < 67 && y < 101) || (y >= 94 && y < 101);
        page[y * SIDE_PAGE + x] = stem || top ? INK : loop ? faint : PAPER;
      }
  float out[DG_IMAGE_PIXELS];
  g_assert_true (dg_preprocess_grey (page, SIDE_PAGE, SIDE_PAGE, SIDE_PAGE, out, NULL));

  /* The loop's left side: the middle rows of the digit's top half, left
   * of its middle (the top bar is above them, the stem right of them). */
  float left = 0.0f;
  for (int y = 11; y < 15; y++)
    for (int x = 0; x < SIDE / 2; x++)
      left = MAX (left, out[y * SIDE + x]);
  g_test_message ("faint loop's left side: %.2f", left);
  g_assert_cmpfloat (left, >, 0.1f);
}

/* A pair's box fills DG_PAIR_WIDTH x DG_DIGIT_BOX whatever its aspect,
 * centred, and comes mirrored too; one digit's keeps its aspect (20 x 10
 * for a 2:1 block). */
static void
test_pair_stretched (void)
{
  const int width = 400, height = 200;
  g_autofree guint8 *page = g_new (guint8, width * height);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      page[y * width + x] = x >= 100 && x < 260 && y >= 60 && y < 140 && !(x >= 220 && y < 100) ? 20 : 240;
  DgContrast contrast;
  g_autoptr (GError) error = NULL;
  g_assert_true (dg_contrast_init (&contrast, page, width, height, width, &error));
  g_autoptr (GArray) runs = g_array_new (FALSE, FALSE, sizeof (DgRun));
  for (int y = 0; y < height; y++)
    {
      int x = 0;
      while (x < width)
        {
          while (x < width && contrast.contrast[y * width + x] <= contrast.threshold)
            x++;
          int start = x;
          while (x < width && contrast.contrast[y * width + x] > contrast.threshold)
            x++;
          if (x > start)
            {
              DgRun run = { y, start, x };
              g_array_append_val (runs, run);
            }
        }
    }

  float out[2 * DG_IMAGE_PIXELS];
  DgBox box;
  g_assert_true (dg_preprocess_pair (&contrast, (const DgRun *) runs->data, runs->len, NULL, 0,
                                     out, &error));
  g_assert_no_error (error);
  g_assert_true (dg_ink_bbox (out, SIDE, SIDE, 0.5f, &box));
  g_assert_cmpint (abs (box.width - (int) DG_PAIR_WIDTH), <=, 1);
  g_assert_cmpint (abs (box.height - (int) DG_DIGIT_BOX), <=, 1);
  g_assert_cmpint (abs (2 * box.x + box.width - SIDE), <=, 1);
  g_assert_cmpint (abs (2 * box.y + box.height - SIDE), <=, 1);
  /* The second view is the first mirrored: the notch out of the block's
   * top right corner moves to its top left. */
  g_assert_cmpfloat (out[6 * SIDE + 24], <, 0.1f);
  g_assert_cmpfloat (out[6 * SIDE + 3], >, 0.9f);
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++)
      g_assert_cmpfloat (out[DG_IMAGE_PIXELS + y * SIDE + x], ==, out[y * SIDE + SIDE - 1 - x]);

  g_assert_true (dg_preprocess_runs (&contrast, (const DgRun *) runs->data, runs->len, NULL, 0,
                                     out, &error));
  g_assert_true (dg_ink_bbox (out, SIDE, SIDE, 0.5f, &box));
  g_assert_cmpint (abs (box.width - 20), <=, 1);
  g_assert_cmpint (abs (box.height - 10), <=, 1);
  dg_contrast_clear (&contrast);
}

static void
test_grey_nothing (void)
{
  enum
  {
    W = 320,
    H = 240
  };
  g_autofree guint8 *page = g_new (guint8, W * H);

  memset (page, 235, W * H);
  assert_grey_refused (page, W, H, W, DG_PREPROCESS_ERROR_NOTHING_TO_READ);
  memset (page, 128, W * H);
  assert_grey_refused (page, W, H, W, DG_PREPROCESS_ERROR_NOTHING_TO_READ);
  memset (page, 0, W * H);
  assert_grey_refused (page, W, H, W, DG_PREPROCESS_ERROR_NOTHING_TO_READ);

  /* Lighting alone: a strong gradient and a vignette. */
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        double u = 2.0 * x / W - 1.0, v = 2.0 * y / H - 1.0;
        page[y * W + x] = (guint8) (90 + 60 * (u + 1) + 50 * (1 - 0.5 * (u * u + v * v)));
      }
  assert_grey_refused (page, W, H, W, DG_PREPROCESS_ERROR_NOTHING_TO_READ);

  /* Pure Gaussian noise, weak and strong. */
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  for (int sigma = 5; sigma <= 60; sigma += 55)
    {
      for (int i = 0; i < W * H; i++)
        {
          double u1 = g_rand_double_range (rand, 1e-12, 1.0), u2 = g_rand_double (rand);
          double value = 128.0 + sigma * sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
          page[i] = (guint8) CLAMP (lrint (value), 0, 255);
        }
      assert_grey_refused (page, W, H, W, DG_PREPROCESS_ERROR_NOTHING_TO_READ);
    }

  /* Blank paper with one speck of dust. */
  memset (page, 230, W * H);
  page[100 * W + 100] = page[100 * W + 101] = page[101 * W + 100] = 40;
  assert_grey_refused (page, W, H, W, DG_PREPROCESS_ERROR_NOTHING_TO_READ);

  /* A single pixel image. */
  assert_grey_refused (page, 1, 1, 1, DG_PREPROCESS_ERROR_NOTHING_TO_READ);
}

static void
test_grey_invalid (void)
{
  guint8 pixels[64] = { 0 };
  assert_grey_refused (pixels, 0, 0, 0, DG_PREPROCESS_ERROR_INVALID);
  assert_grey_refused (pixels, -8, 8, 8, DG_PREPROCESS_ERROR_INVALID);
  assert_grey_refused (pixels, 8, -1, 8, DG_PREPROCESS_ERROR_INVALID);
  assert_grey_refused (pixels, 8, 8, 7, DG_PREPROCESS_ERROR_INVALID);
  assert_grey_refused (pixels, 8, 8, -8, DG_PREPROCESS_ERROR_INVALID);
  assert_grey_refused (NULL, 8, 8, 8, DG_PREPROCESS_ERROR_INVALID);
  /* Over the limit, checked before a pixel is read. */
  assert_grey_refused (pixels, 100000, 100000, 100000, DG_PREPROCESS_ERROR_TOO_LARGE);
  assert_grey_refused (pixels, 8193, 8192, 8193, DG_PREPROCESS_ERROR_TOO_LARGE);
  assert_grey_refused (pixels, DG_MAX_IMAGE_SIDE + 1, 1, DG_MAX_IMAGE_SIDE + 1,
                       DG_PREPROCESS_ERROR_TOO_LARGE);
  assert_grey_refused (pixels, G_MAXINT, G_MAXINT, G_MAXINT, DG_PREPROCESS_ERROR_TOO_LARGE);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/preprocess/otsu/bimodal", test_otsu_bimodal);
  g_test_add_func ("/preprocess/polarity", test_polarity);
  g_test_add_func ("/preprocess/bbox", test_bbox);
  g_test_add_func ("/preprocess/center-of-mass", test_center_of_mass);
  g_test_add_func ("/preprocess/normalize/scale-bar", test_scale_bar);
  g_test_add_func ("/preprocess/normalize/center-symmetric", test_center_symmetric);
  g_test_add_func ("/preprocess/normalize/nothing", test_normalize_nothing);
  g_test_add_func ("/preprocess/render/capsule", test_render_capsule);
  g_test_add_func ("/preprocess/render/taper", test_render_taper);
  g_test_add_func ("/preprocess/render/dense", test_render_dense);
  g_test_add_func ("/preprocess/strokes/scale-invariant", test_strokes_scale_invariant);
  g_test_add_func ("/preprocess/strokes/width", test_strokes_width);
  g_test_add_func ("/preprocess/strokes/pressure", test_strokes_pressure);
  g_test_add_func ("/preprocess/strokes/one", test_strokes_one);
  g_test_add_func ("/preprocess/strokes/nothing", test_strokes_nothing);
  g_test_add_func ("/preprocess/strokes/limits", test_strokes_limits);
  g_test_add_func ("/preprocess/grey/mnist-dark", test_grey_mnist_dark);
  g_test_add_func ("/preprocess/grey/mnist-light", test_grey_mnist_light);
  g_test_add_func ("/preprocess/grey/mnist-itself", test_grey_mnist_itself);
  g_test_add_func ("/preprocess/grey/specks-and-border", test_grey_specks_and_border);
  g_test_add_func ("/preprocess/grey/thin-lines", test_grey_thin_lines);
  g_test_add_func ("/preprocess/grey/faint-stroke", test_grey_faint_stroke);
  g_test_add_func ("/preprocess/grey/nothing", test_grey_nothing);
  g_test_add_func ("/preprocess/pair/stretched", test_pair_stretched);
  g_test_add_func ("/preprocess/grey/invalid", test_grey_invalid);

  return g_test_run ();
}
