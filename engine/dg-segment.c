/* dg-segment.c: a page or field image -> its digits, in reading order.
 *
 * Sizes are measured in two units found on the page itself: the stroke
 * width s (the ink's area over half its perimeter) and, once the pieces of
 * ink are known, the digit height H (a robust median of their heights;
 * pieces one above another, as of a digit broken across, count as one:
 * find_stacks).
 * Every tolerance below is a multiple of one of them, so a field scanned at
 * 100 dpi reads like a cheque at 600.
 *
 * Choosing a reading.  Each line of text is a row of "atoms" (connected
 * components, left to right).  A candidate digit is one atom, two or three
 * neighbouring atoms merged, or a slice of one atom between two cuts; each
 * is normalised and classified, all in one batch (two when cuts are needed),
 * and scored
 *
 *   log p(top class) - shape penalties (too short, too tall, too wide for one digit)
 *
 * Choosing between an atom whole and its slices also weighs shape: a whole
 * atom wider than a digit usually is, and slices that leave much of the
 * atom's height to their neighbours (pieces of one digit, not digits), cost
 * more.  Merging atoms costs a little, so two digits that each read well
 * stay two.  An atom may also be left out as a mark, at a cost growing
 * with its ink.
 * An atom wide enough to be two digits, and each slice of it that reaches
 * one of its ends, is also read by the pair model as two digits that
 * overlap (no cut parts a 7 whose stroke runs through a 0): the left one
 * from its image, the right one from the image mirrored, scored as two
 * slices would be (pair_slice_score).
 * A dynamic programme over the atoms (and, inside one atom, over its cuts)
 * picks the reading with the best total: touching digits are cut where both
 * halves read well, a 5's detached bar is merged because the merged 5 reads
 * better than a 5 without its bar plus a stray dash, and a comma costs less
 * to leave out than any digit it could be forced into.
 */
#include "dg-segment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rules (ruled lines, box borders), in stroke widths s. */
#define RULE_THIN 1.6        /* a rule's runs are at most 1.6 s + 1 pixels thick */
#define RULE_LENGTH 30.0     /* and it spans at least 30 s (a digit is 7 .. 12 s tall) */
#define RULE_FIELD_LENGTH 12.0 /* or, horizontal, 12 s and half the image's width */
#define RULE_PIECE 3.0       /* a piece of a rule beyond a digit on it: 3 s long, on its line */
#define RULE_BRIDGE 15.0     /* bridging up to 15 s of ink: digits sitting on it */
#define RULE_DRIFT 0.2       /* drifting across at most 1 in 5 (a turned scan) */
#define RULE_BOX_SIDE 4.0    /* a box's side, between two rules, spans at least 4 s */
#define RULE_STEP 0.25       /* a chain's next run is centred within 0.25 of a thin run and a
                              * pixel of the last, */
#define RULE_STEP_DRIFT 0.1  /* and 0.1 of a pixel more per pixel of paper or crossing between */

/* Pieces of ink, in stroke widths s and digit heights H. */
#define SPECK_AREA 0.5       /* components under 0.5 s^2 pixels (and 4) are noise */
#define LINE_GAP 3.0         /* digits further apart than 3 H start a new field */
#define LINE_FULL 0.75       /* a line's band follows its members this tall (H) */
#define STACK_GAP 1.5        /* pieces one above the other, at most 1.5 s apart, */
#define STACK_ACROSS 0.5     /* (side by side across less than half the shorter's height) */
#define STACK_OVERLAP 0.5    /* and across half the narrower's width or with their ink that
                              * close, are pieces of one digit */
#define STACK_TALL 1.5       /* unless over 1.5 H together, */
#define STACK_ASPECT 2.2     /* or over 2.2 times as tall as wide (two lines of digits) */
#define MERGE_GAP 0.15       /* atoms this close (H) may be pieces of one digit */
#define MERGE_WIDTH 1.25     /* ... when together they are at most this wide (H; alone on
                              * their line, ALONE_WIDTH) */
#define MERGE_SHORT 0.6      /* ... when one is under 0.6 H tall, */
#define MERGE_OVERLAP 0.3    /* or they overlap by 30% of the narrower's width */
#define MERGE_DOUBT 0.95     /* merely close pieces merge only when one reads below this */
#define MAX_MERGE 3          /* atoms merged into one digit at most */
#define COMMA_WIDTH 0.3      /* an atom this narrow (H) and short (MERGE_SHORT) beside a tall one, */
#define COMMA_BELOW 0.1      /* (or under it, reaching this far below the band, H) */
#define COMMA_LOW 0.6        /* whose ink starts this far down the line's band, is a comma
                              * or a full stop and not part of it */
#define BAND_PAIRS 4         /* a line's slope: from each digit to this many to its right, */
#define BAND_SLOPE 0.2       /* at most this steep (11 degrees) */
#define MAX_CUTS 32          /* cut candidates per atom, */
#define STRAIGHT_CUTS 4      /* of which this many more go straight down a column, */
#define MAX_SLICES 1024      /* slices of wide atoms tried per page, at most */
#define CUTS_PER_H 8.0       /* 8 per digit height of its width */
#define CUT_REACH 0.2        /* a cut strays at most 0.2 H from its column, */
#define CUT_EDGE 0.12        /* and keeps this far (H) inside the atom's ends, */
#define CUT_SIDEWAYS 0.01f   /* and moving sideways costs this a column where it tears nothing */
#define CUT_STRIDE 0.033     /* a cut is tried from every 0.033 H */
#define SPLIT_WIDTH 0.8      /* atoms this wide (H) are tried as several digits, */
#define SPLIT_UNSURE_WIDTH 0.4 /* and those this wide when the network is unsure */
#define SPLIT_UNSURE 0.95
#define SLICE_AREA 0.1       /* and holds a tenth of a digit's ink at least (a thin 1 next to
                              * bold digits holds a fifth) */
#define SLICE_HEIGHT 0.6     /* a slice of touching digits is a whole digit: this tall (H; a
                              * short 7 whose bar touched a 6 stood 0.72 H) */

/* Scores (natural log units). */
#define SHORT_PENALTY 10.0    /* per H of height under 0.55 H, */
#define SHORT_SURE 0.7        /* a quarter of that when the network reads it this surely and */
#define SHORT_SURE_SHARE 0.25 /* it is wider than a comma (COMMA_WIDTH): a 2 written small */
#define SHORT_FLAT_TALL 0.4   /* and for one a digit wide and this tall (H): piece_score */
#define TALL_PENALTY 8.0     /* per H of height over 1.3 H */
#define EDGE_TALL 1.15       /* at the start of a line, taller than this (H) */
#define EDGE_TALL_PENALTY 12.0 /* costs this per H (a "$" whose bar stands out), */
#define EDGE_TALL_SURE 0.9     /* unless the network reads it as a digit this surely, */
#define EDGE_STICK 0.08        /* at either end, standing out of the band on both sides (a "$" */
#define EDGE_STICK_PENALTY 25.0 /* bar: 0.12 H) by more than this costs this per H */
#define EDGE_DROP_AREA 1.2   /* and leaving an atom out there costs 0.3 + 1.2 x its area (at
                              * the end, only if it is not a digit's height in the band) */
#define WIDE 1.1             /* a digit wider than this (H) is probably two, */
#define WIDE_ALONE 1.35      /* (one alone on its line: this) */
#define WIDE_PENALTY 5.0     /* at this cost per H, */
#define VERY_WIDE_PENALTY 12.0 /* and more 0.2 H beyond */
#define CUT_BONUS 0.15       /* a cut through an atom earns this (one more digit read), */
#define CUT_INK 0.3          /* less this per stroke width of ink it tears: two digits
                              * touching meet at a point, a 0 cut in two is torn twice */
#define WHOLE_WIDE 1.08      /* choosing how to read an atom that has cuts: wider than this (H) */
#define WHOLE_WIDE_PENALTY 10.0 /* whole costs this per H (a digit is seldom wider than tall) */
#define SLICE_SHORT 0.1      /* and a slice whose ink ends more than 0.1 H short of the */
#define SLICE_SHORT_PENALTY 2.0 /* atom's top or bottom costs this per H (a piece, not a digit) */
#define MERGE_COST 0.3       /* merging atoms costs this per atom joined: two digits that
                              * each read well stay two, though their union reads as well; */
#define MERGE_STACKED 0.6    /* and earns it for one above the other, overlapping across
                              * this much of the narrower's width: two pieces stacked in a
                              * line of digits are one (two loops of a broken 8, each a 0) */
#define KEEP_TALL 0.7        /* a line read as nothing is read again keeping atoms this tall (H) */
#define DROP_BASE 0.3        /* leaving an atom out costs 0.3 + 2.7 x its area */
#define DROP_AREA 2.7        /* relative to a digit's, */
#define DROP_TALL_AREA 0.75  /* 3/4 of a digit's at least when 0.7 H tall, in a line, */
#define DROP_FLAT_WIDTH 0.6  /* and a whole digit's when it is this wide (H) and */
#define DROP_FLAT_TALL 0.3   /* this tall: a 2 or 7 written flat, not a comma or a dash */
#define DROP_CAP 2.0         /* up to two digits' worth (a fused "67" is no comma), or as
                              * many as it is wide in H: seven digits fused into a blob
                              * were left out as a sign, and "459141818" read "18" */
#define ALONE_SURE 0.5       /* an atom up to ALONE_WIDTH wide, alone on its line or read */
#define ALONE_WIDTH 2.5      /* whole this surely, is read as several only when the
                              * network gives each this probability at least */
#define FLAT_WIDTH 1.1       /* an atom at most this wide and under FLAT_TALL tall is a flat */
#define FLAT_TALL 0.8        /* digit: its slices, and its halves read as a pair, must read */
#define FLAT_SURE 0.9        /* this surely (slice_sure) */
#define PAIR_WIDTH 0.6       /* an atom this wide (H) may be two digits overlapping: the pair
                              * model reads it too, and its slices this wide at either end */

/* ------------------------------------------------------------------------ */
/* Runs and union-find                                                       */

/* A run of ink joined into components: pixels [x0, x1) of row y. */
typedef struct
{
  int y, x0, x1;
  int parent;
} Node;

static int
node_root (Node *nodes, int i)
{
  while (nodes[i].parent != i)
    {
      nodes[i].parent = nodes[nodes[i].parent].parent;
      i = nodes[i].parent;
    }
  return i;
}

static void
node_union (Node *nodes, int a, int b)
{
  a = node_root (nodes, a);
  b = node_root (nodes, b);
  if (a < b)
    nodes[b].parent = a;
  else if (b < a)
    nodes[a].parent = b;
}

/* The first pixel at or after @x that is not paper (0). */
static inline int
skip_paper (const guint8 *row, int x, int width)
{
  while (x + 8 <= width)
    {
      guint64 word;
      memcpy (&word, row + x, 8);
      if (word != 0)
        break;
      x += 8;
    }
  while (x < width && row[x] == 0)
    x++;
  return x;
}

/* Appends to @runs (DgRun) the runs of row @y whose pixels
 * are @value, or any ink when @value is 0. */
static void
row_runs (const guint8 *row, int y, int width, guint8 value, GArray *runs)
{
  int x = 0;
  while ((x = skip_paper (row, x, width)) < width)
    {
      if (value != 0 && row[x] != value)
        {
          x++;
          continue;
        }
      int x0 = x;
      if (value != 0)
        while (x < width && row[x] == value)
          x++;
      else
        while (x < width && row[x] != 0)
          x++;
      DgRun run = { y, x0, x };
      g_array_append_val (runs, run);
    }
}

/* ------------------------------------------------------------------------ */
/* The ink mask                                                              */

double
dg_mask_stroke_width (const guint8 *mask, int width, int height)
{
  g_return_val_if_fail (mask != NULL && width > 0 && height > 0, 0.0);

  /* Area over half the perimeter; edges counted between unlike neighbours
   * and at the image's border. */
  guint64 area = 0, edges = 0;
  gboolean below_inked = height > 0 && skip_paper (mask, 0, width) < width;
  for (int y = 0; y < height; y++)
    {
      const guint8 *row = mask + (gsize) y * width;
      const guint8 *below = y + 1 < height ? row + width : NULL;
      /* Most rows of a page are blank, as are their edges with the next. */
      gboolean inked = below_inked;
      below_inked = below != NULL && skip_paper (below, 0, width) < width;
      if (!inked && !below_inked)
        continue;
      guint32 row_area = 0, row_edges = 0;
      for (int x = 0; x < width; x++)
        row_area += row[x] != 0;
      for (int x = 0; x + 1 < width; x++)
        row_edges += (row[x] != 0) != (row[x + 1] != 0);
      if (below != NULL)
        for (int x = 0; x < width; x++)
          row_edges += (row[x] != 0) != (below[x] != 0);
      row_edges += (row[0] != 0) + (row[width - 1] != 0);
      if (y == 0)
        row_edges += row_area;
      if (below == NULL)
        row_edges += row_area;
      area += row_area;
      edges += row_edges;
    }
  return edges > 0 ? 2.0 * area / edges : 0.0;
}

/* dst (width, height) = src (height, width) transposed, in cache-sized
 * tiles; @dst starts zeroed, and tiles without ink (most of a page) are
 * skipped. */
static void
transpose (const guint8 *src, int width, int height, guint8 *dst)
{
  enum { TILE = 64 };
  for (int y0 = 0; y0 < height; y0 += TILE)
    for (int x0 = 0; x0 < width; x0 += TILE)
      {
        int y1 = MIN (height, y0 + TILE), x1 = MIN (width, x0 + TILE);
        gboolean any = FALSE;
        for (int y = y0; y < y1 && !any; y++)
          any = skip_paper (src + (gsize) y * width, x0, x1) < x1;
        if (!any)
          continue;
        for (int x = x0; x < x1; x++)
          for (int y = y0; y < y1; y++)
            dst[(gsize) x * height + y] = src[(gsize) y * width + x];
      }
}

/* ------------------------------------------------------------------------ */
/* Rules                                                                     */

typedef struct
{
  int y0, y1, x0, x1; /* extent, inclusive */
  int rows;           /* rows holding one of its runs */
  int nodes;          /* its runs */
  int last_y;
} Extent;

/* Is there a removed rule pixel (2) in rows [y0, y1], columns [x0, x1]? */
static gboolean
rule_near (const guint8 *mask, int width, int height, int x0, int x1, int y0, int y1)
{
  x0 = MAX (x0, 0);
  x1 = MIN (x1, width - 1);
  y0 = MAX (y0, 0);
  y1 = MIN (y1, height - 1);
  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++)
      if (mask[(gsize) y * width + x] == 2)
        return TRUE;
  return FALSE;
}

/* A rule's line: a run at row y (along it) centred on c (across) is on it
 * when |c - (a + b y)| is at most half its thickness and a pixel, or, before
 * the thickness is known, half a thin run. */
typedef struct
{
  double a, b;      /* pixels, pixels per pixel */
  double thickness; /* pixels; 0 until measured */
} RuleFit;

/* One run of a rule's chain: its chain (root), stretch along the rule and
 * centre across it, for the robust fit. */
typedef struct
{
  int root, bin;
  double c;
} RuleSample;

