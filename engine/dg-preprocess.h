/* dg-preprocess.h: what people draw or scan -> the 28x28 the network reads.
 *
 * Both paths end the way MNIST was made: the ink's bounding box is scaled so
 * its longer side is DG_DIGIT_BOX (20) pixels, aspect ratio kept, with
 * anti-aliasing; then the image is placed in the 28x28 field so that the
 * ink's centre of mass falls on DG_DIGIT_CENTRE.
 *
 * Output images are (28, 28) row-major floats, ink 1.0 on paper 0.0, values
 * in [0, 1] — MNIST's polarity, what dg_model_predict takes.
 *
 * Coordinates.  A "continuous" coordinate runs over the pixel grid with
 * pixel i covering [i, i + 1); its centre is at i + 0.5.  An "index"
 * coordinate puts pixel i's centre at i.  Canvas points are continuous
 * (the pointer is at a position, not on a pixel).  Centres of mass are
 * index coordinates, computed as MNIST did: sum (i * v) / sum (v).
 *
 * Where the centre goes.  MNIST moved each digit by a whole number of pixels
 * so that its centre of mass landed on pixel (14, 14): measured over the
 * 10,000 test digits, the index-coordinate centre of mass is uniform in
 * [13.5, 14.5) on both axes, mean 14.01 and 13.99.  We do the same without
 * the rounding, so the centre of mass sits on the centre of pixel (14, 14)
 * (continuous 14.5).  A blob symmetric about its centre therefore comes out
 * symmetric about pixel 14: out[14 - k] == out[14 + k].
 */
#pragma once

#include "dg-model.h"

#include <glib.h>

G_BEGIN_DECLS

#define DG_PREPROCESS_ERROR (dg_preprocess_error_quark ())

typedef enum
{
  DG_PREPROCESS_ERROR_NOTHING_TO_READ, /* no ink, or too little to be a digit */
  DG_PREPROCESS_ERROR_INVALID,         /* sizes, counts or coordinates make no sense */
  DG_PREPROCESS_ERROR_TOO_LARGE,       /* over one of the limits below */
} DgPreprocessError;

typedef struct
{
  float x, y;     /* canvas pixels, continuous coordinates */
  float pressure; /* (0, 1]; < 0 when the device reports none */
} DgPoint;

typedef struct
{
  const DgPoint *points; /* (n_points) */
  int n_points;
} DgStroke;

/* Limits against hostile input (a stroke file with 10^9 points). */
#define DG_MAX_STROKES 1000
#define DG_MAX_POINTS 100000                   /* over all strokes */
#define DG_MAX_IMAGE_PIXELS (64 * 1024 * 1024) /* width * height */
#define DG_MAX_IMAGE_SIDE 32768                /* width or height */

/* MNIST's geometry, in output (28x28) pixels. */
#define DG_DIGIT_BOX 20.0    /* longer side of the ink's bounding box */
#define DG_DIGIT_CENTRE 14.0 /* centre of mass, index coordinates, both axes */
#define DG_PAIR_WIDTH 24.0   /* a pair's box is stretched this wide (dg_preprocess_pair) */

/* Pen width for drawn strokes, in output pixels, before pressure.  Chosen so
 * drawn digits have MNIST's stroke width.  Width estimated as 2 x mass /
 * total variation (area over half the perimeter, blur-insensitive): MNIST's
 * test set gives 2.56 .. 2.94 px per class, mean 2.74; ten digits drawn as
 * polylines and rendered with this pen give 2.48 .. 2.97, mean 2.74. */
#define DG_PEN_WIDTH 2.7

/* A drawing whose bounding box's longer side is under this fraction of the
 * canvas's shorter side, or under DG_MIN_EXTENT_PIXELS, is a dot or a slip
 * of the hand, not a digit. */
#define DG_MIN_EXTENT_FRACTION 0.03
#define DG_MIN_EXTENT_PIXELS 4.0 /* canvas or image pixels */

typedef struct
{
  int x, y;          /* top-left pixel */
  int width, height; /* pixels; 0 when empty */
} DgBox;

typedef enum
{
  DG_POLARITY_DARK_INK,  /* dark ink on light paper: a pen on a form */
  DG_POLARITY_LIGHT_INK, /* light ink on dark paper: chalk, MNIST itself */
} DgPolarity;

