/* dg-segment.h: a page or field image -> its digits, in reading order.
 *
 * The data flow:
 *
 *   grey (h, w) --dg_contrast_init--> contrast, ink threshold (as for one digit)
 *        --threshold--> ink mask (h, w)
 *        --dg_remove_rules--> the mask without ruled lines and box borders
 *        --connected components--> pieces of ink; specks dropped
 *        --lines of text--> components grouped by height band, top to bottom
 *        --per line: candidates--> each component, neighbours merged (a 5's bar,
 *          a broken 0), wide or unsure components cut (the cheapest cuts
 *          through the ink, winding along the gap between touching digits)
 *        --dg_preprocess_runs, the classifier, one batch--> scores
 *        --dg_preprocess_pair, the pair model--> wide pieces (and slices at
 *          their ends) read as two overlapping digits
 *        --dynamic programme--> the best reading of each line: which pieces are
 *          digits, which are merged, where touching digits are cut, which
 *          marks (commas, dashes, signs) are not digits at all
 *
 * Every digit reaches the network as a single digit would (dg_preprocess_runs,
 * the second half of dg_preprocess_grey), with its neighbours' ink left out.
 */
#pragma once

#include "dg-model.h"
#include "dg-preprocess.h"

#include <glib.h>

G_BEGIN_DECLS

/* Classifies @n (28, 28) images into @probs (n, 10) (see dg_model_predict)
 * and @fits (n): how well each reads as one whole digit, a log-probability
 * (segmentation chooses its reading by them).  @boxes (n) are where each
 * image's ink lies on the page, for a classifier that wants to know
 * (make-strings --candidates labels them with it). */
typedef void (*DgClassifyFunc) (int n, const float *images, const DgBox *boxes, float *probs,
                                float *fits, gpointer user_data);

typedef struct
{
  DgBox box;                     /* the digit's ink, image pixels */
  int line;                      /* 0-based line of text, reading order */
  int digit;                     /* 0 .. 9, the top class */
  gboolean cut;                  /* read out of ink it touched: cut from it, or one of a
                                  * pair the pair model read */
  float probs[DG_CLASSES];       /* the network's probabilities */
  float input[DG_IMAGE_PIXELS];  /* (28, 28) what the network saw, ink 1.0 */
} DgDigitReading;

typedef enum
{
  DG_MARK_RULE,   /* a ruled line or box border, removed before reading */
  DG_MARK_SYMBOL, /* ink on a line of digits that is not a digit: comma, dot,
                   * dash, currency sign */
  DG_MARK_SPECK,  /* ink too small to be anything, or away from every line */
} DgMarkKind;

typedef struct
{
  DgBox box; /* image pixels */
  DgMarkKind kind;
  int line;  /* the line it sits on, or -1 */
} DgMark;

typedef struct
{
  char *text;              /* the digits in reading order, lines separated by one space */
  int n_digits;
  DgDigitReading *digits;  /* (n_digits) in reading order */
  int n_lines;
  int n_marks;
  DgMark *marks;           /* (n_marks) what was not read as a digit */
  float confidence;        /* the lowest top probability over the digits */
  int least_sure;          /* index of that digit */
  double digit_height;     /* median height of the digits, pixels */
  double stroke_width;     /* of the ink, pixels */
} DgReading;

/* Reads every digit in an 8-bit grey image (0 = black; rows @stride bytes
 * apart; the limits of dg_preprocess_grey) with @model.  The strings model
 * (DG_WEIGHTS_STRINGS) reads pages best: it knows a pair or a piece of a
 * digit from a digit.  With @second (the digit model, DG_WEIGHTS_DIGIT; or
 * NULL), each digit read whole rather than cut out of touching ink is read
 * again by it, and its probabilities are the mean of the two.  With @scan
 * (the scan model, DG_WEIGHTS_SCAN; or NULL) too, the second reading is
 * the mean of @second's and @scan's.  With @pairs
 * (the pair model, DG_WEIGHTS_PAIRS; or NULL), atoms wide enough to be two
 * digits are also read as two that overlap, which no cut parts.  No ink, or
 * only ink that is no digit (specks, rules, marks shorter than a digit), is
 * DG_PREPROCESS_ERROR_NOTHING_TO_READ; ink of a digit's height is read, if
 * need be unsure.  The models are prepared (dg_model_prepare) on first
 * use; several threads may then read with them at once.  About 22 ms for
 * a 2500 x 1100 scan with eight digits on one core (digits-cli bench). */
DgReading *dg_read_digits (DgModel *model, DgModel *second, DgModel *scan, DgModel *pairs,
                           const guint8 *grey, int width, int height, int stride, GError **error);

/* The classifier dg_read_digits uses, @user_data the model: its
 * probabilities, and for the fit the log of the top one (the strings
 * model, trained to be unsure of what is not one digit, makes that mean
 * something). */
void dg_classify_with_model (int n, const float *images, const DgBox *boxes, float *probs,
                             float *fits, gpointer user_data);

/* The same from a measured contrast, with any classifier; @classify_pairs
 * (or NULL: no pairs) reads the pair images (dg_preprocess_pair), each
 * atom's left view then its right one (mirrored), with @pair_data. */
DgReading *dg_read_contrast (const DgContrast *contrast, DgClassifyFunc classify,
                             gpointer user_data, DgClassifyFunc classify_pairs,
                             gpointer pair_data, GError **error);

void dg_reading_free (DgReading *reading);

/* --- The steps, for the tests --- */

/* Stroke width of the ink in @mask (height, width; nonzero = ink): its area
 * over half its perimeter, pixels.  0 when there is no ink. */
double dg_mask_stroke_width (const guint8 *mask, int width, int height);

/* Finds ruled lines and box borders in @mask (height, width; 1 = ink) and
 * sets their pixels to 2.  A rule is a chain of thin runs (at most 1.6
 * stroke widths + 1 pixel thick) across at least 30 stroke widths (or,
 * horizontally, 12 and half the image's width: a small field's border),
 * straight within 1 in 5 (a scan turned a few degrees still counts),
 * bridging the strokes of digits that cross or sit on it; a shorter
 * vertical one counts when both its ends meet horizontal rules or the
 * image's edge (a box's side), and a piece lying on a rule's line (fitted
 * robustly, Theil-Sen) belongs to it.  Only the runs on the line and no
 * thicker than the rule are removed: a digit's stroke crossing, touching or
 * lying along it stays.  Appends each rule's box to @rules (DgBox) when not
 * NULL; returns how many were found. */
int dg_remove_rules (guint8 *mask, int width, int height, double stroke_width, GArray *rules);

/* The cut that parts touching digits, from near column @column of @mask
 * (height, width; nonzero = ink) down to its last row, with digits
 * @digit_height pixels tall: one column per row (ink left of it goes
 * left), within 0.2 digit heights of @column and 0.12 inside the mask's
 * ends, tearing as little ink as it can.  Where it moves sideways between
 * rows it tears the links down the columns it crosses, so through paper
 * it may wind freely: along the gap between two digits, each of whose rows
 * lies left of the other's but where they touch.  Fills @cut_x (height)
 * and returns the ink links torn. */
double dg_mask_cut (const guint8 *mask, int width, int height, int column, double digit_height,
                    int *cut_x);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DgReading, dg_reading_free)

G_END_DECLS