static gint
compare_rule_samples (gconstpointer a, gconstpointer b)
{
  const RuleSample *p = a, *q = b;
  if (p->root != q->root)
    return (p->root > q->root) - (p->root < q->root);
  if (p->bin != q->bin)
    return (p->bin > q->bin) - (p->bin < q->bin);
  return (p->c > q->c) - (p->c < q->c);
}

static int compare_doubles (const void *a, const void *b);

/* The median of @values (@n of them, sorted in place), @empty when there
 * are none. */
static double
median (double *values, gsize n, double empty)
{
  if (n == 0)
    return empty;
  qsort (values, n, sizeof (double), compare_doubles);
  return values[n / 2];
}

/* Appends to @slopes the slope between each point of (@x, @y) (@n) and
 * each of the next @max_pairs at least @min_dx from it along x: Theil and
 * Sen's line through them has the median of those slopes. */
static void
add_slopes (const double *x, const double *y, int n, double min_dx, int max_pairs, GArray *slopes)
{
  for (int p = 0; p < n; p++)
    for (int q = p + 1, paired = 0; q < n && paired < max_pairs; q++)
      if (x[q] != x[p] && fabs (x[q] - x[p]) >= min_dx)
        {
          double slope = (y[q] - y[p]) / (x[q] - x[p]);
          g_array_append_val (slopes, slope);
          paired++;
        }
}

static gboolean
on_rule_line (const RuleFit *fit, double y, double c, int thin)
{
  double tolerance = fit->thickness > 0.0 ? 0.5 * fit->thickness + 1.5 : 0.5 * thin + 1.0;
  return fabs (c - (fit->a + fit->b * y)) <= tolerance;
}

/* Can a rule run from row @from to row @to in column @x?  Across a gap of
 * two rows of paper (a noisy scan), or across ink of any depth (a digit's
 * stroke crossing it), but not across more paper: two digits' tops in a
 * row are not a rule. */
static gboolean
ink_between (const guint8 *mask, int width, int x, int from, int to)
{
  if (to - from <= 3)
    return TRUE;
  for (int y = from + 1; y < to; y++)
    if (mask[(gsize) y * width + x] == 0)
      return FALSE;
  return TRUE;
}

/* Marks pixels @x0 .. @x1 of row @y of @mask as a rule's (2), and the same
 * pixels of the page, row x, column y, when @mask is it @transposed. */
static void
mark_rule_pixels (guint8 *mask, int width, int height, guint8 *transposed, int y, int x0, int x1)
{
  memset (mask + (gsize) y * width + x0, 2, x1 - x0 + 1);
  for (int x = x0; transposed != NULL && x <= x1; x++)
    transposed[(gsize) x * height + y] = 2;
}

/* Where a digit's stroke lies on a rule, touching it from one side, the
 * runs across both are too thick to go as the rule's, and the rule's
 * stretch under the stroke stayed: a stripe under a 6's bowl read it as a
 * 5, a nub under a 0 as a 9.  Where such runs (going on beyond the rule's
 * band on one side only) follow each other for more than two strokes' width
 * (@s) along the rule, each keeps two strokes' width of ink and loses the
 * rest of the band (@fit of the chains' lines, @line_of and @ext per
 * chain): keeping
 * one, a blurred 8 lost the bottom of its loop and read 0, a flat 0 lost
 * height, and with it the line's digit height, and was cut in two.  A
 * stroke crossing the rule, or ending on it (a currency sign's bar), stays
 * whole. */
static void
trim_touching_strokes (guint8 *mask, int width, int height, double s, guint8 *transposed,
                       const Extent *ext, int n, const int *line_of, const RuleFit *fit)
{
  int *first = g_new (int, MAX (n, 1)), *last = g_new (int, MAX (n, 1)); /* per line: rows */
  for (int l = 0; l < n; l++)
    {
      first[l] = G_MAXINT;
      last[l] = -1;
    }
  for (int r = 0; r < n; r++) /* every chain on a line is a root */
    if (line_of[r] >= 0)
      {
        first[line_of[r]] = MIN (first[line_of[r]], ext[r].y0);
        last[line_of[r]] = MAX (last[line_of[r]], ext[r].y1);
      }
  int keep = MAX (1, (int) lround (2.0 * s));
  /* Per row of the line: which side the ink goes on beyond the band (-1
   * before, +1 after, 0 neither), and the pixels to mark. */
  int *side = g_new (int, height + 1), *from = g_new (int, height), *to = g_new (int, height);
  for (int l = 0; l < n; l++)
    {
      if (last[l] < 0 || fit[l].thickness <= 0.0)
        continue;
      double t = fit[l].thickness;
      for (int y = first[l]; y <= last[l]; y++)
        {
          double c = fit[l].a + fit[l].b * y;
          int lo = MAX (0, (int) lround (c - 0.5 * (t - 1.0)));
          int hi = MIN (width - 1, (int) lround (c + 0.5 * (t - 1.0)));
          const guint8 *row = mask + (gsize) y * width;
          side[y] = 0;
          int x = lo;
          while (x <= hi && row[x] != 1)
            x++;
          if (x > hi)
            continue;
          int x0 = x, x1 = x;
          while (x0 > 0 && row[x0 - 1] == 1)
            x0--;
          while (x1 < width - 1 && row[x1 + 1] == 1)
            x1++;
          if (x1 - x0 + 1 <= 1.3 * t + 1.0)
            continue;
          gboolean before = lo - x0 > 0.5 * s, after = x1 - hi > 0.5 * s;
          if (before && !after && x0 + keep <= x1)
            {
              side[y] = -1;
              from[y] = MAX (lo, x0 + keep);
              to[y] = x1;
            }
          else if (after && !before && x1 - keep >= x0)
            {
              side[y] = 1;
              from[y] = x0;
              to[y] = MIN (hi, x1 - keep);
            }
        }
      side[last[l] + 1] = 0;
      for (int y = first[l], end; y <= last[l]; y = end)
        {
          for (end = y + 1; side[y] != 0 && side[end] == side[y]; end++)
            ;
          if (side[y] != 0 && end - y > 2.0 * s)
            for (int k = y; k < end; k++)
              mark_rule_pixels (mask, width, height, transposed, k, from[k], to[k]);
        }
    }
  g_free (side);
  g_free (from);
  g_free (to);
  g_free (first);
  g_free (last);
}

/* How many times digits' ink crosses chain @root (rows @e->y0 .. @e->y1 of
 * @mask): stretches of rows without a run of the chain where ink that is
 * no rule's lies where the chain would go.  A currency sign's bar, from a
 * box's top to the rule under the digits, is crossed by the S; a box's side
 * is crossed by no more than a digit touching it. */
static int
ink_crossings (const guint8 *mask, int width, Node *nodes, int n, int root, const Extent *e)
{
  int rows = e->y1 - e->y0 + 1;
  int *centre = g_new (int, rows);
  for (int k = 0; k < rows; k++)
    centre[k] = -1;
  for (int i = 0; i < n; i++)
    if (node_root (nodes, i) == root)
      centre[nodes[i].y - e->y0] = (nodes[i].x0 + nodes[i].x1 - 1) / 2;
  int crossings = 0, last = centre[0];
  for (int k = 0; k < rows; k++)
    {
      if (centre[k] >= 0)
        {
          last = centre[k];
          continue;
        }
      int end = k;
      gboolean ink = FALSE;
      for (; end < rows && centre[end] < 0; end++)
        ink |= mask[(gsize) (e->y0 + end) * width + last] == 1;
      crossings += ink;
      k = end - 1;
    }
  g_free (centre);
  return crossings;
}

/* Rules running down the columns of @mask (height rows of width): chains of
 * thin row runs of 1s, each joined to a thin run overlapping it (or its
 * neighbouring column) at most @gap rows above, so that a digit's stroke
 * crossing the rule (where the run is thick) does not break the chain; and
 * centred nearly where that run is (RULE_STEP), so that a digit's flat stroke
 * lying along the rule, thin together with it, does not lead the chain up
 * the digit (a chain that wide is no rule: "855" on the rule of a box read
 * "5").
 * Their pixels become 2.  With @box_sides, shorter chains whose two ends meet
 * rules already marked count too.  Boxes go to @rules.  When @mask is the
 * page transposed, @transposed is the page (width rows of height): rules are
 * marked there too, and their boxes transposed back. */
static int
mark_rules (guint8 *mask, int width, int height, double s, gboolean box_sides,
            guint8 *transposed, GArray *rules)
{
  int thin = (int) (RULE_THIN * s) + 1;
  int gap = (int) (RULE_BRIDGE * s);
  int length = MAX (12, (int) ceil (RULE_LENGTH * s));
  int side_length = MAX (8, (int) ceil (RULE_BOX_SIDE * s));
  GArray *runs = g_array_new (FALSE, FALSE, sizeof (DgRun));
  GArray *node_array = g_array_new (FALSE, FALSE, sizeof (Node));
  /* Per column, the last two runs there (newest first): a chain that a
   * digit's stroke interrupts takes up again beyond it. */
  int *last_row = g_new (int, 2 * (gsize) width), *last_node = g_new (int, 2 * (gsize) width);
  int found = 0;

  for (int x = 0; x < 2 * width; x++)
    last_row[x] = G_MININT / 2;
  for (int y = 0; y < height; y++)
    {
      g_array_set_size (runs, 0);
      row_runs (mask + (gsize) y * width, y, width, 1, runs);
      for (guint r = 0; r < runs->len; r++)
        {
          DgRun run = g_array_index (runs, DgRun, r);
          if (run.x1 - run.x0 > thin)
            continue;
          int id = node_array->len;
          Node node = { run.y, run.x0, run.x1, id };
          g_array_append_val (node_array, node);
          Node *nodes = (Node *) node_array->data;
          for (int x = MAX (0, run.x0 - 1); x <= MIN (width - 1, run.x1); x++)
            for (int k = 2 * x; k < 2 * x + 2; k++)
              if (last_row[k] < y && last_row[k] >= y - gap - 1
                  && ink_between (mask, width, x, last_row[k], y)
                  && abs ((nodes[last_node[k]].x0 + nodes[last_node[k]].x1) - (run.x0 + run.x1))
                         <= 2 * (RULE_STEP * thin + 1 + RULE_STEP_DRIFT * (y - last_row[k] - 1)))
                node_union (nodes, id, last_node[k]);
          int root = node_root (nodes, id);
          for (int x = run.x0; x < run.x1; x++)
            {
              if (last_row[2 * x] >= 0 && node_root (nodes, last_node[2 * x]) != root)
                {
                  last_row[2 * x + 1] = last_row[2 * x];
                  last_node[2 * x + 1] = last_node[2 * x];
                }
              last_row[2 * x] = y;
              last_node[2 * x] = id;
            }
        }
    }
  g_free (last_row);
  g_free (last_node);
  g_array_free (runs, TRUE);

  Node *nodes = (Node *) node_array->data;
  int n = node_array->len;
  Extent *ext = g_new (Extent, MAX (n, 1));
  gboolean *is_rule = g_new0 (gboolean, MAX (n, 1));
  for (int i = 0; i < n; i++)
    ext[i] = (Extent) { G_MAXINT, -1, G_MAXINT, -1, 0, 0, -1 };
  for (int i = 0; i < n; i++)
    {
      Extent *e = &ext[node_root (nodes, i)];
      e->y0 = MIN (e->y0, nodes[i].y);
      e->y1 = MAX (e->y1, nodes[i].y);
      e->x0 = MIN (e->x0, nodes[i].x0);
      e->x1 = MAX (e->x1, nodes[i].x1 - 1);
      if (e->last_y != nodes[i].y)
        e->rows++;
      e->nodes++;
      e->last_y = nodes[i].y;
    }
  for (int i = 0; i < n; i++)
    {
      if (nodes[i].parent != i)
        continue;
      const Extent *e = &ext[i];
      int along = e->y1 - e->y0 + 1, across = e->x1 - e->x0 + 1;
      if (across > RULE_DRIFT * along + thin || 2 * e->rows < along)
        continue;
      if (along >= length)
        is_rule[i] = TRUE;
      else if (!box_sides && along >= RULE_FIELD_LENGTH * s && 2 * along >= height)
        is_rule[i] = TRUE; /* across half a small field: its top or bottom */
      else if (box_sides && along >= side_length)
        is_rule[i] = (e->y0 <= 1
                      || rule_near (mask, width, height, e->x0 - thin, e->x1 + thin,
                                    e->y0 - thin - 1, e->y0 + thin + 1))
                     && (e->y1 >= height - 2
                         || rule_near (mask, width, height, e->x0 - thin, e->x1 + thin,
                                       e->y1 - thin - 1, e->y1 + thin + 1))
                     && ink_crossings (mask, width, nodes, n, i, e) <= 1;
      if (is_rule[i])
        {
          found++;
          if (rules != NULL)
            {
              DgBox box = transposed ? (DgBox) { e->y0, e->x0, along, across }
                                     : (DgBox) { e->x0, e->y0, across, along };
              g_array_append_val (rules, box);
            }
        }
    }
  /* Each rule's line, c = a + b y (c: a run's centre across it), fitted
   * robustly: the chain holds the strokes of digits touching the rule too.
   * The median centre in each stretch of 2 thin runs along the rule, then
   * Theil and Sen's line through those (the median of the slopes between
   * them); its thickness is the mean length of the runs on that line. */
  RuleFit *fit = g_new0 (RuleFit, MAX (n, 1));
  GArray *samples = g_array_new (FALSE, FALSE, sizeof (RuleSample));
  int bin = 2 * thin;
  for (int i = 0; i < n; i++)
    {
      int root = node_root (nodes, i);
      if (!is_rule[root])
        continue;
      RuleSample sample = { root, nodes[i].y / bin, 0.5 * (nodes[i].x0 + nodes[i].x1 - 1) };
      g_array_append_val (samples, sample);
    }
  g_array_sort (samples, compare_rule_samples);
  const RuleSample *sam = (const RuleSample *) samples->data;
  GArray *ys = g_array_new (FALSE, FALSE, sizeof (double));
  GArray *cs = g_array_new (FALSE, FALSE, sizeof (double));
  GArray *slopes = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint start = 0, end; start < samples->len; start = end)
    {
      int root = sam[start].root;
      g_array_set_size (ys, 0);
      g_array_set_size (cs, 0);
      for (end = start; end < samples->len && sam[end].root == root;)
        {
          guint bin_end = end;
          while (bin_end < samples->len && sam[bin_end].root == root && sam[bin_end].bin == sam[end].bin)
            bin_end++;
          double y = (sam[end].bin + 0.5) * bin, c = sam[(end + bin_end) / 2].c;
          g_array_append_val (ys, y);
          g_array_append_val (cs, c);
          end = bin_end;
        }
      const double *y = (const double *) ys->data, *c = (const double *) cs->data;
      g_array_set_size (slopes, 0);
      add_slopes (y, c, ys->len, 0.0, G_MAXINT, slopes);
      fit[root].b = median ((double *) slopes->data, slopes->len, 0.0);
      g_array_set_size (slopes, 0);
      for (guint p = 0; p < ys->len; p++)
        {
          double intercept = c[p] - fit[root].b * y[p];
          g_array_append_val (slopes, intercept);
        }
      fit[root].a = median ((double *) slopes->data, slopes->len, 0.0);
    }
  g_array_free (ys, TRUE);
  g_array_free (cs, TRUE);
  g_array_free (slopes, TRUE);
  g_array_free (samples, TRUE);
  double *run_sum = g_new0 (double, 2 * (gsize) MAX (n, 1)); /* per root: runs, their length */
  for (int i = 0; i < n; i++)
    {
      int root = node_root (nodes, i);
      if (is_rule[root] && on_rule_line (&fit[root], nodes[i].y, 0.5 * (nodes[i].x0 + nodes[i].x1 - 1), thin))
        {
          run_sum[2 * root] += 1;
          run_sum[2 * root + 1] += nodes[i].x1 - nodes[i].x0;
        }
    }
  for (int r = 0; r < n; r++)
    if (is_rule[r] && run_sum[2 * r] > 0)
      fit[r].thickness = run_sum[2 * r + 1] / run_sum[2 * r];
  g_free (run_sum);

  /* Where a digit sits on a rule for longer than a bridge, the rule's end
   * beyond it is a chain of its own, too short to count: chains lying on a
   * rule's line belong to it. */
  int *line_of = g_new (int, MAX (n, 1)); /* per root: the rule whose line it is on */
  for (int r = 0; r < n; r++)
    line_of[r] = is_rule[r] ? r : -1;
  int *off = g_new0 (int, MAX (n, 1));
  for (int l = 0; l < n; l++)
    {
      if (!is_rule[l] || line_of[l] != l || nodes[l].parent != l)
        continue;
      memset (off, 0, sizeof (int) * n);
      for (int i = 0; i < n; i++)
        {
          int root = node_root (nodes, i);
          double c = 0.5 * (nodes[i].x0 + nodes[i].x1 - 1);
          if (line_of[root] < 0 && !on_rule_line (&fit[l], nodes[i].y, c, thin))
            off[root]++;
        }
      for (int i = 0; i < n; i++)
        if (nodes[i].parent == i && line_of[i] < 0 && off[i] == 0
            && ext[i].y1 - ext[i].y0 + 1 >= RULE_PIECE * s)
          line_of[i] = l;
    }
  g_free (off);

  /* Out with the runs on the line and no thicker than the rule: where a
   * digit's stroke lies along it or leaves it, the stroke stays. */
  for (int i = 0; i < n; i++)
    {
      int l = line_of[node_root (nodes, i)];
      double c = 0.5 * (nodes[i].x0 + nodes[i].x1 - 1);
      if (l < 0 || !on_rule_line (&fit[l], nodes[i].y, c, thin)
          || nodes[i].x1 - nodes[i].x0 > 1.3 * fit[l].thickness + 1.0)
        continue;
      mark_rule_pixels (mask, width, height, transposed, nodes[i].y, nodes[i].x0, nodes[i].x1 - 1);
    }
  trim_touching_strokes (mask, width, height, s, transposed, ext, n, line_of, fit);
  g_free (line_of);
  g_free (fit);
  g_free (is_rule);
  g_free (ext);
  g_array_free (node_array, TRUE);
  return found;
}