/* The paper of a grey image, as a smooth surface (lighting gradients and
 * vignetting), and which way the ink departs from it. */
typedef struct
{
  /* Paper grey level at pixel (x, y) is
   *   c[0] + c[1] u + c[2] v + c[3] u^2 + c[4] u v + c[5] v^2
   * with u = 2 (x + 0.5) / width - 1 and v = 2 (y + 0.5) / height - 1,
   * both in [-1, 1]. */
  double c[6];
  double noise; /* robust standard deviation of grey - paper, grey levels */
  DgPolarity polarity;
} DgBackground;

GQuark dg_preprocess_error_quark (void);

/* Strokes drawn on a canvas of @canvas_width x @canvas_height pixels (points
 * may stray outside it) -> @out (28, 28).  Ink is rendered directly at the
 * output scale, anti-aliased (8x8 samples per pixel), each segment a capsule
 * (a line with round caps), a lone point a disc, the pen DG_PEN_WIDTH output
 * pixels wide whatever the drawing's size, times (0.5 + pressure) where the
 * device reports pressure.  No points, a dot or a tiny scribble is
 * DG_PREPROCESS_ERROR_NOTHING_TO_READ.  About 60 µs for 200 points on one
 * core (digits-cli bench: strokes -> probabilities, less the network). */
gboolean dg_preprocess_strokes (const DgStroke *strokes, int n_strokes, double canvas_width,
                                double canvas_height, float out[DG_IMAGE_PIXELS], GError **error);

/* An 8-bit grey image (0 = black, 255 = white; rows of @stride bytes) of at
 * most DG_MAX_IMAGE_PIXELS and DG_MAX_IMAGE_SIDE -> @out (28, 28).  Finds
 * the polarity, divides out the paper (dg_estimate_background), thresholds
 * the contrast (Otsu, kept clear of the noise), drops specks (pieces under
 * 5% of the main ink or away from it), crops to the ink and keeps its
 * anti-aliased intensity, the strongest ink stretched to 1.0.  The image
 * should hold one digit, ink being the minority of its pixels.  Blank paper,
 * a uniform grey, pure noise, ink no stronger than 6 noise deviations (and
 * 12% contrast), or ink whose longer side is under 1% of the image's
 * shorter side or DG_MIN_EXTENT_PIXELS is DG_PREPROCESS_ERROR_NOTHING_TO_READ.
 * About 6 ms for 2500 x 1100 pixels on one core. */
gboolean dg_preprocess_grey (const guint8 *grey, int width, int height, int stride,
                             float out[DG_IMAGE_PIXELS], GError **error);

/* --- The steps, for the tests and for segmentation --- */

/* A grey image's ink as contrast against its paper: the first half of
 * dg_preprocess_grey, shared with segmentation (dg-segment.h). */
typedef struct
{
  int width, height;    /* pixels */
  guint8 *contrast;     /* (height, width): departure from the paper towards the
                         * ink, 0 .. 255 for none .. all the way to black (or white) */
  DgBackground background;
  double paper, spread; /* the paper's contrast level and robust spread, contrast units */
  double ink_level;     /* the ink's strong end (95th percentile of the candidates) */
  int threshold;        /* ink is contrast > threshold (Otsu, kept clear of the noise) */
} DgContrast;

/* A horizontal run of pixels [x0, x1) on row y. */
typedef struct
{
  int y, x0, x1;
} DgRun;

/* Checks the image against the limits, fits the paper, measures the
 * contrast and picks the ink threshold (as dg_preprocess_grey does).  No ink
 * standing out from the paper is DG_PREPROCESS_ERROR_NOTHING_TO_READ.  Free
 * with dg_contrast_clear. */
gboolean dg_contrast_init (DgContrast *contrast, const guint8 *grey, int width, int height,
                           int stride, GError **error);
void dg_contrast_clear (DgContrast *contrast);

/* One digit's ink -> @out (28, 28), the second half of dg_preprocess_grey:
 * @ink (n_ink) are the digit's pixels above the threshold, in any order.
 * Crops to them plus a margin for their soft edges, stretches the contrast
 * (the paper's noise to 0, the digit's 95th percentile to 1), averages a
 * large crop down, widens thin strokes and normalises by MNIST's rules.
 * Pixels of @other (n_other, sorted by row: the page's other ink, e.g. a
 * touching neighbour or a ruled line) that are not in @ink, and the paper
 * around them, are left out.  Either may be NULL when empty. */