int
dg_remove_rules (guint8 *mask, int width, int height, double stroke_width, GArray *rules)
{
  g_return_val_if_fail (mask != NULL && width > 0 && height > 0, 0);

  double s = MAX (stroke_width, 1.0);
  /* Horizontal rules first, found as vertical ones in the transposed mask;
   * then vertical ones, the sides of boxes among them. */
  guint8 *turned = g_new0 (guint8, (gsize) width * height);
  transpose (mask, width, height, turned);
  int found = mark_rules (turned, height, width, s, FALSE, mask, rules);
  g_free (turned);
  found += mark_rules (mask, width, height, s, TRUE, NULL, rules);
  return found;
}

/* ------------------------------------------------------------------------ */
/* Components                                                                */

typedef struct
{
  int x0, y0, x1, y1; /* inclusive, image pixels */
  gint64 area;        /* pixels */
  int first, n_runs;  /* its runs: Page.comp_runs[first .. first + n_runs - 1], by row */
  int stack;          /* the first component of its stack (find_stacks) */
  int sy0, sy1;       /* the rows its stack spans */
  gint64 stack_area;  /* the ink of its stack */
} Component;

/* Everything measured on the page once. */
typedef struct
{
  const DgContrast *contrast;
  double s;                /* stroke width, pixels */
  double digit_height;     /* H, pixels */
  GArray *all_runs;        /* DgRun: all ink, rules included, by row */
  GArray *components;      /* Component */
  DgRun *comp_runs;        /* every component's runs, grouped by component */
  GArray *marks;           /* DgMark */
  guint8 *mask;            /* (height, width) 1 = ink, 2 = a rule's ink, 0 = paper */
  int n_rules;
} Page;

static DgBox
component_box (const Component *c)
{
  return (DgBox) { c->x0, c->y0, c->x1 - c->x0 + 1, c->y1 - c->y0 + 1 };
}

/* Joins the runs of 1s in @mask into 8-connected components, dropping specks. */
static void
find_components (Page *page, const guint8 *mask, int width, int height)
{
  GArray *node_array = g_array_new (FALSE, FALSE, sizeof (Node));
  GArray *runs = g_array_new (FALSE, FALSE, sizeof (DgRun));
  int prev_start = 0, prev_end = 0;

  for (int y = 0; y < height; y++)
    {
      const guint8 *row = mask + (gsize) y * width;
      g_array_set_size (runs, 0);
      guint before = page->all_runs->len;
      row_runs (row, y, width, 0, page->all_runs);
      if (page->all_runs->len > before)
        row_runs (row, y, width, 1, runs);
      int start = node_array->len;
      for (guint r = 0; r < runs->len; r++)
        {
          DgRun run = g_array_index (runs, DgRun, r);
          Node node = { run.y, run.x0, run.x1, (int) node_array->len };
          g_array_append_val (node_array, node);
        }
      int end = node_array->len;
      Node *nodes = (Node *) node_array->data;
      int i = prev_start, j = start;
      while (i < prev_end && j < end)
        {
          if (nodes[i].x1 < nodes[j].x0)
            i++;
          else if (nodes[j].x1 < nodes[i].x0)
            j++;
          else
            {
              node_union (nodes, i, j);
              if (nodes[i].x1 < nodes[j].x1)
                i++;
              else
                j++;
            }
        }
      prev_start = start;
      prev_end = end;
    }
  g_array_free (runs, TRUE);

  Node *nodes = (Node *) node_array->data;
  int n = node_array->len;
  int *comp_of = g_new (int, MAX (n, 1));
  Component *stats = g_new (Component, MAX (n, 1));
  for (int i = 0; i < n; i++)
    {
      int root = node_root (nodes, i);
      Component *c = &stats[root];
      if (root == i)
        *c = (Component) { G_MAXINT, G_MAXINT, -1, -1, 0, 0, 0, 0, 0, 0, 0 };
      c->x0 = MIN (c->x0, nodes[i].x0);
      c->x1 = MAX (c->x1, nodes[i].x1 - 1);
      c->y0 = MIN (c->y0, nodes[i].y);
      c->y1 = MAX (c->y1, nodes[i].y);
      c->area += nodes[i].x1 - nodes[i].x0;
      c->n_runs++;
    }

  gint64 min_area = MAX (4, (gint64) (SPECK_AREA * page->s * page->s));
  int total = 0;
  for (int i = 0; i < n; i++)
    {
      comp_of[i] = -1;
      if (nodes[i].parent == i && stats[i].area >= min_area)
        {
          comp_of[i] = page->components->len;
          stats[i].first = total;
          total += stats[i].n_runs;
          stats[i].n_runs = 0;
          g_array_append_val (page->components, stats[i]);
        }
    }
  page->comp_runs = g_new (DgRun, MAX (total, 1));
  Component *comps = (Component *) page->components->data;
  for (int i = 0; i < n; i++)
    {
      int c = comp_of[node_root (nodes, i)];
      if (c < 0)
        continue;
      page->comp_runs[comps[c].first + comps[c].n_runs++]
          = (DgRun) { nodes[i].y, nodes[i].x0, nodes[i].x1 };
    }
  g_free (stats);
  g_free (comp_of);
  g_array_free (node_array, TRUE);
}