gboolean dg_preprocess_runs (const DgContrast *contrast, const DgRun *ink, int n_ink,
                             const DgRun *other, int n_other, float out[DG_IMAGE_PIXELS],
                             GError **error);

/* Two touching digits' ink -> @out (2, 28, 28) for the pair model
 * (DG_WEIGHTS_PAIRS), as dg_preprocess_runs does but with the box
 * stretched to DG_PAIR_WIDTH x DG_DIGIT_BOX pixels, whatever its aspect, and
 * centred: each digit fills about half the width.  The first image is the
 * left digit's view, the second the same mirrored left to right, the right
 * digit's: the model reads the digit on the left of each. */
gboolean dg_preprocess_pair (const DgContrast *contrast, const DgRun *ink, int n_ink,
                             const DgRun *other, int n_other, float out[2 * DG_IMAGE_PIXELS],
                             GError **error);

/* The threshold t that best splits @histogram (256 bins) into two classes,
 * [0, t] and [t + 1, 255], by Otsu's between-class variance.  When several
 * t tie (an empty gap between the classes), the middle of the run of ties.
 * An empty histogram gives 0, a single-valued one that value. */
int dg_otsu_threshold (const guint32 histogram[256]);

/* Fits the paper as a quadratic surface by robust (Tukey biweight) least
 * squares on a block-averaged copy at most 64 blocks across, so ink, even
 * touching the border, and noise do not pull it; then decides the polarity
 * from which side of the paper the far outliers lie, weighted by how far. */
void dg_estimate_background (const guint8 *grey, int width, int height, int stride,
                             DgBackground *background);
/* Paper grey level at pixel (x, y), index coordinates, clamped to [0, 255]. */
double dg_background_at (const DgBackground *background, int width, int height, double x, double y);

/* Bounding box of the pixels of @ink (height, width) that are >= @level.
 * FALSE, and an empty box, when there are none. */
gboolean dg_ink_bbox (const float *ink, int width, int height, float level, DgBox *box);

/* Centre of mass of @ink (height, width), index coordinates.  FALSE when
 * the ink sums to zero. */
gboolean dg_center_of_mass (const float *ink, int width, int height, double *x, double *y);

/* dst (dst_height, dst_width) = src (src_height, src_width) under the map
 * dst = @scale * src + (@offset_x, @offset_y), continuous coordinates, zero
 * outside src; @scale in [1e-4, 1e4].  Shrinking (@scale < 1) averages the
 * source area under each destination pixel; enlarging interpolates
 * bilinearly between pixel centres. */
void dg_resample (const float *src, int src_width, int src_height, double scale, double offset_x,
                  double offset_y, float *dst, int dst_width, int dst_height);
/* The same with a scale per axis. */
void dg_resample_xy (const float *src, int src_width, int src_height, double scale_x,
                     double scale_y, double offset_x, double offset_y, float *dst, int dst_width,
                     int dst_height);

/* An ink-intensity image (height, width), ink 1.0, any size, -> @out (28, 28)
 * by MNIST's rules.  The bounding box is that of the pixels at least half as
 * strong as the strongest; the centre of mass is over all pixels.  No ink is
 * DG_PREPROCESS_ERROR_NOTHING_TO_READ. */
gboolean dg_normalize_ink (const float *ink, int width, int height, float out[DG_IMAGE_PIXELS],
                           GError **error);

/* Renders @strokes into @out (28, 28), adding nothing else: canvas point
 * (x, y) lands at (@scale x + @offset_x, @scale y + @offset_y), continuous
 * output coordinates; the pen is @pen_width output pixels wide, times
 * (0.5 + pressure) where pressure >= 0.  Each segment is a capsule, the
 * convex hull of the pen's discs at its two ends; coverage is the union of
 * the capsules, sampled 8x8 per pixel, the strokes first thinned to the
 * points a polyline within 1/32 pixel of them needs.  Inputs must already
 * be valid. */
void dg_render_strokes (const DgStroke *strokes, int n_strokes, double scale, double offset_x,
                        double offset_y, double pen_width, float out[DG_IMAGE_PIXELS]);

G_END_DECLS