static int
compare_ints (const void *a, const void *b)
{
  int x = *(const int *) a, y = *(const int *) b;
  return (x > y) - (x < y);
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static int
overlap (int a0, int a1, int b0, int b1)
{
  return MIN (a1, b1) - MAX (a0, b0) + 1;
}

/* Orders indices into the components, @comps.  The components come as
 * data, never through a global: pages are read on several threads at once
 * (recognize --jobs), and a shared pointer once put one page's digits in
 * another page's order. */
static int
compare_by_x0 (gconstpointer a, gconstpointer b, gpointer comps)
{
  const Component *ca = (const Component *) comps + *(const int *) a;
  const Component *cb = (const Component *) comps + *(const int *) b;
  return (ca->x0 > cb->x0) - (ca->x0 < cb->x0);
}

/* Whether @c is more than a speck or a dot: 2.5 stroke widths across. */
static gboolean
component_sized (const Component *c, double s)
{
  return MAX (c->x1 - c->x0, c->y1 - c->y0) + 1 >= 2.5 * s;
}

/* The digit height: the median height of the stacks that are not small
 * marks (those under 60% of the plain median, e.g. many commas, dashes or
 * dots, would pull it down). */
static double
estimate_digit_height (const Page *page)
{
  const Component *comps = (const Component *) page->components->data;
  int n = page->components->len;
  int *heights = g_new (int, MAX (n, 1));
  int m = 0;
  for (int i = 0; i < n; i++)
    if (comps[i].stack == i && component_sized (&comps[i], page->s))
      heights[m++] = comps[i].sy1 - comps[i].sy0 + 1;
  if (m == 0)
    {
      g_free (heights);
      return 0.0;
    }
  qsort (heights, m, sizeof (int), compare_ints);
  double median = heights[m / 2];
  int first = 0;
  while (first < m && heights[first] < 0.6 * median)
    first++;
  double h = heights[first + (m - first) / 2];
  g_free (heights);
  return h;
}

/* Whether some ink of @c comes within @reach pixels of @d's. */
static gboolean
ink_near (const Page *page, const Component *c, const Component *d, double reach)
{
  const DgRun *rc = page->comp_runs + c->first, *rd = page->comp_runs + d->first;
  int j0 = 0;
  for (int i = 0; i < c->n_runs; i++)
    {
      int y = rc[i].y;
      while (j0 < d->n_runs && rd[j0].y < y - reach)
        j0++;
      for (int j = j0; j < d->n_runs && rd[j].y <= y + reach; j++)
        {
          int dx = MAX (0, MAX (rd[j].x0 - rc[i].x1 + 1, rc[i].x0 - rd[j].x1 + 1));
          int dy = rd[j].y - y;
          if (dx * dx + dy * dy <= reach * reach)
            return TRUE;
        }
    }
  return FALSE;
}

/* The first component of @i's stack, as find_stacks joins them. */
static int
stack_root (const Component *comps, int i)
{
  while (comps[i].stack != i)
    i = comps[i].stack;
  return i;
}

/* Each component's stack: itself and the pieces one above another with it
 * (STACK_GAP, STACK_ACROSS, STACK_OVERLAP; not two together over
 * STACK_ASPECT times as tall as wide), which are read as one digit's for
 * its height and its line.  A digit broken across (a 5 whose bar came off,
 * an 8 in two loops, a stroke too faint in one place) is otherwise several
 * short pieces, each its own line, and alone on a page they would set the
 * digit height too.  Then the digit height, H: stacks taller than
 * STACK_TALL H (digits of two lines close above each other) are split up
 * again, and H measured again, until none is. */
static void
find_stacks (Page *page)
{
  Component *comps = (Component *) page->components->data;
  int n = page->components->len;
  int *order = g_new (int, MAX (n, 1));
  int m = 0;
  for (int i = 0; i < n; i++)
    {
      comps[i].stack = i;
      if (component_sized (&comps[i], page->s))
        order[m++] = i;
    }
  g_qsort_with_data (order, m, sizeof (int), compare_by_x0, comps);
  double reach = STACK_GAP * page->s;
  for (int a = 0; a < m; a++)
    {
      const Component *c = &comps[order[a]];
      for (int b = a + 1; b < m && comps[order[b]].x0 <= c->x1 + reach; b++)
        {
          const Component *d = &comps[order[b]];
          int lower = MIN (c->y1 - c->y0, d->y1 - d->y0) + 1;
          int narrower = MIN (c->x1 - c->x0, d->x1 - d->x0) + 1;
          int across = overlap (c->y0, c->y1, d->y0, d->y1);
          int tall = MAX (c->y1, d->y1) - MIN (c->y0, d->y0) + 1;
          int wide = MAX (c->x1, d->x1) - MIN (c->x0, d->x0) + 1;
          if (across < STACK_ACROSS * lower && across >= -reach && tall <= STACK_ASPECT * wide
              && (overlap (c->x0, c->x1, d->x0, d->x1) >= STACK_OVERLAP * narrower
                  || ink_near (page, c, d, reach)))
            {
              int ra = stack_root (comps, order[a]), rb = stack_root (comps, order[b]);
              comps[MAX (ra, rb)].stack = MIN (ra, rb);
            }
        }
    }
  g_free (order);

  for (;;)
    {
      for (int i = 0; i < n; i++)
        {
          int r = stack_root (comps, i);
          comps[i].stack = r;
          if (r == i)
            comps[i].sy0 = comps[i].y0, comps[i].sy1 = comps[i].y1, comps[i].stack_area = 0;
        }
      for (int i = 0; i < n; i++)
        {
          Component *root = &comps[comps[i].stack];
          root->sy0 = MIN (root->sy0, comps[i].y0);
          root->sy1 = MAX (root->sy1, comps[i].y1);
          root->stack_area += comps[i].area;
        }
      for (int i = 0; i < n; i++)
        {
          const Component *root = &comps[comps[i].stack];
          comps[i].sy0 = root->sy0;
          comps[i].sy1 = root->sy1;
          comps[i].stack_area = root->stack_area;
        }
      page->digit_height = estimate_digit_height (page);
      gboolean undone = FALSE;
      for (int i = 0; i < n; i++)
        if (comps[i].stack != i && comps[i].sy1 - comps[i].sy0 + 1 > STACK_TALL * page->digit_height)
          undone = TRUE;
      if (!undone)
        break;
      for (int i = 0; i < n; i++)
        if (comps[i].sy1 - comps[i].sy0 + 1 > STACK_TALL * page->digit_height)
          comps[i].stack = i;
    }
  for (int i = 0; i < n; i++)
    if (comps[i].stack != i)
      g_debug ("stack: component at %d,%d %dx%d is a piece of the one at %d,%d (rows %d..%d)",
               comps[i].x0, comps[i].y0, comps[i].x1 - comps[i].x0 + 1, comps[i].y1 - comps[i].y0 + 1,
               comps[comps[i].stack].x0, comps[comps[i].stack].y0, comps[i].sy0, comps[i].sy1);
  g_debug ("digit height %.0f", page->digit_height);
}

/* ------------------------------------------------------------------------ */
/* Lines of text                                                             */

typedef struct
{
  GArray *members; /* int: component indices */
  int y0, y1, x0;  /* band and left end of the big members, pixels */
  double cy;       /* mean centre of the big members */
  int row;         /* row of lines (fields side by side share one) */
} Line;

static int
compare_by_x_centre (gconstpointer a, gconstpointer b, gpointer comps)
{
  const Component *ca = (const Component *) comps + *(const int *) a;
  const Component *cb = (const Component *) comps + *(const int *) b;
  int xa = ca->x0 + ca->x1, xb = cb->x0 + cb->x1;
  return (xa > xb) - (xa < xb);
}

static int
compare_lines (const void *a, const void *b)
{
  const Line *la = a, *lb = b;
  if (la->row != lb->row)
    return (la->row > lb->row) - (la->row < lb->row);
  return (la->x0 > lb->x0) - (la->x0 < lb->x0);
}

static int
compare_lines_by_centre (const void *a, const void *b)
{
  const Line *la = a, *lb = b;
  return (la->cy > lb->cy) - (la->cy < lb->cy);
}

/* Groups the components into lines: big ones (at least H / 2 tall) chain
 * left to right with a line whose last full-height member they overlap
 * vertically, and whose right end is within LINE_GAP (measured from any
 * member: after a few short digits the last full-height one may be far);
 * small ones join the line with a member nearest them, if close.  The rest
 * become marks.  Returns the lines (Line) in reading order. */
static GArray *
find_lines (Page *page)
{
  const Component *comps = (const Component *) page->components->data;
  int n = page->components->len;
  double H = page->digit_height;
  GArray *lines = g_array_new (FALSE, FALSE, sizeof (Line));
  int *order = g_new (int, MAX (n, 1));
  int *last = g_new (int, MAX (n, 1)); /* per line: its rightmost full-height member */
  int *right = g_new (int, MAX (n, 1)); /* per line: the right end of its members */

  for (int i = 0; i < n; i++)
    order[i] = i;
  g_qsort_with_data (order, n, sizeof (int), compare_by_x0, (gpointer) comps);

  for (int k = 0; k < n; k++)
    {
      const Component *c = &comps[order[k]];
      int h = c->sy1 - c->sy0 + 1;
      if (h < 0.5 * H)
        continue;
      int best = -1;
      double best_overlap = 0.0;
      for (guint l = 0; l < lines->len; l++)
        {
          const Component *m = &comps[last[l]];
          int hm = m->sy1 - m->sy0 + 1;
          double ov = overlap (c->sy0, c->sy1, m->sy0, m->sy1) / (double) MIN (h, hm);
          if (ov >= 0.4 && c->x0 - right[l] <= LINE_GAP * H && ov > best_overlap)
            {
              best = l;
              best_overlap = ov;
            }
        }
      if (best < 0)
        {
          Line line = { g_array_new (FALSE, FALSE, sizeof (int)), 0, 0, 0, 0.0, 0 };
          g_array_append_val (lines, line);
          best = lines->len - 1;
          right[best] = c->x1;
        }
      g_array_append_val (g_array_index (lines, Line, best).members, order[k]);
      /* The line's band goes on from its rightmost full-height member: a
       * half-height piece (one loop of a broken 8) would let the other
       * piece, beside it but higher, start a line of its own. */
      if (g_array_index (lines, Line, best).members->len == 1
          || (c->x1 > comps[last[best]].x1 && h >= LINE_FULL * H))
        last[best] = order[k];
      right[best] = MAX (right[best], c->x1);
    }

  for (guint l = 0; l < lines->len; l++)
    {
      Line *line = &g_array_index (lines, Line, l);
      line->y0 = G_MAXINT;
      line->y1 = -1;
      line->x0 = G_MAXINT;
      for (guint j = 0; j < line->members->len; j++)
        {
          const Component *m = &comps[g_array_index (line->members, int, j)];
          line->y0 = MIN (line->y0, m->y0);
          line->y1 = MAX (line->y1, m->y1);
          line->x0 = MIN (line->x0, m->x0);
          line->cy += 0.5 * (m->y0 + m->y1) / line->members->len;
        }
    }

  /* Small components: to the line of the nearest big member whose band,
   * widened by H / 2, holds their centre, if within 1.5 H; else marks. */
  for (int i = 0; i < n; i++)
    {
      const Component *c = &comps[i];
      if (c->sy1 - c->sy0 + 1 >= 0.5 * H)
        continue;
      double cy = 0.5 * (c->y0 + c->y1);
      int best = -1;
      double best_distance = 1.5 * H;
      for (guint l = 0; l < lines->len; l++)
        {
          const Line *line = &g_array_index (lines, Line, l);
          for (guint j = 0; j < line->members->len; j++)
            {
              const Component *m = &comps[g_array_index (line->members, int, j)];
              if (cy < m->y0 - 0.5 * H || cy > m->y1 + 0.5 * H)
                continue;
              double dx = MAX (0, MAX (m->x0 - c->x1, c->x0 - m->x1));
              if (dx <= best_distance)
                {
                  best = l;
                  best_distance = dx;
                }
            }
        }
      if (best >= 0)
        g_array_append_val (g_array_index (lines, Line, best).members, i);
      else
        {
          DgMark mark = { component_box (c), DG_MARK_SPECK, -1 };
          g_array_append_val (page->marks, mark);
        }
    }

  /* Reading order: rows of lines top to bottom (lines whose bands overlap
   * by half share a row: fields side by side), left to right in a row. */
  qsort (lines->data, lines->len, sizeof (Line), compare_lines_by_centre);
  int row = -1, row_y0 = 0, row_y1 = -1;
  for (guint l = 0; l < lines->len; l++)
    {
      Line *line = &g_array_index (lines, Line, l);
      int ov = overlap (line->y0, line->y1, row_y0, row_y1);
      if (row < 0 || 2 * ov < MIN (line->y1 - line->y0, row_y1 - row_y0) + 1)
        {
          row++;
          row_y0 = line->y0;
          row_y1 = line->y1;
        }
      line->row = row;
    }
  qsort (lines->data, lines->len, sizeof (Line), compare_lines);
  for (guint l = 0; l < lines->len; l++)
    {
      Line *line = &g_array_index (lines, Line, l);
      g_qsort_with_data (line->members->data, line->members->len, sizeof (int),
                         compare_by_x_centre, (gpointer) comps);
    }

  g_free (order);
  g_free (last);
  g_free (right);
  return lines;
}

/* ------------------------------------------------------------------------ */
/* Candidate digits                                                          */

/* A cut through one atom, top to bottom: the part left of x[y - y0] goes
 * left.  (height of the atom) */
typedef struct
{
  int *x;      /* (y1 - y0 + 1) image columns */
  int y0, y1;
  double mean; /* mean column */
  double cost; /* ink crossed, pixels */
} Cut;

/* A candidate digit: atoms[0 .. n_atoms - 1] of a line merged, or one
 * atom between two of its cuts. */
typedef struct
{
  int line;
  int atoms[MAX_MERGE]; /* indices into the line's atoms */
  int n_atoms;
  const Cut *left, *right; /* NULL: the atom's edge (set only while it is prepared) */
  gboolean cut;            /* a slice of an atom, between its cuts */
  DgBox box;               /* its ink, image pixels */
  gint64 area;             /* pixels */
  gboolean ok;             /* normalised and classified */
  int digit;
  float probs[DG_CLASSES];
  float fit;               /* how well it reads as one digit, log-probability */
  float input[DG_IMAGE_PIXELS];
} Piece;

/* An atom read by the pair model as two digits that overlap, which no cut
 * parts: the left one from the atom's image (dg_preprocess_pair), the
 * right one from the image mirrored. */
typedef struct _Pair
{
  DgBox box;               /* the atom's ink, image pixels */
  int split;               /* the column its two digits' boxes meet at */
  gboolean ok;
  float probs[2][DG_CLASSES];
  float fit[2];
  float input[2 * DG_IMAGE_PIXELS]; /* the left view, then the right (dg_preprocess_pair) */
} Pair;

/* The runs of @piece. */
static GArray *
piece_runs (const Page *page, const Line *line, const Piece *piece)
{
  const Component *comps = (const Component *) page->components->data;
  GArray *runs = g_array_new (FALSE, FALSE, sizeof (DgRun));
  for (int a = 0; a < piece->n_atoms; a++)
    {
      const Component *c = &comps[g_array_index (line->members, int, piece->atoms[a])];
      for (int r = 0; r < c->n_runs; r++)
        {
          DgRun run = page->comp_runs[c->first + r];
          if (piece->left != NULL)
            run.x0 = MAX (run.x0, piece->left->x[run.y - piece->left->y0]);
          if (piece->right != NULL)
            run.x1 = MIN (run.x1, piece->right->x[run.y - piece->right->y0]);
          if (run.x1 > run.x0)
            g_array_append_val (runs, run);
        }
    }
  return runs;
}

/* Measures @piece's box and area and normalises it into piece->input;
 * FALSE when it holds no ink. */
/* Where a rule ran through a digit's stroke, its pixels were taken out of
 * the stroke too: give back to @runs (the digit's) the rule pixels with the
 * digit's ink right above and right below them in their column. */
static void
heal_rule_crossings (const Page *page, GArray *runs)
{
  int x0 = G_MAXINT, y0 = G_MAXINT, x1 = -1, y1 = -1;
  for (guint r = 0; r < runs->len; r++)
    {
      const DgRun *run = &g_array_index (runs, DgRun, r);
      x0 = MIN (x0, run->x0);
      x1 = MAX (x1, run->x1 - 1);
      y0 = MIN (y0, run->y);
      y1 = MAX (y1, run->y);
    }
  if (x1 < 0)
    return;
  int w = x1 - x0 + 1, h = y1 - y0 + 1, width = page->contrast->width;
  guint8 *own = g_new0 (guint8, (gsize) w * h);
  for (guint r = 0; r < runs->len; r++)
    {
      const DgRun *run = &g_array_index (runs, DgRun, r);
      memset (own + (gsize) (run->y - y0) * w + (run->x0 - x0), 1, run->x1 - run->x0);
    }
  int reach = 2;
  for (int x = 0; x < w; x++)
    for (int y = 0; y < h; y++)
      {
        if (page->mask[(gsize) (y0 + y) * width + x0 + x] != 2)
          continue;
        int end = y;
        while (end + 1 < h && page->mask[(gsize) (y0 + end + 1) * width + x0 + x] == 2)
          end++;
        gboolean above = FALSE, below = FALSE;
        for (int d = 1; d <= reach; d++)
          {
            above |= y - d >= 0 && own[(gsize) (y - d) * w + x];
            below |= end + d < h && own[(gsize) (end + d) * w + x];
          }
        for (int yy = y; above && below && yy <= end; yy++)
          {
            DgRun pixel = { y0 + yy, x0 + x, x0 + x + 1 };
            g_array_append_val (runs, pixel);
          }
        y = end;
      }
  g_free (own);
}

/* The ink of @piece (rules it crossed given back) and its box and area. */
static GArray *
piece_ink (const Page *page, const Line *line, Piece *piece)
{
  GArray *runs = piece_runs (page, line, piece);
  if (page->n_rules > 0)
    heal_rule_crossings (page, runs);
  int x0 = G_MAXINT, y0 = G_MAXINT, x1 = -1, y1 = -1;
  piece->area = 0;
  for (guint r = 0; r < runs->len; r++)
    {
      const DgRun *run = &g_array_index (runs, DgRun, r);
      x0 = MIN (x0, run->x0);
      x1 = MAX (x1, run->x1 - 1);
      y0 = MIN (y0, run->y);
      y1 = MAX (y1, run->y);
      piece->area += run->x1 - run->x0;
    }
  piece->box = x1 >= 0 ? (DgBox) { x0, y0, x1 - x0 + 1, y1 - y0 + 1 } : (DgBox) { 0, 0, 0, 0 };
  return runs;
}

static gboolean
prepare_piece (const Page *page, const Line *line, Piece *piece)
{
  GArray *runs = piece_ink (page, line, piece);
  piece->ok = piece->box.width > 0
              && dg_preprocess_runs (page->contrast, (const DgRun *) runs->data, runs->len,
                                     (const DgRun *) page->all_runs->data, page->all_runs->len,
                                     piece->input, NULL);
  g_array_free (runs, TRUE);
  return piece->ok;
}

/* Normalises @slice (an atom, or a slice of one between its cuts) as a
 * pair into pair->input: the left digit's view and the right one's
 * (mirrored).  Its digits' boxes meet at the cut of the atom's @cuts
 * (@n_cuts) nearest the slice's middle, or at the middle.  FALSE when it
 * holds no ink. */
static gboolean
prepare_pair (const Page *page, const Line *line, Piece *slice, const Cut *cuts, int n_cuts,
              Pair *pair)
{
  GArray *runs = piece_ink (page, line, slice);
  pair->box = slice->box;
  pair->ok = slice->box.width > 0
             && dg_preprocess_pair (page->contrast, (const DgRun *) runs->data, runs->len,
                                    (const DgRun *) page->all_runs->data, page->all_runs->len,
                                    pair->input, NULL);
  g_array_free (runs, TRUE);
  double middle = pair->box.x + 0.5 * pair->box.width;
  pair->split = (int) middle;
  for (int k = 0; k < n_cuts; k++)
    if (cuts[k].mean > pair->box.x && cuts[k].mean < pair->box.x + pair->box.width - 1
        && fabs (cuts[k].mean - middle) < fabs (pair->split - middle))
      pair->split = (int) lround (cuts[k].mean);
  return pair->ok;
}

/* The cheapest cut down through the atom @c from near column @column: one
 * column per row, within CUT_REACH of @column, the part left of it going
 * left.  What a cut costs is the ink it tears apart: in each row the link
 * between the pixels either side of it, and where it moves sideways from
 * one row to the next, the links between the rows in the columns it moves
 * across.  Moving through paper is free, so the cut follows the gap between
 * two touching digits however it winds (each row of one lies left of the
 * other's except where they touch), and only crosses ink where they meet.
 * @ink (c's height, c's width) is each pixel's strength: 0 off c, 0.05 ..
 * 1 on its ink from the threshold to full strength. */
static Cut
cut_path (const Component *c, const float *ink, int column, double H)
{
  int w = c->x1 - c->x0 + 1, h = c->y1 - c->y0 + 1;
  int reach = MAX (2, (int) (CUT_REACH * H));
  int edge = MAX (1, (int) (CUT_EDGE * H));
  int lo = MAX (edge, column - reach), hi = MIN (w - edge, column + reach);
  if (hi < lo)
    lo = hi = CLAMP (column, 1, w - 1);
  int span = hi - lo + 1;
  float *cost = g_new (float, (gsize) h * span);
  int *from = g_new (int, (gsize) h * span); /* (h, span) where in the row above it came from */
  float *left = g_new (float, span), *right = g_new (float, span), *link = g_new (float, span);
  int *left_from = g_new (int, span), *right_from = g_new (int, span);

  for (int y = 0; y < h; y++)
    {
      const float *row = ink + (gsize) y * w;
      float *here = cost + (gsize) y * span;
      int *step = from + (gsize) y * span;
      if (y > 0)
        {
          /* Moving sideways by one column tears the link down that column
           * (between this row and the one above), plus a little to keep
           * the cut straight where nothing is torn. */
          const float *prev = here - span, *above = row - w;
          for (int i = 0; i < span; i++)
            link[i] = MIN (row[lo + i], above[lo + i]) + CUT_SIDEWAYS;
          left[0] = prev[0];
          left_from[0] = 0;
          for (int i = 1; i < span; i++)
            {
              float moved = left[i - 1] + link[i - 1];
              left[i] = moved < prev[i] ? moved : prev[i];
              left_from[i] = moved < prev[i] ? left_from[i - 1] : i;
            }
          right[span - 1] = prev[span - 1];
          right_from[span - 1] = span - 1;
          for (int i = span - 2; i >= 0; i--)
            {
              float moved = right[i + 1] + link[i];
              right[i] = moved < prev[i] ? moved : prev[i];
              right_from[i] = moved < prev[i] ? right_from[i + 1] : i;
            }
        }
      for (int i = 0; i < span; i++)
        {
          int x = lo + i;
          float torn = MIN (row[x - 1], row[x]) + 0.001f * abs (x - column);
          if (y == 0)
            {
              here[i] = torn;
              step[i] = i;
            }
          else if (left[i] <= right[i])
            {
              here[i] = left[i] + torn;
              step[i] = left_from[i];
            }
          else
            {
              here[i] = right[i] + torn;
              step[i] = right_from[i];
            }
        }
    }

  int end = 0;
  for (int i = 1; i < span; i++)
    if (cost[(gsize) (h - 1) * span + i] < cost[(gsize) (h - 1) * span + end])
      end = i;
  Cut cut = { g_new (int, h), c->y0, c->y1, 0.0, 0.0 };
  for (int y = h - 1, i = end; y >= 0; y--)
    {
      const float *row = ink + (gsize) y * w;
      int x = lo + i;
      cut.x[y] = c->x0 + x;
      cut.mean += (double) cut.x[y] / h;
      cut.cost += MIN (row[x - 1], row[x]);
      int prev = from[(gsize) y * span + i];
      for (int j = MIN (i, prev); y > 0 && j < MAX (i, prev); j++)
        cut.cost += MIN (row[lo + j], row[lo + j - w]); /* the link down column lo + j */
      i = prev;
    }
  g_free (cost);
  g_free (from);
  g_free (left);
  g_free (right);
  g_free (link);
  g_free (left_from);
  g_free (right_from);
  return cut;
}

double
dg_mask_cut (const guint8 *mask, int width, int height, int column, double digit_height, int *cut_x)
{
  g_return_val_if_fail (mask != NULL && width >= 2 && height > 0 && cut_x != NULL, 0.0);
  g_return_val_if_fail (digit_height > 0.0, 0.0);

  Component all = { 0, 0, width - 1, height - 1, 0, 0, 0 };
  float *ink = g_new (float, (gsize) width * height);
  for (gsize i = 0; i < (gsize) width * height; i++)
    ink[i] = mask[i] != 0 ? 1.0f : 0.0f;
  Cut cut = cut_path (&all, ink, CLAMP (column, 1, width - 1), digit_height);
  memcpy (cut_x, cut.x, sizeof (int) * height);
  g_free (cut.x);
  g_free (ink);
  return cut.cost;
}

static int
compare_cuts (const void *a, const void *b)
{
  const Cut *ca = a, *cb = b;
  return (ca->mean > cb->mean) - (ca->mean < cb->mean);
}

/* Where atom @c might be two or more touching digits: the cheapest cut
 * (cut_path) from every few columns, the cheapest first, at most
 * CUTS_PER_H per digit height of its width and 0.08 H apart.  Cuts that
 * part the ink alike are one (a cut wandering through paper).  Appends
 * them to @cuts (Cut), sorted left to right. */
static void
find_cuts (const Page *page, const Component *c, double H, GArray *cuts)
{
  int w = c->x1 - c->x0 + 1, h = c->y1 - c->y0 + 1;
  float *ink = g_new0 (float, (gsize) w * h);
  const DgContrast *contrast = page->contrast;
  double low = contrast->threshold, high = MAX (contrast->ink_level, low + 1.0);
  for (int r = 0; r < c->n_runs; r++)
    {
      const DgRun *run = &page->comp_runs[c->first + r];
      const guint8 *grey = contrast->contrast + (gsize) run->y * contrast->width;
      for (int x = run->x0; x < run->x1; x++)
        /* How strong the ink is: 0 at the threshold (soft edges where two
         * digits touch), 1 at full ink. */
        ink[(gsize) (run->y - c->y0) * w + x - c->x0] = (float) CLAMP ((grey[x] - low) / (high - low), 0.05, 1.0);
    }

  int edge = MAX (1, (int) (CUT_EDGE * H));
  int max_cuts = CLAMP ((int) lround (CUTS_PER_H * w / H), 3, MAX_CUTS);
  int stride = MAX (1, (int) (CUT_STRIDE * H));
  GArray *tried = g_array_new (FALSE, FALSE, sizeof (Cut));
  for (int x = edge; x < w - edge; x += stride)
    {
      Cut cut = cut_path (c, ink, x, H);
      g_array_append_val (tried, cut);
    }
  /* And straight down each column: where one digit leans into the next
   * (a 1 against a 5's stem), the cheapest winding cut may wander off
   * into a stroke of the other. */
  int n_winding = tried->len;
  for (int x = edge; x < w - edge; x += stride)
    {
      Cut cut = { g_new (int, h), c->y0, c->y1, c->x0 + x, 0.0 };
      for (int y = 0; y < h; y++)
        {
          const float *row = ink + (gsize) y * w;
          cut.x[y] = c->x0 + x;
          cut.cost += MIN (row[x - 1], row[x]);
        }
      g_array_append_val (tried, cut);
    }
  g_free (ink);

  /* How much ink lies left of each: alike parts of the ink, alike cuts. */
  gint64 *left_area = g_new0 (gint64, MAX (tried->len, 1));
  for (guint i = 0; i < tried->len; i++)
    {
      const Cut *cut = &g_array_index (tried, Cut, i);
      for (int r = 0; r < c->n_runs; r++)
        {
          const DgRun *run = &page->comp_runs[c->first + r];
          left_area[i] += CLAMP (cut->x[run->y - c->y0], run->x0, run->x1) - run->x0;
        }
    }

  /* The cheapest winding cuts first, then the cheapest straight ones; a
   * cut that leaves the same ink on its left as one kept is no other cut,
   * nor is a winding one close to one kept. */
  int first = cuts->len, kept = 0;
  gint64 *kept_area = g_new (gint64, MAX_CUTS);
  for (int straight = 0; straight < 2; straight++)
    {
      guint from = straight ? n_winding : 0, to = straight ? tried->len : (guint) n_winding;
      int limit = straight ? MIN (MAX_CUTS, kept + STRAIGHT_CUTS) : max_cuts;
      while (kept < limit)
        {
          int best = -1;
          for (guint i = from; i < to; i++)
            {
              const Cut *cut = &g_array_index (tried, Cut, i);
              if (cut->x != NULL && (best < 0 || cut->cost < g_array_index (tried, Cut, best).cost))
                best = i;
            }
          if (best < 0)
            break;
          Cut cut = g_array_index (tried, Cut, best);
          g_array_index (tried, Cut, best).x = NULL;
          gboolean near = FALSE;
          for (int j = 0; j < kept && !near; j++)
            near = (!straight && fabs (g_array_index (cuts, Cut, first + j).mean - cut.mean) < 0.08 * H)
                   || kept_area[j] == left_area[best];
          if (near)
            g_free (cut.x);
          else
            {
              g_array_append_val (cuts, cut);
              kept_area[kept++] = left_area[best];
            }
        }
    }
  g_free (kept_area);
  for (guint i = 0; i < tried->len; i++)
    g_free (g_array_index (tried, Cut, i).x);
  g_array_free (tried, TRUE);
  g_free (left_area);
  if ((int) cuts->len > first) /* an empty GArray's data is NULL, which qsort may not take */
    qsort ((Cut *) cuts->data + first, cuts->len - first, sizeof (Cut), compare_cuts);
}

/* ------------------------------------------------------------------------ */
/* Scores and the dynamic programme                                          */

/* The ends of a line's amount: its first and last atoms that could be
 * digits or signs (not a box's side, not a comma), and the band its digits
 * fill: rows top + slope x and bottom + slope x at column x (a page turned
 * by 5 degrees lowers a line of ten digits by nearly a digit's height from
 * its first to its last). */
typedef struct
{
  int first, last;
  double top, bottom, slope;
} LineEnds;

/* The band's top and bottom rows at column @x. */
static double
band_top (const LineEnds *ends, double x)
{
  return ends->top + ends->slope * x;
}

static double
band_bottom (const LineEnds *ends, double x)
{
  return ends->bottom + ends->slope * x;
}

/* A line being read: its atoms, their candidates and the best readings. */
typedef struct
{
  Line *line;
  const Component *comps; /* the page's components */
  double H;            /* this line's digit height, pixels */
  gboolean alone;      /* at most one digit-sized atom on the line: H is its own height */
  double s;            /* the page's stroke width, pixels */
  GArray *cuts;        /* Cut: every atom's cuts */
  double digit_area;   /* median ink of its digits, pixels */
  int n_atoms;
  int *single;         /* (n_atoms) index of the atom alone in the pieces */
  int *merged;         /* (n_atoms, MAX_MERGE) index of atoms i .. i + k merged, or -1 */
  gboolean *merge_needs_doubt; /* (n_atoms, MAX_MERGE) taken only if a part reads unsure */
  int *first_cut;      /* (n_atoms) this atom's cuts: cuts[first_cut .. first_cut + n_cuts) */
  int *n_cuts;
  int *first_slice;    /* (n_atoms) pieces between its cuts, see slice_index */
  int *first_pair;     /* (n_atoms) its slices read as pairs, as first_slice, or -1 */
  const struct _Pair *pairs;
  LineEnds ends;
} LineWork;

/* Whether @c is a comma or a full stop beside @other, a digit (or a piece
 * of one whose stack is a digit's height: the top loop of an 8 in two, with
 * the comma, read as a 9): narrow and short, low in the band @ends' digits
 * fill, and side by side with it (not a piece of a small digit broken
 * apart, beside another piece) or hanging below the band (under a 4's
 * stem, where no piece of a digit hangs).  Merged, "0," reads as a 9 and
 * "7," as a 3, so such merges are never tried. */
static gboolean
comma_beside (const Component *c, const Component *other, double H, const LineEnds *ends)
{
  int narrower = MIN (c->x1 - c->x0, other->x1 - other->x0) + 1;
  double x = 0.5 * (c->x0 + c->x1);
  return c->x1 - c->x0 + 1 < COMMA_WIDTH * H && c->y1 - c->y0 + 1 < MERGE_SHORT * H
         && other->sy1 - other->sy0 + 1 >= MERGE_SHORT * H
         && (overlap (c->x0, c->x1, other->x0, other->x1) < MERGE_OVERLAP * narrower
             || c->y1 >= band_bottom (ends, x) + COMMA_BELOW * H)
         && c->y0 >= band_top (ends, x) + COMMA_LOW * (ends->bottom - ends->top);
}

/* @work's LineEnds, from its atoms of a digit's height (0.5 .. 1.7 H): the
 * band's slope is the median of those between their tops and between
 * their bottoms (each atom with the next BAND_PAIRS at least half a
 * digit's height to its right: a digit written tall, taller at one end
 * only, does not tilt the band), its top and bottom the median of theirs
 * once the slope is taken out. */
static void
find_line_ends (LineWork *work)
{
  int n = work->n_atoms, n_like = 0;
  double *xs = g_new (double, MAX (n, 1)), *tops = g_new (double, MAX (n, 1));
  double *bottoms = g_new (double, MAX (n, 1));
  work->ends.first = work->ends.last = -1;
  for (int a = 0; a < n; a++)
    {
      const Component *c = &work->comps[g_array_index (work->line->members, int, a)];
      double rh = (c->sy1 - c->sy0 + 1) / work->H;
      if (rh >= 0.5 && rh <= 1.7)
        {
          if (work->ends.first < 0)
            work->ends.first = a;
          work->ends.last = a;
          xs[n_like] = 0.5 * (c->x0 + c->x1);
          tops[n_like] = c->sy0;
          bottoms[n_like++] = c->sy1;
        }
    }

  GArray *slopes = g_array_new (FALSE, FALSE, sizeof (double));
  add_slopes (xs, tops, n_like, 0.5 * work->H, BAND_PAIRS, slopes);
  add_slopes (xs, bottoms, n_like, 0.5 * work->H, BAND_PAIRS, slopes);
  double slope
      = CLAMP (median ((double *) slopes->data, slopes->len, 0.0), -BAND_SLOPE, BAND_SLOPE);
  g_array_free (slopes, TRUE);

  for (int i = 0; i < n_like; i++)
    {
      tops[i] -= slope * xs[i];
      bottoms[i] -= slope * xs[i];
    }
  work->ends.top = median (tops, n_like, 0.0);
  work->ends.bottom = median (bottoms, n_like, 0.0);
  work->ends.slope = slope;
  g_free (xs);
  g_free (tops);
  g_free (bottoms);
}

/* Index of the slice between cut a and cut b (0 = left edge, n_cuts + 1 =
 * right edge) of an atom with n_cuts cuts, among its slices. */
static int
slice_index (int n_cuts, int a, int b)
{
  return a * (n_cuts + 2) + b;
}

/* Index of the slice between cut a and cut b of an atom with n_cuts cuts
 * among those read as pairs: the slices from its left edge, then those to
 * its right edge (2 n_cuts + 1 in all); -1 for the others. */
static int
pair_index (int n_cuts, int a, int b)
{
  return a == 0 ? b - 1 : b == n_cuts + 1 ? n_cuts + a : -1;
}

/* Whether atom @a of the line overlaps neither neighbour across
 * MERGE_OVERLAP of the narrower's width: it stands beside them, not above
 * or below one (a 5's bar, the top of a 2 broken off). */
static gboolean
stands_apart (const LineWork *work, int a)
{
  const Component *c = &work->comps[g_array_index (work->line->members, int, a)];
  for (int b = a - 1; b <= a + 1; b += 2)
    {
      if (b < 0 || b >= work->n_atoms)
        continue;
      const Component *d = &work->comps[g_array_index (work->line->members, int, b)];
      int narrower = MIN (c->x1 - c->x0, d->x1 - d->x0) + 1;
      if (overlap (c->x0, c->x1, d->x0, d->x1) >= MERGE_OVERLAP * narrower)
        return FALSE;
    }
  return TRUE;
}

/* The score of a digit: how sure the network is, less what its shape says
 * against it being one digit.  Signs and commas are read unsure (the
 * strings model learnt them as no digit), so a short atom read surely is a
 * digit written small or flat, and being short costs it less: "872" with
 * its 2 half as tall as the 8 read "87", and "$65-" with a flat 5 "6".  So
 * it does for an atom as wide as a digit and over 0.4 H tall that stands
 * apart from its neighbours, read unsure: a 2 written flat and small
 * ("$923,338-" read "93338").  A 5's bar is thinner (SHORT_FLAT_TALL) and
 * above its body, as is the top of a 2 broken off ("848293" read
 * "8486293" without stands_apart). */
static double
piece_score (const Piece *piece, const LineWork *work)
{
  double H = work->H;
  if (!piece->ok)
    return -G_MAXDOUBLE;
  double rh = piece->box.height / H, rw = piece->box.width / H;
  double wide = work->alone ? WIDE_ALONE : WIDE;
  double short_penalty = SHORT_PENALTY;
  gboolean flat = rw >= DROP_FLAT_WIDTH && rh >= SHORT_FLAT_TALL && piece->n_atoms == 1
                  && !piece->cut && stands_apart (work, piece->atoms[0]);
  if ((piece->fit >= log (SHORT_SURE) && rw >= COMMA_WIDTH) || flat)
    short_penalty *= SHORT_SURE_SHARE;
  return piece->fit - short_penalty * MAX (0.0, 0.55 - rh) - TALL_PENALTY * MAX (0.0, rh - 1.3)
         - WIDE_PENALTY * MAX (0.0, rw - wide) - VERY_WIDE_PENALTY * MAX (0.0, rw - wide - 0.2);
}

/* Whether atom @c is as wide as a digit and a third as tall
 * (DROP_FLAT_WIDTH, DROP_FLAT_TALL, of @H): the size of a 2 or a 7 written
 * flat, not of a comma or a dash. */
static gboolean
flat_sized (const Component *c, double H)
{
  return c->x1 - c->x0 + 1 >= DROP_FLAT_WIDTH * H && c->y1 - c->y0 + 1 >= DROP_FLAT_TALL * H;
}

/* What leaving atom @c out costs: its ink as a share of a digit's
 * (@digit_area), up to DROP_CAP or its width in H, and less at a line's
 * ends (@cheap).  There, one taller than EDGE_TALL costs a digit's ink at
 * most: a currency sign drawn bold has more ink than a digit, and was
 * read, unsure, as one ("$63,443-" read "863443", its "$" 1.2 H tall with
 * 1.85 digits' ink).  Within the line, an atom of a digit's height costs
 * three quarters of a digit at least (DROP_TALL_AREA): a thin 2 ("$290-"
 * read "90") and a 7 like a ")" ("$737,227-" read "73227"), read unsure,
 * were left out for their little ink.  One as wide as a digit and a third
 * as tall (DROP_FLAT_WIDTH, DROP_FLAT_TALL) costs a whole one.  The only
 * marks inside an amount are commas, narrower, and a dash after it is at
 * its end and thinner; a 2 or a 7 written flat, read unsure, was left out
 * for the little ink it has ("56,200" read "5600"): on the validation
 * numbers 18 won and none lost, ten of them one flat 2 coming round. */
static double
drop_cost (const Component *c, double digit_area, double H, gboolean cheap)
{
  double w = (c->x1 - c->x0 + 1) / H, h = (c->y1 - c->y0 + 1) / H;
  double cap = cheap && h >= EDGE_TALL ? 1.0 : DROP_CAP;
  double area = MIN (MAX (cap, w), c->area / MAX (digit_area, 1.0));
  if (!cheap && h >= KEEP_TALL)
    area = MAX (area, DROP_TALL_AREA);
  if (!cheap && flat_sized (c, H))
    area = MAX (area, 1.0);
  return -(DROP_BASE + (cheap ? EDGE_DROP_AREA : DROP_AREA) * area);
}

/* Signs stand before or after an amount, and a currency sign's bar stands
 * out above and below the digits (a first digit written large stands out
 * above only): at a line's ends, standing out on both sides of the line's
 * band @ends, where the piece stands, costs more, and at its start
 * (@first) tall alone does, unless the network reads the piece surely
 * (EDGE_TALL_SURE; it reads signs unsure).  A last digit written large is
 * no sign: tall costing there too, "4205043" was read "420504".  Nor is a
 * first one read surely: a 9 1.33 H tall, read at 0.98, was left out
 * ("902" read "02"). */
static double
edge_penalty (const Piece *piece, double H, const LineEnds *ends, gboolean first)
{
  double x = piece->box.x + 0.5 * (piece->box.width - 1);
  double above = (band_top (ends, x) - piece->box.y) / H;
  double below = (piece->box.y + piece->box.height - 1 - band_bottom (ends, x)) / H;
  gboolean tall_costs = first && piece->fit < log (EDGE_TALL_SURE);
  return (tall_costs ? EDGE_TALL_PENALTY * MAX (0.0, piece->box.height / H - EDGE_TALL) : 0.0)
         + EDGE_STICK_PENALTY * MAX (0.0, MIN (above, below) - EDGE_STICK);
}

/* Score of atom @a's slice from cut @s to cut @b (0 = left edge, n_cuts + 1
 * = right edge), the whole atom when that is all of it; a cut at its left
 * earns CUT_BONUS less CUT_INK per stroke width of ink it crosses.  While
 * @choosing how to read the atom, shape counts too: the whole atom wider
 * than WHOLE_WIDE is more likely two digits than one (a single digit
 * seldom is, touching ones often are), and a slice that leaves much of the
 * atom's height to its neighbours is more likely a piece of a digit than
 * one (each of two touching digits spans the line).  Only the choice sees
 * them: the reading's score, weighed against merging and leaving out,
 * stays the network's.  Alone on its line, an atom's width is measured
 * against its own height and a wide 0 is common: there the whole pays only
 * past WIDE_ALONE (without that, one single digit in thirty was cut in two,
 * a 0 read as "67", its halves read as surely as the whole), and its
 * slices and pairs must read surely (slice_sure). */
static double
slice_terms (const LineWork *work, int a, int s, const DgBox *box, gboolean choosing)
{
  double v = 0.0;
  if (choosing)
    {
      const Component *c = &work->comps[g_array_index (work->line->members, int, a)];
      double above = (box->y - c->y0) / work->H;
      double below = (c->y1 - (box->y + box->height - 1)) / work->H;
      v -= SLICE_SHORT_PENALTY * (MAX (0.0, above - SLICE_SHORT) + MAX (0.0, below - SLICE_SHORT));
    }
  if (s > 0)
    v += CUT_BONUS - CUT_INK * g_array_index (work->cuts, Cut, work->first_cut[a] + s - 1).cost / work->s;
  return v;
}

/* How surely the network must read each digit of atom @a's slices, and of
 * its readings as a pair, for them to count (slice_score,
 * pair_slice_score): 0 when any reading counts.  ALONE_SURE for an atom
 * narrow enough to be one digit (ALONE_WIDTH) that is alone on its line,
 * or that the network reads whole as one digit at ALONE_SURE or more.  Alone: a wide 2 with a long
 * tail, paying for its width, lost to its halves read as an unsure "22"
 * (one redrawn validation digit in 180).  Read surely whole: a wide,
 * tilted 0 read at 1.00 paid more for its width than its halves read at
 * 0.11 and 0.52 cost ("902" read "2042"); 3 of the 11,000 validation
 * numbers won and none lost, touching ones neither (their slices read
 * surely), and the same with a width limit of 1.7 H or none.  Of 8,000
 * numbers from training digits 4 won and 3 lost, touching pairs the
 * network read whole surely as one digit.
 *
 * FLAT_SURE for a flat atom about a digit wide (FLAT_WIDTH, FLAT_TALL):
 * two digits side by side that short would each be narrower than a digit
 * is wide when it is that short.  A flat 2 read unsure whole (0.21) was
 * cut into a 2 at 0.88 and a 1 at 0.24 ("73808112117"), with ALONE_SURE
 * 3 validation numbers won and none lost; another, read whole at 0.33,
 * was read by the pair model as "21" at 0.56 and 0.87 ("$24,712-" read
 * "247121"), which FLAT_SURE keeps whole.  The height limit keeps two
 * touching digits, a digit's height, free to be cut: a 1 fused to its
 * neighbour is as narrow, and one of its slices as unsure (without the
 * limit, 6 numbers with touching digits were lost). */
static double
slice_sure (const LineWork *work, const Piece *pieces, int a)
{
  const Component *c = &work->comps[g_array_index (work->line->members, int, a)];
  const Piece *whole = &pieces[work->single[a]];
  double w = (c->x1 - c->x0 + 1) / work->H;
  double h = (c->y1 - c->y0 + 1) / work->H;
  if (w <= FLAT_WIDTH && h < FLAT_TALL)
    return FLAT_SURE;
  if (w <= ALONE_WIDTH && (work->alone || (whole->ok && whole->fit >= log (ALONE_SURE))))
    return ALONE_SURE;
  return 0.0;
}

/* Whether @fit (a log-probability) falls short of @sure (slice_sure). */
static gboolean
too_unsure (double fit, double sure)
{
  return sure > 0.0 && fit < log (sure);
}

static double
slice_score (const LineWork *work, const Piece *pieces, int a, int s, int b, gboolean choosing)
{
  int k = work->n_cuts[a];
  if (s == 0 && b == k + 1)
    {
      const Piece *whole = &pieces[work->single[a]];
      double v = piece_score (whole, work);
      if (choosing && k > 0 && v > -G_MAXDOUBLE)
        v -= WHOLE_WIDE_PENALTY
             * MAX (0.0, whole->box.width / work->H - (work->alone ? WIDE_ALONE : WHOLE_WIDE));
      return v;
    }
  if (work->first_slice[a] < 0)
    return -G_MAXDOUBLE;
  const Piece *slice = &pieces[work->first_slice[a] + slice_index (k, s, b)];
  double v = piece_score (slice, work);
  if (v == -G_MAXDOUBLE || too_unsure (slice->fit, slice_sure (work, pieces, a)))
    return -G_MAXDOUBLE;
  return v + slice_terms (work, a, s, &slice->box, choosing);
}

/* Score of atom @a's slice from cut @s to cut @b read as two digits that
 * overlap by the pair model, as slice_score scores one digit; -G_MAXDOUBLE
 * when it is not tried.  One more digit read earns CUT_BONUS, as a cut
 * does; reading two where there is one costs the network's sure answer on
 * both sides (it is unsure of one digit alone).  On the validation
 * strings, touching numbers read 86.0, 86.7 and 86.0% with pairs earning
 * 0, 0.15 (CUT_BONUS) and 0.3; 85.3 and 83.7% with them costing 0.5 and
 * 1.0; earning 0.5, other kinds began to lose numbers. */
static double
pair_slice_score (const LineWork *work, const Piece *pieces, int a, int s, int b, gboolean choosing)
{
  int index = pair_index (work->n_cuts[a], s, b);
  if (work->first_pair[a] < 0 || index < 0)
    return -G_MAXDOUBLE;
  const Pair *pair = &work->pairs[work->first_pair[a] + index];
  if (!pair->ok || too_unsure (MIN (pair->fit[0], pair->fit[1]), slice_sure (work, pieces, a)))
    return -G_MAXDOUBLE;
  double rh = pair->box.height / work->H;
  double v = pair->fit[0] + pair->fit[1] + CUT_BONUS - SHORT_PENALTY * MAX (0.0, 0.55 - rh)
             - TALL_PENALTY * MAX (0.0, rh - 1.3);
  return v + slice_terms (work, a, s, &pair->box, choosing);
}

/* Best reading of atom @a alone: the whole atom, or slices between its
 * cuts, each read as one digit or as a pair.  Fills @path (n_cuts + 2)
 * with the cut indices used, ending at n_cuts + 1, and @as_pair (as many)
 * with whether each slice is read as a pair, and returns its length, with
 * its score in @score. */
static int
best_split (const LineWork *work, const Piece *pieces, int a, int *path, gboolean *as_pair,
            double *score)
{
  int k = work->n_cuts[a];
  int nodes = k + 2;
  double *best = g_new (double, nodes);
  int *from = g_new (int, nodes);
  gboolean *paired = g_new (gboolean, nodes);
  best[0] = 0.0;
  for (int b = 1; b < nodes; b++)
    {
      best[b] = -G_MAXDOUBLE;
      from[b] = -1;
      for (int s = 0; s < b; s++)
        for (int pair = 0; pair < 2; pair++)
          {
            double v = pair ? pair_slice_score (work, pieces, a, s, b, TRUE)
                            : slice_score (work, pieces, a, s, b, TRUE);
            if (best[s] > -G_MAXDOUBLE && v > -G_MAXDOUBLE && best[s] + v > best[b])
              {
                best[b] = best[s] + v;
                from[b] = s;
                paired[b] = pair;
              }
          }
    }
  int n = 0;
  *score = best[nodes - 1];
  if (best[nodes - 1] > -G_MAXDOUBLE)
    for (int b = nodes - 1; b > 0; b = from[b])
      {
        as_pair[n] = paired[b];
        path[n++] = b;
      }
  for (int i = 0; i < n / 2; i++)
    {
      int t = path[i];
      path[i] = path[n - 1 - i];
      path[n - 1 - i] = t;
      gboolean u = as_pair[i];
      as_pair[i] = as_pair[n - 1 - i];
      as_pair[n - 1 - i] = u;
    }
  if (n > 0)
    {
      *score = 0.0;
      for (int p = 0, prev = 0; p < n; prev = path[p], p++)
        *score += as_pair[p] ? pair_slice_score (work, pieces, a, prev, path[p], FALSE)
                             : slice_score (work, pieces, a, prev, path[p], FALSE);
    }
  g_free (best);
  g_free (from);
  g_free (paired);
  return n;
}

/* Score of atoms @first .. @first + @k read as one digit, or -G_MAXDOUBLE
 * when that is not tried: merely close full-height atoms are merged only
 * when one of them reads unsure alone.  Each join costs MERGE_COST, or
 * earns it where the two are stacked. */
static double
merge_score (const LineWork *work, const Piece *pieces, int first, int k)
{
  int idx = work->merged[first * MAX_MERGE + k];
  if (idx < 0)
    return -G_MAXDOUBLE;
  if (work->merge_needs_doubt[first * MAX_MERGE + k])
    {
      gboolean doubt = FALSE;
      for (int j = first; j <= first + k; j++)
        {
          const Piece *part = &pieces[work->single[j]];
          doubt |= !part->ok || part->fit < log (MERGE_DOUBT);
        }
      if (!doubt)
        return -G_MAXDOUBLE;
    }
  double v = piece_score (&pieces[idx], work);
  for (int j = first; j < first + k && v > -G_MAXDOUBLE; j++)
    {
      const Component *p = &work->comps[g_array_index (work->line->members, int, j)];
      const Component *q = &work->comps[g_array_index (work->line->members, int, j + 1)];
      int narrower = MIN (p->x1 - p->x0, q->x1 - q->x0) + 1;
      v += overlap (p->x0, p->x1, q->x0, q->x1) < MERGE_STACKED * narrower ? -MERGE_COST
                                                                            : MERGE_COST;
    }
  return v;
}

/* Whether atom @a of the line is as tall as a digit, or a piece of a stack
 * that is. */
static gboolean
atom_tall (const LineWork *work, int a)
{
  const Component *c = &work->comps[g_array_index (work->line->members, int, a)];
  return c->sy1 - c->sy0 + 1 >= KEEP_TALL * work->H;
}

/* The dynamic programme over the line's atoms: @best (n + 1) the score of
 * the best reading of the first e atoms, @from (n + 1) how many atoms its
 * last step took, @how (n + 1) what it did with them (0 left out, 1 read
 * alone or split, 2 merged).  With @keep_tall, leaving out an atom as tall
 * as a digit costs so much that any reading of it wins.  Returns FALSE when
 * the reading leaves out everything, some of it as tall as a digit. */
static gboolean
read_line (const LineWork *work, const Piece *pieces, gboolean keep_tall,
           double *best, int *from, int *how)
{
  int n = work->n_atoms;
  const LineEnds *ends = &work->ends;
  best[0] = 0.0;
  for (int e = 1; e <= n; e++)
    {
      int a = e - 1;
      const Component *c = &work->comps[g_array_index (work->line->members, int, a)];
      int path[MAX_CUTS + 2];
      gboolean as_pair[MAX_CUTS + 2];
      double split;
      gboolean edge = n >= 3 && (a == ends->first || a == ends->last);
      double edge_cost
          = edge ? edge_penalty (&pieces[work->single[a]], work->H, ends, a == ends->first) : 0.0;
      /* Leaving out the first atom costs less (a currency sign before the
       * amount) unless it is a flat digit's size (as wide as
       * DROP_FLAT_WIDTH, not a digit's height, DROP_FLAT_TALL tall: no
       * sign; "714" read "14"), and the last unless it is a digit's
       * height, or a flat digit's width, within the band: "7451" read
       * "745" with its last 1 left out, "5547-" its flat 7. */
      gboolean tall = atom_tall (work, a);
      gboolean wide = c->x1 - c->x0 + 1 >= DROP_FLAT_WIDTH * work->H;
      gboolean flat = !tall && flat_sized (c, work->H);
      gboolean cheap = edge && ((a == ends->first && !flat) || !(tall || wide) || edge_cost > 0.0);
      best[e] = best[a] + drop_cost (c, work->digit_area, work->H, cheap)
                - (keep_tall && tall ? 100.0 : 0.0);
      from[e] = 1;
      how[e] = 0;
      best_split (work, pieces, a, path, as_pair, &split);
      if (split > -G_MAXDOUBLE && best[a] + split - edge_cost > best[e])
        {
          best[e] = best[a] + split - edge_cost;
          how[e] = 1;
        }
      for (int k = 1; k < MAX_MERGE && e - 1 - k >= 0; k++)
        {
          double v = merge_score (work, pieces, e - 1 - k, k);
          if (v > -G_MAXDOUBLE && best[e - 1 - k] + v > best[e])
            {
              best[e] = best[e - 1 - k] + v;
              from[e] = k + 1;
              how[e] = 2;
            }
        }
    }

  gboolean all_dropped = TRUE, tall_dropped = FALSE;
  for (int e = n; e > 0; e -= from[e])
    {
      all_dropped &= how[e] == 0;
      tall_dropped |= how[e] == 0 && atom_tall (work, e - from[e]);
    }
  return !(all_dropped && tall_dropped);
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */

/* Images gathered to be classified in one call: @n (28, 28) images and
 * their boxes in, probabilities (n, 10) and fits (n, capped at -20) out. */
typedef struct
{
  int n;
  float *images;
  DgBox *boxes;
  float *probs;
  float *fits;
} Batch;

static void
batch_init (Batch *batch, int size)
{
  batch->n = 0;
  batch->images = g_new (float, (gsize) size * DG_IMAGE_PIXELS);
  batch->boxes = g_new (DgBox, size);
  batch->probs = g_new (float, (gsize) size * DG_CLASSES);
  batch->fits = g_new (float, size);
}

static void
batch_add (Batch *batch, const float *image, DgBox box)
{
  batch->boxes[batch->n] = box;
  memcpy (batch->images + (gsize) batch->n++ * DG_IMAGE_PIXELS, image,
          sizeof (float) * DG_IMAGE_PIXELS);
}

static void
batch_classify (Batch *batch, DgClassifyFunc classify, gpointer user_data)
{
  classify (batch->n, batch->images, batch->boxes, batch->probs, batch->fits, user_data);
  for (int i = 0; i < batch->n; i++)
    batch->fits[i] = MAX (batch->fits[i], -20.0f);
}

static void
batch_clear (Batch *batch)
{
  g_free (batch->images);
  g_free (batch->boxes);
  g_free (batch->probs);
  g_free (batch->fits);
}

static void
classify_pieces (GArray *pieces, guint from, DgClassifyFunc classify, gpointer user_data)
{
  int n = 0;
  for (guint i = from; i < pieces->len; i++)
    n += g_array_index (pieces, Piece, i).ok;
  if (n == 0)
    return;
  Batch batch;
  batch_init (&batch, n);
  for (guint i = from; i < pieces->len; i++)
    {
      const Piece *p = &g_array_index (pieces, Piece, i);
      if (p->ok)
        batch_add (&batch, p->input, p->box);
    }
  batch_classify (&batch, classify, user_data);
  int j = 0;
  for (guint i = from; i < pieces->len; i++)
    {
      Piece *p = &g_array_index (pieces, Piece, i);
      if (!p->ok)
        continue;
      memcpy (p->probs, batch.probs + (gsize) j * DG_CLASSES, sizeof p->probs);
      p->fit = batch.fits[j++];
      p->digit = dg_argmax (p->probs, DG_CLASSES);
      /* G_MESSAGES_DEBUG=all shows every candidate and what it read as. */
      g_debug ("candidate %u: line %d, atoms %d..+%d%s, box %d,%d %dx%d: %d, fit %.3f", i, p->line,
               p->atoms[0], p->n_atoms, p->cut ? " (a slice)" : "", p->box.x, p->box.y,
               p->box.width, p->box.height, p->digit, p->fit);
    }
  batch_clear (&batch);
}

/* Each pair's two views (the left digit's and the right one's) in one batch. */
static void
classify_pairs (GArray *pairs, DgClassifyFunc classify, gpointer user_data)
{
  int n = 0;
  for (guint i = 0; i < pairs->len; i++)
    n += g_array_index (pairs, Pair, i).ok;
  if (n == 0)
    return;
  Batch batch;
  batch_init (&batch, 2 * n);
  for (guint i = 0; i < pairs->len; i++)
    {
      const Pair *p = &g_array_index (pairs, Pair, i);
      for (int side = 0; p->ok && side < 2; side++)
        batch_add (&batch, p->input + side * DG_IMAGE_PIXELS, p->box);
    }
  batch_classify (&batch, classify, user_data);
  int j = 0;
  for (guint i = 0; i < pairs->len; i++)
    {
      Pair *p = &g_array_index (pairs, Pair, i);
      for (int side = 0; p->ok && side < 2; side++)
        {
          memcpy (p->probs[side], batch.probs + (gsize) j * DG_CLASSES, sizeof p->probs[side]);
          p->fit[side] = batch.fits[j++];
        }
      if (p->ok)
        g_debug ("pair: box %d,%d %dx%d: %d %d, fits %.3f %.3f", p->box.x, p->box.y, p->box.width,
                 p->box.height, dg_argmax (p->probs[0], DG_CLASSES),
                 dg_argmax (p->probs[1], DG_CLASSES), p->fit[0], p->fit[1]);
    }
  batch_clear (&batch);
}

/* The text, the least sure digit and the digits' median height of a
 * reading, from its digits. */
static void
summarise (DgReading *reading)
{
  GString *text = g_string_new (NULL);
  double *heights = g_new (double, reading->n_digits);

  reading->confidence = 2.0f;
  for (int d = 0; d < reading->n_digits; d++)
    {
      const DgDigitReading *dr = &reading->digits[d];
      if (d > 0 && dr->line != reading->digits[d - 1].line)
        g_string_append_c (text, ' ');
      g_string_append_c (text, (char) ('0' + dr->digit));
      if (dr->probs[dr->digit] < reading->confidence)
        {
          reading->confidence = dr->probs[dr->digit];
          reading->least_sure = d;
        }
      heights[d] = dr->box.height;
    }
  reading->digit_height = median (heights, reading->n_digits, 0.0);
  g_free (heights);
  g_free (reading->text);
  reading->text = g_string_free (text, FALSE);
}

/* Each digit read whole, not cut out of ink it touched, is read again by
 * the digit models in @others (@n_others of them), and its probabilities
 * become the mean of the first reading and theirs (their mean).  The
 * strings model knows a pair or a piece from a digit, but reads a clean
 * digit a little worse than the digit model does; slices of touching
 * digits the digit model has never seen, so they keep the first reading.
 * On the strings test's numbers from the validation split this took
 * separated / close / touching / marks from 96.3 / 92.7 / 71.7 / 96.0% to
 * 97.0 / 93.7 / 71.7 / 97.0% (with the slice limits of the time: a
 * quarter of a digit's ink, 0.7 H); averaging the slices too cost 3.7
 * points on touching.  The scan model as a second digit model took them
 * from 96.8 / 94.8 / 89.3 / 97.1% to 96.9 / 94.7 / 89.5 / 97.4%
 * (docs/reading-pages.md). */
static void
second_opinion (DgReading *reading, DgModel *const *others, int n_others)
{
  int *which = g_new (int, reading->n_digits);
  int n = 0;

  for (int d = 0; d < reading->n_digits; d++)
    if (!reading->digits[d].cut)
      which[n++] = d;
  gsize size = (gsize) MAX (n, 1) * DG_CLASSES;
  float *inputs = g_new (float, (gsize) MAX (n, 1) * DG_IMAGE_PIXELS);
  float *probs = g_new (float, size);
  float *mean = g_new0 (float, size);
  for (int i = 0; i < n; i++)
    memcpy (inputs + (gsize) i * DG_IMAGE_PIXELS, reading->digits[which[i]].input,
            sizeof (float) * DG_IMAGE_PIXELS);
  for (int m = 0; m < n_others && n > 0; m++)
    {
      dg_model_predict (others[m], n, inputs, probs);
      for (gsize k = 0; k < (gsize) n * DG_CLASSES; k++)
        mean[k] += probs[k] / (float) n_others;
    }
  for (int i = 0; i < n; i++)
    {
      DgDigitReading *dr = &reading->digits[which[i]];
      for (int j = 0; j < DG_CLASSES; j++)
        dr->probs[j] = 0.5f * (dr->probs[j] + mean[(gsize) i * DG_CLASSES + j]);
      dr->digit = dg_argmax (dr->probs, DG_CLASSES);
    }
  g_free (inputs);
  g_free (probs);
  g_free (mean);
  g_free (which);
  summarise (reading);
}

static void
add_digit (GArray *digits, const Piece *piece, int line)
{
  DgDigitReading d;
  d.box = piece->box;
  d.line = line;
  d.digit = piece->digit;
  d.cut = piece->cut;
  memcpy (d.probs, piece->probs, sizeof d.probs);
  memcpy (d.input, piece->input, sizeof d.input);
  g_array_append_val (digits, d);
}

/* A digit cut from its neighbour, read again as side @side of @pair: its
 * probabilities are the mean of the two readings. */
static void
add_fused (GArray *digits, const Piece *piece, const Pair *pair, int side, int line)
{
  add_digit (digits, piece, line);
  DgDigitReading *d = &g_array_index (digits, DgDigitReading, digits->len - 1);
  for (int j = 0; j < DG_CLASSES; j++)
    d->probs[j] = 0.5f * (d->probs[j] + pair->probs[side][j]);
  d->digit = dg_argmax (d->probs, DG_CLASSES);
}

/* The two digits of @pair, split at its column. */
static void
add_pair (GArray *digits, const Pair *pair, int line)
{
  for (int side = 0; side < 2; side++)
    {
      DgDigitReading d;
      int x0 = side == 0 ? pair->box.x : pair->split;
      int x1 = side == 0 ? pair->split : pair->box.x + pair->box.width;
      d.box = (DgBox) { x0, pair->box.y, MAX (1, x1 - x0), pair->box.height };
      d.line = line;
      d.cut = TRUE;
      memcpy (d.probs, pair->probs[side], sizeof d.probs);
      d.digit = dg_argmax (d.probs, DG_CLASSES);
      memcpy (d.input, pair->input + side * DG_IMAGE_PIXELS, sizeof d.input);
      g_array_append_val (digits, d);
    }
}

DgReading *
dg_read_contrast (const DgContrast *contrast, DgClassifyFunc classify, gpointer user_data,
                  DgClassifyFunc classify_pairs_with, gpointer pair_data, GError **error)
{
  g_return_val_if_fail (contrast != NULL && contrast->contrast != NULL, NULL);
  g_return_val_if_fail (classify != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  int width = contrast->width, height = contrast->height;
  Page page = { contrast };
  page.all_runs = g_array_new (FALSE, FALSE, sizeof (DgRun));
  page.components = g_array_new (FALSE, FALSE, sizeof (Component));
  page.marks = g_array_new (FALSE, FALSE, sizeof (DgMark));

  /* The ink mask, its stroke width, and the rules taken out of it. */
  guint8 *mask = g_new (guint8, (gsize) width * height);
  guint8 threshold = (guint8) contrast->threshold;
  for (gsize i = 0; i < (gsize) width * height; i++)
    mask[i] = contrast->contrast[i] > threshold;
  page.s = MAX (1.0, dg_mask_stroke_width (mask, width, height));
  GArray *rules = g_array_new (FALSE, FALSE, sizeof (DgBox));
  page.n_rules = dg_remove_rules (mask, width, height, page.s, rules);
  page.mask = mask;
  for (guint i = 0; i < rules->len; i++)
    {
      DgMark mark = { g_array_index (rules, DgBox, i), DG_MARK_RULE, -1 };
      g_array_append_val (page.marks, mark);
    }
  g_array_free (rules, TRUE);

  find_components (&page, mask, width, height);
  find_stacks (&page);

  GArray *lines = page.digit_height > 0.0 ? find_lines (&page) : g_array_new (FALSE, FALSE, sizeof (Line));
  const Component *comps = (const Component *) page.components->data;
  LineWork *works = g_new0 (LineWork, MAX (lines->len, 1));
  GArray *pieces = g_array_new (FALSE, FALSE, sizeof (Piece));
  GArray *cuts = g_array_new (FALSE, FALSE, sizeof (Cut));

  /* Every atom alone, and neighbours that may be pieces of one digit. */
  for (guint l = 0; l < lines->len; l++)
    {
      LineWork *work = &works[l];
      Line *line = &g_array_index (lines, Line, l);
      int n = line->members->len;
      work->line = line;
      work->comps = comps;
      work->n_atoms = n;
      work->s = page.s;
      work->cuts = cuts;
      work->single = g_new (int, n);
      work->merged = g_new (int, (gsize) n * MAX_MERGE);
      work->merge_needs_doubt = g_new0 (gboolean, (gsize) n * MAX_MERGE);
      work->first_cut = g_new0 (int, n);
      work->n_cuts = g_new0 (int, n);
      work->first_slice = g_new (int, n);
      work->first_pair = g_new (int, n);

      /* Its digit height and ink: the median of its stacks' (each once). */
      double *heights = g_new (double, n), *areas = g_new (double, n);
      int *stacks = g_new (int, n);
      int m = 0;
      for (int i = 0; i < n; i++)
        {
          const Component *c = &comps[g_array_index (line->members, int, i)];
          if (c->sy1 - c->sy0 + 1 < 0.5 * page.digit_height)
            continue;
          int j = 0;
          while (j < m && stacks[j] != c->stack)
            j++;
          if (j == m)
            {
              stacks[m] = c->stack;
              heights[m] = c->sy1 - c->sy0 + 1;
              areas[m++] = c->stack_area;
            }
        }
      g_free (stacks);
      work->H = median (heights, m, page.digit_height);
      /* With one digit-sized piece on the line its height is all there is
       * to go by, and a wide 0 is as wide as two narrow digits touching. */
      work->alone = m < 2;
      work->digit_area = median (areas, m, 1.0);
      g_free (heights);
      g_free (areas);
      find_line_ends (work);

      for (int i = 0; i < n; i++)
        {
          Piece piece = { .line = l, .atoms = { i }, .n_atoms = 1 };
          prepare_piece (&page, line, &piece);
          work->single[i] = pieces->len;
          g_array_append_val (pieces, piece);
          work->first_slice[i] = -1;

          for (int k = 0; k < MAX_MERGE; k++)
            work->merged[i * MAX_MERGE + k] = k == 0 ? work->single[i] : -1;
          int x0 = comps[g_array_index (line->members, int, i)].x0;
          int x1 = comps[g_array_index (line->members, int, i)].x1;
          int y0 = comps[g_array_index (line->members, int, i)].y0;
          int y1 = comps[g_array_index (line->members, int, i)].y1;
          gboolean needs_doubt = FALSE;
          for (int k = 1; k < MAX_MERGE; k++)
            {
              if (i + k >= n)
                continue;
              const Component *prev = &comps[g_array_index (line->members, int, i + k - 1)];
              const Component *next = &comps[g_array_index (line->members, int, i + k)];
              /* A comma or a full stop beside a digit is never part of it. */
              if (comma_beside (prev, next, work->H, &work->ends)
                  || comma_beside (next, prev, work->H, &work->ends))
                break;
              /* Two full-height pieces side by side are two digits; a
               * short piece (a 5's bar, a 7's broken-off top) or one
               * overlapping the other (a broken 0) may be part of one. */
              int next_w = next->x1 - next->x0 + 1, group_w = x1 - x0 + 1;
              gboolean short_piece = next->y1 - next->y0 + 1 < MERGE_SHORT * work->H
                                     || y1 - y0 + 1 < MERGE_SHORT * work->H;
              gboolean overlapping = overlap (x0, x1, next->x0, next->x1)
                                     >= MERGE_OVERLAP * MIN (next_w, group_w);
              /* Merely close full-height pieces (a 4 whose strokes do not
               * meet) are tried too, but only taken when one of them does
               * not read well alone. */
              if (next->x0 - x1 - 1 > MERGE_GAP * work->H)
                break;
              if (!(short_piece || overlapping))
                needs_doubt = TRUE;
              x0 = MIN (x0, next->x0);
              x1 = MAX (x1, next->x1);
              y0 = MIN (y0, next->y0);
              y1 = MAX (y1, next->y1);
              if (x1 - x0 + 1 > (work->alone ? ALONE_WIDTH : MERGE_WIDTH) * work->H
                  || y1 - y0 + 1 > 1.6 * work->H)
                break;
              Piece merged = { .line = l, .n_atoms = k + 1 };
              for (int j = 0; j <= k; j++)
                merged.atoms[j] = i + j;
              prepare_piece (&page, line, &merged);
              work->merged[i * MAX_MERGE + k] = pieces->len;
              work->merge_needs_doubt[i * MAX_MERGE + k] = needs_doubt;
              g_array_append_val (pieces, merged);
            }
        }
    }
  classify_pieces (pieces, 0, classify, user_data);

  /* Atoms wide enough to be two digits, or unsure and wide enough to be
   * two narrow ones: slices between their cuts. */
  guint first_sliced = pieces->len;
  for (guint l = 0; l < lines->len; l++)
    {
      LineWork *work = &works[l];
      for (int i = 0; i < work->n_atoms; i++)
        {
          const Component *c = &comps[g_array_index (work->line->members, int, i)];
          const Piece *whole = &g_array_index (pieces, Piece, work->single[i]);
          double w = c->x1 - c->x0 + 1;
          gboolean unsure = !whole->ok || whole->fit < log (SPLIT_UNSURE);
          if (!(w >= SPLIT_WIDTH * work->H || (unsure && w >= SPLIT_UNSURE_WIDTH * work->H))
              || c->y1 - c->y0 + 1 < 0.5 * work->H)
            continue;
          /* Texture can make thousands of wide atoms, each sliced (k + 2)^2
           * ways: past MAX_SLICES the rest are read whole (found by fuzzing:
           * 240 x 273 pixels of stripes took 2.4 s). */
          if (pieces->len - first_sliced >= MAX_SLICES)
            continue;
          work->first_cut[i] = cuts->len;
          find_cuts (&page, c, work->H, cuts);
          int k = cuts->len - work->first_cut[i];
          work->n_cuts[i] = k;
          if (k == 0)
            continue;
          work->first_slice[i] = pieces->len;
          for (int a = 0; a < k + 2; a++)
            for (int b = 0; b < k + 2; b++)
              {
                Piece slice = { .line = l, .atoms = { i }, .n_atoms = 1, .cut = TRUE };
                /* Cut j (1 .. k) is cuts[first_cut + j - 1]; 0 is the left edge and
                 * k + 1 the right.  Pairs with b <= a are skipped below, but their
                 * ends must still not be read from outside the cuts. */
                double left_x = a == 0 ? c->x0
                                : a <= k ? g_array_index (cuts, Cut, work->first_cut[i] + a - 1).mean
                                         : c->x1;
                double right_x = b == 0 ? c->x0
                                 : b <= k ? g_array_index (cuts, Cut, work->first_cut[i] + b - 1).mean
                                          : c->x1;
                if (b > a && !(a == 0 && b == k + 1) && right_x - left_x < 1.4 * work->H)
                  {
                    slice.left = a > 0 ? &g_array_index (cuts, Cut, work->first_cut[i] + a - 1) : NULL;
                    slice.right = b <= k ? &g_array_index (cuts, Cut, work->first_cut[i] + b - 1) : NULL;
                    prepare_piece (&page, work->line, &slice);
                    /* A sliver is not a digit; nor is more than one's width. */
                    gboolean prepared = slice.ok;
                    if (slice.ok && (slice.box.width < 0.1 * work->H || slice.box.width > 1.3 * work->H
                                     || slice.box.height < SLICE_HEIGHT * work->H
                                     || slice.area < SLICE_AREA * work->digit_area))
                      slice.ok = FALSE;
                    g_debug ("slice of atom %d between cuts %d and %d (of %d): box %d,%d %dx%d, %s", i,
                             a, b, k, slice.box.x, slice.box.y, slice.box.width, slice.box.height,
                             !prepared ? "not prepared" : slice.ok ? "read" : "too small or wide");
                    /* The cuts array may move as it grows. */
                    slice.left = slice.right = NULL;
                  }
                g_array_append_val (pieces, slice);
              }
        }
    }
  classify_pieces (pieces, first_sliced, classify, user_data);

  /* Atoms wide enough to be two digits overlapping, and slices of them at
   * either end (a pair fused to a third digit), read by the pair model. */
  GArray *pairs = g_array_new (FALSE, FALSE, sizeof (Pair));
  for (guint l = 0; l < lines->len; l++)
    {
      LineWork *work = &works[l];
      for (int i = 0; i < work->n_atoms; i++)
        {
          const Component *c = &comps[g_array_index (work->line->members, int, i)];
          int k = work->n_cuts[i];
          const Cut *atom_cuts = k > 0 ? &g_array_index (cuts, Cut, work->first_cut[i]) : NULL;
          work->first_pair[i] = -1;
          if (classify_pairs_with == NULL || c->x1 - c->x0 + 1 < PAIR_WIDTH * work->H
              || c->y1 - c->y0 + 1 < 0.5 * work->H || pairs->len >= MAX_SLICES)
            continue;
          work->first_pair[i] = pairs->len;
          g_array_set_size (pairs, pairs->len + 2 * k + 1);
          for (int a = 0; a < k + 1; a++)
            for (int b = a + 1; b < k + 2; b++)
              {
                if (pair_index (k, a, b) < 0)
                  continue;
                Pair *pair = &g_array_index (pairs, Pair, work->first_pair[i] + pair_index (k, a, b));
                double left_x = a == 0 ? c->x0 : atom_cuts[a - 1].mean;
                double right_x = b == k + 1 ? c->x1 : atom_cuts[b - 1].mean;
                pair->ok = FALSE;
                if (right_x - left_x < PAIR_WIDTH * work->H)
                  continue;
                Piece slice = { .line = l, .atoms = { i }, .n_atoms = 1,
                                .left = a > 0 ? &atom_cuts[a - 1] : NULL,
                                .right = b <= k ? &atom_cuts[b - 1] : NULL };
                if (prepare_pair (&page, work->line, &slice, atom_cuts, k, pair)
                    && pair->box.height < (a == 0 && b == k + 1 ? 0.5 : SLICE_HEIGHT) * work->H)
                  pair->ok = FALSE;
              }
        }
    }
  if (classify_pairs_with != NULL)
    classify_pairs (pairs, classify_pairs_with, pair_data);
  for (guint l = 0; l < lines->len; l++)
    works[l].pairs = (const Pair *) pairs->data;

  /* Each line's best reading. */
  GArray *digits = g_array_new (FALSE, FALSE, sizeof (DgDigitReading));
  int n_lines = 0;
  for (guint l = 0; l < lines->len; l++)
    {
      LineWork *work = &works[l];
      int n = work->n_atoms;
      double *best = g_new (double, n + 1);
      int *from = g_new (int, n + 1);  /* atoms taken by the last step */
      int *how = g_new (int, n + 1);   /* 0 drop, 1 alone or split, 2 merged */
      /* A line read as nothing but marks, though it holds ink of a digit's
       * height, is read again, leaving out no such ink: all of a number in
       * bold, fused into one blob, is better read and shown unsure than not
       * read at all. */
      if (!read_line (work, (const Piece *) pieces->data, FALSE, best, from, how))
        read_line (work, (const Piece *) pieces->data, TRUE, best, from, how);
      /* Back from the end, then forwards into the reading. */
      int *steps = g_new (int, n + 1);
      int n_steps = 0;
      for (int e = n; e > 0; e -= from[e])
        steps[n_steps++] = e;
      guint line_start = digits->len;
      for (int s = n_steps - 1; s >= 0; s--)
        {
          int e = steps[s], a = e - from[e];
          if (how[e] == 0)
            {
              const Component *c = &comps[g_array_index (work->line->members, int, a)];
              DgMark mark = { component_box (c), DG_MARK_SYMBOL, -1 };
              mark.line = n_lines;
              g_array_append_val (page.marks, mark);
            }
          else if (how[e] == 2)
            add_digit (digits, &g_array_index (pieces, Piece, work->merged[a * MAX_MERGE + from[e] - 1]),
                       n_lines);
          else
            {
              int path[MAX_CUTS + 2];
              gboolean as_pair[MAX_CUTS + 2];
              double split;
              int k = work->n_cuts[a];
              int len = best_split (work, (const Piece *) pieces->data, a, path, as_pair, &split);
              for (int p = 0, prev = 0; p < len; prev = path[p], p++)
                {
                  int idx = prev == 0 && path[p] == k + 1
                                ? work->single[a]
                                : work->first_slice[a] + slice_index (k, prev, path[p]);
                  /* Two digits cut apart that the pair model read together
                   * get both readings (on the validation strings, touching
                   * numbers 83.7 -> 85.3% with pairs costing 0.5). */
                  int both = p + 1 < len && !as_pair[p] && !as_pair[p + 1] && work->first_pair[a] >= 0
                                 ? pair_index (k, prev, path[p + 1]) : -1;
                  if (both >= 0 && work->pairs[work->first_pair[a] + both].ok)
                    {
                      const Pair *pair = &work->pairs[work->first_pair[a] + both];
                      int second = work->first_slice[a] + slice_index (k, path[p], path[p + 1]);
                      add_fused (digits, &g_array_index (pieces, Piece, idx), pair, 0, n_lines);
                      add_fused (digits, &g_array_index (pieces, Piece, second), pair, 1, n_lines);
                      prev = path[p];
                      p++;
                      continue;
                    }
                  if (as_pair[p])
                    add_pair (digits,
                              &g_array_index (pairs, Pair, work->first_pair[a] + pair_index (k, prev, path[p])),
                              n_lines);
                  else
                    add_digit (digits, &g_array_index (pieces, Piece, idx), n_lines);
                }
            }
        }
      if (digits->len > line_start)
        n_lines++;
      else
        for (guint m = 0; m < page.marks->len; m++)
          if (g_array_index (page.marks, DgMark, m).line == n_lines)
            g_array_index (page.marks, DgMark, m).line = -1;
      g_free (steps);
      g_free (best);
      g_free (from);
      g_free (how);
    }

  DgReading *reading = NULL;
  if (digits->len == 0)
    g_set_error_literal (error, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_NOTHING_TO_READ,
                         "nothing to read");
  else
    {
      reading = g_new0 (DgReading, 1);
      reading->n_digits = digits->len;
      reading->digits = (DgDigitReading *) g_array_free (digits, FALSE);
      digits = NULL;
      reading->n_lines = n_lines;
      reading->n_marks = page.marks->len;
      reading->marks = (DgMark *) g_array_free (page.marks, FALSE);
      page.marks = NULL;
      reading->stroke_width = page.s;
      summarise (reading);
    }

  if (digits != NULL)
    g_array_free (digits, TRUE);
  for (guint l = 0; l < lines->len; l++)
    {
      g_array_free (g_array_index (lines, Line, l).members, TRUE);
      g_free (works[l].single);
      g_free (works[l].merged);
      g_free (works[l].merge_needs_doubt);
      g_free (works[l].first_cut);
      g_free (works[l].n_cuts);
      g_free (works[l].first_slice);
      g_free (works[l].first_pair);
    }
  g_free (works);
  g_array_free (lines, TRUE);
  for (guint i = 0; i < cuts->len; i++)
    g_free (g_array_index (cuts, Cut, i).x);
  g_array_free (cuts, TRUE);
  g_array_free (pieces, TRUE);
  g_array_free (pairs, TRUE);
  if (page.marks != NULL)
    g_array_free (page.marks, TRUE);
  g_array_free (page.all_runs, TRUE);
  g_free (page.mask);
  g_array_free (page.components, TRUE);
  g_free (page.comp_runs);
  return reading;
}

void
dg_classify_with_model (int n, const float *images, const DgBox *boxes, float *probs, float *fits,
                        gpointer user_data)
{
  dg_model_predict (user_data, n, images, probs);
  for (int i = 0; i < n; i++)
    {
      const float *p = probs + (gsize) i * DG_CLASSES;
      fits[i] = logf (MAX (p[dg_argmax (p, DG_CLASSES)], 1e-9f));
    }
}

DgReading *
dg_read_digits (DgModel *model, DgModel *second, DgModel *scan, DgModel *pairs, const guint8 *grey,
                int width, int height, int stride, GError **error)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  DgContrast contrast;
  if (!dg_contrast_init (&contrast, grey, width, height, stride, error))
    return NULL;
  dg_model_prepare (model);
  if (pairs != NULL)
    dg_model_prepare (pairs);
  DgReading *reading = dg_read_contrast (&contrast, dg_classify_with_model, model,
                                         pairs != NULL ? dg_classify_with_model : NULL, pairs,
                                         error);
  dg_contrast_clear (&contrast);
  DgModel *others[2];
  int n_others = 0;
  if (second != NULL && second != model)
    others[n_others++] = second;
  if (scan != NULL && scan != model)
    others[n_others++] = scan;
  for (int m = 0; m < n_others; m++)
    dg_model_prepare (others[m]);
  if (reading != NULL && n_others > 0)
    second_opinion (reading, others, n_others);
  return reading;
}

void
dg_reading_free (DgReading *reading)
{
  if (reading == NULL)
    return;
  g_free (reading->text);
  g_free (reading->digits);
  g_free (reading->marks);
  g_free (reading);
}
