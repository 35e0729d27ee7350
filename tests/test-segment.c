/* test-segment.c: pages of drawn digits -> the digit string.  Each step on
 * hand-made masks, then whole pages through the shipped model: pieces of
 * one digit merged, touching digits cut apart, rules and box borders
 * removed, commas, dashes and currency signs left out, lines read in order. */
#include "dg-draw.h"
#include "dg-segment.h"

#include <math.h>
#include <string.h>

/* A page of paper (grey 235, a light gradient, a little noise). */
typedef struct
{
  int width, height;
  guint8 *grey; /* (height, width) */
} Page;

static Page
page_new (int width, int height)
{
  Page page = { width, height, g_new (guint8, (gsize) width * height) };
  guint32 noise = 7;
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        noise = noise * 1664525u + 1013904223u;
        page.grey[(gsize) y * width + x] = (guint8) (228 + 12 * x / width + (noise >> 29));
      }
  return page;
}

/* Digits of @text (spaces skip a place) drawn @h pixels tall from (x, y),
 * @advance pixels apart. */
static void
draw_text (Page *page, const char *text, double x, double y, double h, double advance)
{
  for (int i = 0; text[i] != '\0'; i++)
    if (text[i] >= '0' && text[i] <= '9')
      dg_draw_digit (page->grey, page->width, page->height, page->width, text[i] - '0',
                     x + i * advance, y, h, 0.1, 0.1 * h, 30);
}

static void
draw_line (Page *page, double ax, double ay, double bx, double by, double width, int ink)
{
  dg_draw_segment (page->grey, page->width, page->height, page->width, ax, ay, bx, by, width / 2,
                   ink);
}

/* The polyline through @n_points (x, y) pairs of @points, each scaled by
 * @w and @h and moved to (@x, @y) (dg_draw_polyline). */
static void
draw_polyline (Page *page, const double *points, int n_points, double x, double y, double w,
               double h, double pen)
{
  dg_draw_polyline (page->grey, page->width, page->height, page->width, points, n_points, x, y, w,
                    h, 0.0, pen, 30);
}

/* The shipped model @find finds, loaded on first use into *@cache: what
 * the program reads pages with. */
static DgModel *
load_shipped (DgModel **cache, char *(*find) (GError **))
{
  if (*cache != NULL)
    return *cache;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = find (&error);
  g_assert_no_error (error);
  *cache = dg_model_load (path, &error);
  g_assert_no_error (error);
  return *cache;
}

/* The strings model reads; the pair model reads overlapping digits; the
 * digit and scan models give the second opinion on digits read whole. */
static DgModel *models[4];
#define shipped_model() load_shipped (&models[0], dg_model_find_strings_weights)
#define pairs_model()   load_shipped (&models[1], dg_model_find_pairs_weights)
#define digit_model()   load_shipped (&models[2], dg_model_find_default_weights)
#define scan_model()    load_shipped (&models[3], dg_model_find_scan_weights)

static DgReading *
read_page (const Page *page)
{
  /* DIGITS_TEST_ARTIFACTS=DIR keeps each page, as PGM, for a look. */
  const char *artifacts = g_getenv ("DIGITS_TEST_ARTIFACTS");
  if (artifacts != NULL)
    {
      g_autofree char *name = g_strdup_printf ("%s.pgm", g_test_get_path ());
      g_strdelimit (name, "/", '-');
      g_autofree char *path = g_build_filename (artifacts, name, NULL);
      g_autofree char *header = g_strdup_printf ("P5 %d %d 255\n", page->width, page->height);
      g_autoptr (GString) pgm = g_string_new (header);
      g_string_append_len (pgm, (const char *) page->grey, (gssize) page->width * page->height);
      g_mkdir_with_parents (artifacts, 0755);
      g_file_set_contents (path, pgm->str, (gssize) pgm->len, NULL);
    }

  g_autoptr (GError) error = NULL;
  DgReading *reading
      = dg_read_digits (shipped_model (), digit_model (), scan_model (), pairs_model (), page->grey,
                        page->width, page->height, page->width, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reading);
  g_test_message ("read “%s”, lowest confidence %.3f, %d marks", reading->text,
                  reading->confidence, reading->n_marks);
  return reading;
}

static int
count_marks (const DgReading *reading, DgMarkKind kind)
{
  int n = 0;
  for (int m = 0; m < reading->n_marks; m++)
    n += reading->marks[m].kind == kind;
  return n;
}

/* ------------------------------------------------------------------------ */
/* Steps                                                                     */

static void
test_stroke_width (void)
{
  enum { W = 200, H = 100 };
  guint8 mask[W * H] = { 0 };
  /* A bar 120 long and 6 thick: area 720 over half its perimeter 126. */
  for (int y = 40; y < 46; y++)
    for (int x = 40; x < 160; x++)
      mask[y * W + x] = 1;
  g_assert_cmpfloat_with_epsilon (dg_mask_stroke_width (mask, W, H), 720.0 / 126.0, 1e-9);
  memset (mask, 0, sizeof mask);
  g_assert_cmpfloat (dg_mask_stroke_width (mask, W, H), ==, 0.0);
}

/* Fills rows [y0, y1) x columns [x0, x1) of @mask (W wide) with @value. */
static void
fill (guint8 *mask, int W, int x0, int x1, int y0, int y1, guint8 value)
{
  for (int y = y0; y < y1; y++)
    memset (mask + (gsize) y * W + x0, value, x1 - x0);
}

/* Draws a box's border, columns [x0, x1) x rows [y0, y1), and a rule
 * across it at row @rule_y, all @t thick. */
static void
ruled_box (guint8 *mask, int W, int x0, int x1, int y0, int y1, int rule_y, int t)
{
  fill (mask, W, x0, x1, y0, y0 + t, 1);
  fill (mask, W, x0, x1, y1 - t, y1, 1);
  fill (mask, W, x0, x1, rule_y, rule_y + t, 1);
  fill (mask, W, x0, x0 + t, y0, y1, 1);
  fill (mask, W, x1 - t, x1, y0, y1, 1);
}

/* Two touching digits whose boxes overlap: an L (1) whose foot runs under
 * a 7 (2) whose bar hangs over the L's stem, the 7's stem touching the
 * foot through one pixel.  In every row one lies left of the other, so the
 * cut parts them tearing only that pixel's link, though no straight or
 * gently slanting line could: it runs up by the L's stem and down round
 * the end of its foot. */
static void
test_cut_winds (void)
{
  enum { W = 80, H = 60 };
  guint8 mask[W * H] = { 0 };
  fill (mask, W, 6, 12, 0, 60, 1);   /* the L's stem */
  fill (mask, W, 6, 37, 50, 56, 1);  /* its foot */
  fill (mask, W, 16, 45, 4, 10, 2);  /* the 7's bar */
  fill (mask, W, 34, 40, 4, 47, 2);  /* its stem */
  fill (mask, W, 35, 36, 47, 50, 2); /* touching the foot */
  int cut[H];
  double torn = dg_mask_cut (mask, W, H, 25, 60.0, cut);
  g_assert_cmpfloat_with_epsilon (torn, 1.0, 1e-6);
  int lo = W, hi = 0;
  for (int y = 0; y < H; y++)
    {
      for (int x = 0; x < W; x++)
        if (mask[y * W + x] == 1)
          g_assert_cmpint (x, <, cut[y]);
        else if (mask[y * W + x] == 2)
          g_assert_cmpint (x, >=, cut[y]);
      lo = MIN (lo, cut[y]);
      hi = MAX (hi, cut[y]);
    }
  g_assert_cmpint (hi - lo, >=, 20);

  /* A ring (a 0) cut anywhere is torn twice, top and bottom. */
  memset (mask, 0, sizeof mask);
  fill (mask, W, 20, 60, 5, 55, 1);
  fill (mask, W, 26, 54, 11, 49, 0);
  torn = dg_mask_cut (mask, W, H, 40, 60.0, cut);
  g_assert_cmpfloat (torn, >=, 12.0);
}

/* A box's border and a rule through it go; a ring (a 0) inside, touching
 * the rule, stays whole but for the rule's own pixels. */
static void
test_rules_removed (void)
{
  enum { W = 600, H = 200 };
  g_autofree guint8 *mask = g_new0 (guint8, W * H);
  ruled_box (mask, W, 20, 580, 20, 180, 140, 3);
  /* A ring of radius 40 (stroke 8) sitting on the rule. */
  int ring = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        double r = hypot (x - 300.0, y - 100.0);
        if (r >= 36.0 && r < 44.0 && !mask[y * W + x])
          {
            mask[y * W + x] = 1;
            ring++;
          }
      }

  g_autoptr (GArray) rules = g_array_new (FALSE, FALSE, sizeof (DgBox));
  int found = dg_remove_rules (mask, W, H, 8.0, rules);
  g_assert_cmpint (found, ==, 5);
  g_assert_cmpint (rules->len, ==, 5);

  /* The border's and the rule's pixels are marked, away from the ring. */
  g_assert_cmpint (mask[21 * W + 100], ==, 2);
  g_assert_cmpint (mask[178 * W + 100], ==, 2);
  g_assert_cmpint (mask[141 * W + 500], ==, 2);
  g_assert_cmpint (mask[100 * W + 21], ==, 2);
  g_assert_cmpint (mask[100 * W + 578], ==, 2);
  /* The ring's own pixels are all still ink. */
  int kept = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        double r = hypot (x - 300.0, y - 100.0);
        if (r >= 36.0 && r < 44.0 && (y < 140 || y > 142))
          kept += mask[y * W + x] == 1;
      }
  g_assert_cmpint (kept, >=, ring - 40);
}

/* A digit's flat stroke lying along a rule, as thin as a rule's run together
 * with it, does not make the rule part of the digit: a 5's tail on the rule
 * of a box, rising into a stroke as tall as the box, left the rule (and so
 * the digits touching it) in.  Stroke and rule are both 8 pixels thick. */
static void
test_rules_flat_stroke (void)
{
  enum { W = 360, H = 200 };
  g_autofree guint8 *mask = g_new0 (guint8, W * H);
  for (int x = 20; x < 340; x++)   /* the rule, 320 long */
    for (int y = 140; y < 148; y++)
      mask[y * W + x] = 1;
  for (int x = 100; x < 130; x++)  /* the tail, lying on it, 4 thick */
    for (int y = 136; y < 140; y++)
      mask[y * W + x] = 1;
  int stroke = 0;
  for (int x = 130; x < 230; x++)  /* rising from it at 45 degrees, 10 across */
    for (int y = 130 - (x - 130); y < 140 - (x - 130); y++)
      {
        mask[y * W + x] = 1;
        stroke++;
      }

  g_autoptr (GArray) rules = g_array_new (FALSE, FALSE, sizeof (DgBox));
  g_assert_cmpint (dg_remove_rules (mask, W, H, 8.0, rules), ==, 1);
  DgBox rule = g_array_index (rules, DgBox, 0);
  g_assert_cmpint (rule.y, >=, 136);
  g_assert_cmpint (rule.height, <=, 12);
  g_assert_cmpint (mask[144 * W + 60], ==, 2);
  g_assert_cmpint (mask[144 * W + 300], ==, 2);
  int kept = 0;
  for (int x = 131; x < 230; x++)
    for (int y = 130 - (x - 130); y < 140 - (x - 130); y++)
      kept += mask[y * W + x] == 1;
  g_assert_cmpint (kept, >=, stroke - 20);
}

/* A bowl lying on a rule leaves no stripe of the rule under it beyond two
 * strokes' width (a 6 read as a 5, a 0 as a 9), but a stroke ending on the
 * rule (a currency sign's bar) or crossing it keeps its ink there.
 * Strokes 8 thick, the rule 12. */
static void
test_rules_stroke_on_rule (void)
{
  enum { W = 480, H = 200 };
  g_autofree guint8 *mask = g_new0 (guint8, W * H);
  fill (mask, W, 20, 460, 140, 152, 1); /* the rule */
  int ring = 0;                    /* a ring of radius 40 dipping 2 into it */
  for (int y = 0; y < 140; y++)
    for (int x = 0; x < W; x++)
      {
        double r = hypot (x - 150.0, y - 98.0);
        if (r >= 36.0 && r < 44.0)
          {
            mask[y * W + x] = 1;
            ring++;
          }
      }
  fill (mask, W, 250, 258, 60, 142, 1); /* a bar ending on it */
  fill (mask, W, 350, 358, 60, 180, 1); /* a stem crossing it */

  g_assert_cmpint (dg_remove_rules (mask, W, H, 8.0, NULL), ==, 1);
  for (int x = 140; x <= 160; x++) /* under the bowl, beyond two strokes' width */
    g_assert_cmpint (mask[150 * W + x], ==, 2);
  int kept = 0;
  for (int y = 0; y < 140; y++)
    for (int x = 0; x < W; x++)
      {
        double r = hypot (x - 150.0, y - 98.0);
        kept += r >= 36.0 && r < 44.0 && mask[y * W + x] == 1;
      }
  g_assert_cmpint (kept, ==, ring);
  g_assert_cmpint (mask[150 * W + 254], ==, 1);
  g_assert_cmpint (mask[150 * W + 354], ==, 1);
  g_assert_cmpint (mask[150 * W + 300], ==, 2);
}

/* A "$" whose bar runs from a box's top to the rule under the digits is
 * no side of the box, though both its ends meet rules: the S crosses it
 * three times, where nothing crosses the box's sides.  It read as an 8. */
static void
test_rules_currency_bar (void)
{
  enum { W = 400, H = 200 };
  g_autofree guint8 *mask = g_new0 (guint8, W * H);
  ruled_box (mask, W, 20, 380, 20, 180, 140, 4);
  for (int y = 24; y < 140; y++)   /* the bar, 4 wide */
    for (int x = 78; x < 82; x++)
      mask[y * W + x] = 1;
  for (int k = 0; k < 3; k++)      /* the S's three strokes across it */
    fill (mask, W, 60, 100, 50 + 35 * k, 56 + 35 * k, 1);

  g_assert_cmpint (dg_remove_rules (mask, W, H, 8.0, NULL), ==, 5);
  g_assert_cmpint (mask[100 * W + 22], ==, 2);
  g_assert_cmpint (mask[100 * W + 378], ==, 2);
  for (int y = 30; y < 135; y++)
    g_assert_cmpint (mask[y * W + 80], ==, 1);
}

/* A digit's long stroke is not a rule. */
static void
test_rules_not_digits (void)
{
  enum { W = 400, H = 200 };
  g_autofree guint8 *mask = g_new0 (guint8, W * H);
  for (int y = 40; y < 160; y++)       /* a "1", 120 tall, 8 wide */
    for (int x = 100; x < 108; x++)
      mask[y * W + x] = 1;
  for (int x = 200; x < 290; x++)      /* a 7's bar, 90 long */
    for (int y = 40; y < 48; y++)
      mask[y * W + x] = 1;
  g_assert_cmpint (dg_remove_rules (mask, W, H, 8.0, NULL), ==, 0);
  for (int i = 0; i < W * H; i++)
    g_assert_cmpint (mask[i], <=, 1);
}

/* ------------------------------------------------------------------------ */
/* Whole pages                                                               */

static void
test_read_separated (void)
{
  Page page = page_new (900, 300);
  draw_text (&page, "3904", 100, 80, 120, 160);
  g_autoptr (DgReading) reading = read_page (&page);
  g_assert_cmpstr (reading->text, ==, "3904");
  g_assert_cmpint (reading->n_digits, ==, 4);
  g_assert_cmpint (reading->n_lines, ==, 1);
  for (int d = 0; d < 4; d++)
    {
      const DgBox *box = &reading->digits[d].box;
      /* Each box holds its digit: 120 tall, starting near its place. */
      g_assert_cmpint (abs (box->x - (100 + 160 * d)), <, 30);
      g_assert_cmpint (abs (box->height - 120), <, 20);
      g_assert_cmpint (reading->digits[d].line, ==, 0);
    }
  g_assert_cmpfloat (reading->confidence, >, 0.5);
  g_assert_cmpfloat (reading->digit_height, >, 100);
  g_free (page.grey);
}

/* Light ink on a dark board reads the same. */
static void
test_read_light_on_dark (void)
{
  Page page = page_new (900, 300);
  draw_text (&page, "5618", 100, 80, 120, 160);
  for (gsize i = 0; i < (gsize) page.width * page.height; i++)
    page.grey[i] = 255 - page.grey[i];
  g_autoptr (DgReading) reading = read_page (&page);
  g_assert_cmpstr (reading->text, ==, "5618");
  g_free (page.grey);
}

/* A 5 whose bar came off and a 4 drawn in two strokes that do not meet
 * are one digit each. */
static void
test_merge_pieces (void)
{
  Page page = page_new (800, 300);
  double h = 120, x = 100, y = 80, pen = 12;
  /* The 5: its body, and the bar 6 pixels above and right of where it joins. */
  const double *p = dg_draw_digit_points[5];
  draw_polyline (&page, p + 2, 8, x, y, h, h, pen);
  draw_line (&page, x + h * 0.14 + 10, y - 14, x + h * 0.7, y - 14, pen, 30);
  /* The 4: the stem, and the slanted stroke and crossbar stopping short of it. */
  x = 400;
  draw_line (&page, x + 0.55 * h, y, x + 0.55 * h, y + h, pen, 30);
  draw_line (&page, x + 0.4 * h, y + 0.1 * h, x, y + 0.68 * h, pen, 30);
  draw_line (&page, x, y + 0.68 * h, x + 0.47 * h, y + 0.68 * h, pen, 30);
  g_autoptr (DgReading) reading = read_page (&page);
  g_assert_cmpstr (reading->text, ==, "54");
  g_free (page.grey);
}

/* Two digits whose strokes touch are cut apart. */
static void
test_split_touching (void)
{
  Page page = page_new (700, 300);
  /* A 4 and a 7 whose bar runs into the 4's stem; a 2 and a 3 touching. */
  draw_text (&page, "47", 100, 80, 120, 72);
  draw_text (&page, "23", 400, 80, 120, 78);
  g_autoptr (DgReading) reading = read_page (&page);
  g_assert_cmpstr (reading->text, ==, "4723");
  g_assert_cmpint (reading->n_digits, ==, 4);
  /* The cut leaves the 4 to the left of the 7. */
  g_assert_cmpint (reading->digits[0].box.x + reading->digits[0].box.width, <=,
                   reading->digits[1].box.x + 20);
  g_free (page.grey);
}

/* Digits that overlap, so that no cut down the page parts them (a 7's
 * stem through a 1's, a 0 drawn over a 7's stroke), are read by the pair
 * model; without it they are read as one digit. */
static void
test_overlapping (void)
{
  Page page = page_new (1200, 300);
  draw_text (&page, "71", 100, 80, 120, 40);
  draw_text (&page, "70", 450, 80, 120, 50);
  draw_text (&page, "07", 800, 80, 120, 50);
  g_autoptr (DgReading) reading = read_page (&page);
  g_assert_cmpstr (reading->text, ==, "717007");
  for (int d = 0; d < reading->n_digits; d++)
    g_assert_true (reading->digits[d].cut);
  /* The 7 stands left of the 1, the 0 of the 7. */
  g_assert_cmpint (reading->digits[0].box.x, <, reading->digits[1].box.x);
  g_assert_cmpint (reading->digits[4].box.x, <, reading->digits[5].box.x);

  g_autoptr (GError) error = NULL;
  g_autoptr (DgReading) without
      = dg_read_digits (shipped_model (), digit_model (), scan_model (), NULL, page.grey,
                        page.width, page.height, page.width, &error);
  g_assert_no_error (error);
  g_test_message ("without the pair model: %s", without->text);
  g_assert_cmpint (without->n_digits, <, 6);
  g_free (page.grey);
}

/* The second opinion: a digit read whole gets the mean of the strings
 * model's probabilities and those of the digit and scan models (their
 * mean); digits cut out of touching ink keep the strings model's, and the
 * segmentation is the same. */
static void
test_second_opinion (void)
{
  Page page = page_new (700, 300);
  draw_text (&page, "47", 100, 80, 120, 72);
  draw_text (&page, "5", 400, 80, 120, 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (DgReading) alone
      = dg_read_digits (shipped_model (), NULL, NULL, pairs_model (), page.grey, page.width,
                        page.height, page.width, &error);
  g_assert_no_error (error);
  g_autoptr (DgReading) both = read_page (&page);
  g_assert_cmpstr (both->text, ==, "475");
  g_assert_cmpint (alone->n_digits, ==, both->n_digits);

  int n_cut = 0;
  for (int d = 0; d < both->n_digits; d++)
    {
      const DgDigitReading *a = &alone->digits[d], *b = &both->digits[d];
      float second[DG_CLASSES], scan[DG_CLASSES];
      g_assert_cmpint (a->box.x, ==, b->box.x);
      g_assert_cmpint (a->cut, ==, b->cut);
      g_assert_cmpint (b->cut, ==, d < 2); /* the 4 and the 7 touch; the 5 stands alone */
      n_cut += b->cut;
      dg_model_predict (digit_model (), 1, b->input, second);
      dg_model_predict (scan_model (), 1, b->input, scan);
      for (int j = 0; j < DG_CLASSES; j++)
        {
          float mean = 0.5f * (a->probs[j] + 0.5f * (second[j] + scan[j]));
          g_assert_cmpfloat_with_epsilon (b->probs[j], b->cut ? a->probs[j] : mean, 1e-6);
        }
      g_assert_cmpint (b->digit, ==, dg_argmax (b->probs, DG_CLASSES));
    }
  g_assert_cmpint (n_cut, ==, 2);
  g_free (page.grey);
}

/* An amount on a form: a box round it and a rule the digits sit on. */
static void
test_ruled_box (void)
{
  Page page = page_new (1000, 320);
  draw_line (&page, 60, 40, 940, 40, 3, 70);
  draw_line (&page, 60, 280, 940, 280, 3, 70);
  draw_line (&page, 60, 40, 60, 280, 3, 70);
  draw_line (&page, 940, 40, 940, 280, 3, 70);
  draw_line (&page, 60, 222, 940, 222, 3, 70);
  draw_text (&page, "2019", 150, 100, 120, 170);
  g_autoptr (DgReading) reading = read_page (&page);
  g_assert_cmpstr (reading->text, ==, "2019");
  g_assert_cmpint (count_marks (reading, DG_MARK_RULE), >=, 5);
  g_free (page.grey);
}

/* A dollar sign for digits @h tall from @y: an S of two arcs, centred on
 * column @cx, and a bar from @top above the digits to @bottom below them
 * (in @h), drawn @pen wide. */
static void
draw_dollar (Page *page, double cx, double y, double h, double top, double bottom, double pen)
{
  double prev_x = 0, prev_y = 0;
  for (int i = 0; i <= 40; i++)
    {
      double t = i / 40.0, a, px, py;
      if (t <= 0.5)
        {
          a = (20.0 + 250.0 * t * 2) * G_PI / 180.0;
          px = cx + 0.3 * h * cos (a);
          py = y + 0.28 * h - 0.22 * h * sin (a);
        }
      else
        {
          a = (90.0 - 250.0 * (t - 0.5) * 2) * G_PI / 180.0;
          px = cx + 0.3 * h * cos (a);
          py = y + 0.72 * h - 0.22 * h * sin (a);
        }
      if (i > 0)
        draw_line (page, prev_x, prev_y, px, py, pen, 30);
      prev_x = px;
      prev_y = py;
    }
  draw_line (page, cx, y - top * h, cx, y + (1 + bottom) * h, pen, 30);
}

/* "$1,250-": the sign, the comma and the dash are marks, not digits. */
static void
test_marks_ignored (void)
{
  Page page = page_new (1100, 320);
  double h = 120, y = 90, pen = 12;
  draw_dollar (&page, 130, y, h, 0.15, 0.15, pen);
  draw_text (&page, "1", 260, y, h, 0);
  /* The comma, low after the 1: the network reads it as a 1, surely, but
   * it is as narrow as a comma, and being short costs it in full. */
  draw_line (&page, 372, y + h - 8, 366, y + h + 22, pen, 30);
  draw_text (&page, "250", 420, y, h, 150);
  /* The dash after the amount. */
  draw_line (&page, 900, y + 0.5 * h, 960, y + 0.5 * h, pen, 30);
  g_autoptr (DgReading) reading = read_page (&page);
  g_assert_cmpstr (reading->text, ==, "1250");
  g_assert_cmpint (count_marks (reading, DG_MARK_SYMBOL), >=, 2);
  g_free (page.grey);
}

/* The rightmost column of ink (grey under 128) in columns [x0, x1). */
static int
ink_right (const Page *page, int x0, int x1)
{
  int right = -1;
  for (int y = 0; y < page->height; y++)
    for (int x = x0; x < x1; x++)
      if (page->grey[(gsize) y * page->width + x] < 128)
        right = MAX (right, x);
  return right;
}

/* A comma from (@x, @bottom - @from H) down to (@x, @bottom + @to H), its
 * foot 8 pixels left of its top: @bottom is the line's bottom row there. */
static void
draw_comma (Page *page, double x, double bottom, double h, double from, double to, double pen)
{
  draw_line (page, x + 4, bottom - from * h, x - 4, bottom + to * h, pen, 30);
}

/* Reads @page (and frees it): @text, with @n_symbols marks (commas,
 * signs) left out. */
static void
assert_reads (Page *page, const char *text, int n_symbols)
{
  g_autoptr (DgReading) reading = read_page (page);
  g_assert_cmpstr (reading->text, ==, text);
  g_assert_cmpint (count_marks (reading, DG_MARK_SYMBOL), ==, n_symbols);
  g_free (page->grey);
}

/* Commas written close after a 0 and a 7, as close as the pieces of one
 * digit may be: merged, "0," reads as a 9 and "7," as a 3. */
static void
test_comma_close (void)
{
  Page page = page_new (900, 300);
  double h = 120, y = 80, pen = 12;
  draw_text (&page, "0", 100, y, h, 0);
  draw_text (&page, "7", 340, y, h, 0);
  draw_text (&page, "5", 580, y, h, 0);
  for (int i = 0; i < 2; i++)
    {
      double x = ink_right (&page, 100 + 240 * i, 300 + 240 * i) + pen / 2 + 0.08 * h;
      draw_comma (&page, x, y + h, h, 0.08, 0.2, pen);
    }
  assert_reads (&page, "075", 2);
}

/* A comma written under a 4's stem, hanging below the line: no piece of
 * a digit hangs there.  Merged into the 4 (here still read as a 4), a
 * comma made it read as a 9: "6174,249" read "6179249". */
static void
test_comma_under (void)
{
  Page page = page_new (900, 320);
  double h = 120, y = 80, pen = 12;
  draw_text (&page, "74", 80, y, h, 170);
  draw_comma (&page, ink_right (&page, 250, 400) - pen, y + h, h, 0.05, 0.25, pen);
  draw_text (&page, "97", 460, y, h, 170);
  assert_reads (&page, "7497", 1);
}

/* A line written climbing (a page turned by 5 degrees): a comma after a 7
 * near its end stands as high, against the line's first digits, as a
 * piece of the 7 would, and was merged into it (here still read as a 7;
 * "7," can read as a 3).  Against the band where it stands it is low: a
 * comma, left out. */
static void
test_comma_climbing (void)
{
  Page page = page_new (1200, 420);
  double h = 110, y = 250, pen = 11, advance = 120, climb = 0.09;
  const char *text = "2000007";
  for (int i = 0; text[i] != '\0'; i++)
    draw_text (&page, (char[]){ text[i], '\0' }, 60 + i * advance, y - climb * i * advance, h, 0);
  double x7 = 60 + 6 * advance;
  double x = ink_right (&page, (int) x7, (int) (x7 + advance)) + pen / 2 + 0.08 * h;
  draw_comma (&page, x, y - climb * (x - 60) + h, h, 0.08, 0.2, pen);
  draw_text (&page, "5", x + 0.35 * h, y - climb * (x + 0.35 * h - 60), h, 0);
  assert_reads (&page, "20000075", 1);
}

/* Short digits between tall ones: the 6 is more than LINE_GAP from the
 * 7, the last digit of full height, but close after the 4s, and goes on
 * the same line. */
static void
test_line_of_short_digits (void)
{
  Page page = page_new (1040, 320);
  draw_text (&page, "7", 60, 100, 120, 0);
  draw_text (&page, "44", 210, 140, 80, 160);
  draw_text (&page, "695", 620, 100, 120, 130);
  g_autoptr (DgReading) reading = read_page (&page);
  g_assert_cmpstr (reading->text, ==, "744695");
  g_assert_cmpint (reading->n_lines, ==, 1);
  g_free (page.grey);
}

/* Two lines: top to bottom, each left to right, separated by a space. */
static void
test_two_lines (void)
{
  Page page = page_new (900, 600);
  draw_text (&page, "12", 120, 80, 110, 150);
  draw_text (&page, "345", 100, 360, 110, 150);
  g_autoptr (DgReading) reading = read_page (&page);
  g_assert_cmpstr (reading->text, ==, "12 345");
  g_assert_cmpint (reading->n_lines, ==, 2);
  g_assert_cmpint (reading->n_digits, ==, 5);
  int lines[] = { 0, 0, 1, 1, 1 };
  for (int d = 0; d < 5; d++)
    g_assert_cmpint (reading->digits[d].line, ==, lines[d]);
  g_free (page.grey);
}

/* Paper (grey 235) over the rectangle @x0..@x1, @y0..@y1: a stroke broken there. */
static void
erase (Page *page, double x0, double y0, double x1, double y1)
{
  for (int y = MAX (0, (int) y0); y < MIN (page->height, (int) ceil (y1)); y++)
    for (int x = MAX (0, (int) x0); x < MIN (page->width, (int) ceil (x1)); x++)
      page->grey[(gsize) y * page->width + x] = 235;
}

/* A digit alone on the page, broken across into pieces one above another
 * (a pen lifted, a faint stroke), is one digit on one line: a 5 in three
 * pieces (its bar and stem, the top of its bowl, the rest), an 8 in two
 * loops.  Two digits one above the other, a quarter of their height apart,
 * are still two lines, and so are two numbers closer than a stroke's width
 * and a half. */
static void
test_stacked_pieces (void)
{
  double h = 160, x = 200, y = 90, gap = 10;
  struct
  {
    const char *expected;
    int lines;
  } cases[] = { { "5", 1 }, { "8", 1 }, { "3 7", 2 }, { "12 34", 2 } };
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      Page page = page_new (600, 500);
      if (k == 0)
        {
          draw_text (&page, "5", x, y, h, 0);
          erase (&page, x - 10, y + 0.3 * h, x + 0.25 * h, y + 0.3 * h + gap);
          erase (&page, x + 0.5 * h, y + 0.62 * h, x + 0.9 * h, y + 0.62 * h + gap);
        }
      else if (k == 1)
        {
          draw_text (&page, "8", x, y, h, 0);
          erase (&page, x + 0.15 * h, y + 0.45 * h, x + 0.55 * h, y + 0.45 * h + gap);
        }
      else if (k == 2)
        {
          draw_text (&page, "3", x, y - 40, 0.6 * h, 0);
          draw_text (&page, "7", x, y - 40 + 0.75 * h, 0.6 * h, 0);
        }
      else
        {
          draw_text (&page, "12", x, y - 40, 0.6 * h, 0.5 * h);
          draw_text (&page, "34", x, y - 40 + 0.6 * h + 20, 0.6 * h, 0.5 * h);
        }
      g_autoptr (DgReading) reading = read_page (&page);
      g_assert_cmpstr (reading->text, ==, cases[k].expected);
      g_assert_cmpint (reading->n_lines, ==, cases[k].lines);
      g_free (page.grey);
    }
}

/* A loop of @pen round (@cx, @cy), @rx by @ry. */
static void
draw_loop (Page *page, double cx, double cy, double rx, double ry, double pen)
{
  for (int i = 0; i < 24; i++)
    {
      double a = 2 * G_PI * i / 24, b = 2 * G_PI * (i + 1) / 24;
      draw_line (page, cx + rx * cos (a), cy + ry * sin (a), cx + rx * cos (b), cy + ry * sin (b),
                 pen, 30);
    }
}

/* An 8 in two loops, one above the other, with a comma close after it.
 * Beside either loop, short alone, the comma looked like a piece of a
 * digit and was merged (here into the 8, still read as an 8; "628,140"
 * read "6209140", the bottom loop a 0 and the top one with the comma a
 * 9).  Beside the 8 the two loops stack into, it is a comma, left out. */
static void
test_comma_after_stacked (void)
{
  Page page = page_new (900, 320);
  double h = 120, x = 100, y = 80, pen = 12;
  draw_loop (&page, x + 0.25 * h, y + 0.75 * h, 0.22 * h, 0.18 * h, pen);
  draw_loop (&page, x + 0.3 * h, y + 0.25 * h, 0.2 * h, 0.18 * h, pen);
  draw_comma (&page, x + 0.5 * h + pen + 0.1 * h, y + h, h, 0.1, 0.25, pen);
  draw_text (&page, "14", 340, y, h, 170);
  assert_reads (&page, "814", 1);
}

/* Several threads read pages at once (recognize --jobs, the app's reader):
 * each must get its own page's reading, in its own order. */
typedef struct
{
  const Page *page;
  const char *expected;
  int wrong;
} ThreadRead;

static gpointer
read_repeatedly (gpointer data)
{
  ThreadRead *job = data;
  for (int i = 0; i < 100; i++)
    {
      g_autoptr (DgReading) reading = dg_read_digits (
          shipped_model (), digit_model (), scan_model (), pairs_model (), job->page->grey,
          job->page->width, job->page->height, job->page->width, NULL);
      if (reading == NULL || g_strcmp0 (reading->text, job->expected) != 0)
        job->wrong++;
    }
  return NULL;
}

static void
test_threads (void)
{
  /* Two pages of nine digits, one sloping up to the right and one down:
   * found top to bottom, their pieces come in opposite orders, so sorting
   * one page's pieces by the other's places would scramble the string. */
  const char *texts[2] = { "314159265", "271828459" };
  Page pages[2] = { page_new (1100, 260), page_new (1100, 260) };
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < 9; i++)
      dg_draw_digit (pages[k].grey, 1100, 260, 1100, texts[k][i] - '0', 40 + 115 * i,
                     k == 0 ? 90 - 7 * i : 34 + 7 * i, 80, 0.1, 8, 30);

  ThreadRead jobs[2];
  for (int k = 0; k < 2; k++)
    {
      g_autoptr (DgReading) alone = read_page (&pages[k]);
      jobs[k] = (ThreadRead) { &pages[k], texts[k], 0 };
      g_assert_cmpstr (alone->text, ==, texts[k]);
    }

  GThread *threads[2];
  for (int k = 0; k < 2; k++)
    threads[k] = g_thread_new ("reader", read_repeatedly, &jobs[k]);
  for (int k = 0; k < 2; k++)
    {
      g_thread_join (threads[k]);
      g_assert_cmpint (jobs[k].wrong, ==, 0);
      g_free (pages[k].grey);
    }
}

static void
test_nothing (void)
{
  g_autoptr (GError) error = NULL;
  Page page = page_new (600, 300);
  DgReading *reading
      = dg_read_digits (shipped_model (), digit_model (), scan_model (), pairs_model (), page.grey,
                        page.width, page.height, page.width, &error);
  g_assert_null (reading);
  g_assert_error (error, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_NOTHING_TO_READ);
  g_clear_error (&error);

  /* An empty box on a form is nothing to read either. */
  draw_line (&page, 60, 40, 540, 40, 3, 60);
  draw_line (&page, 60, 260, 540, 260, 3, 60);
  draw_line (&page, 60, 40, 60, 260, 3, 60);
  draw_line (&page, 540, 40, 540, 260, 3, 60);
  reading = dg_read_digits (shipped_model (), digit_model (), scan_model (), pairs_model (),
                            page.grey, page.width, page.height, page.width, &error);
  g_assert_null (reading);
  g_assert_error (error, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_NOTHING_TO_READ);
  g_free (page.grey);
}

/* A classifier sure of nothing: every candidate a toss-up, and a worse
 * reading than leaving the ink out. */
static void
classify_unsure (int n, const float *images, const DgBox *boxes, float *probs, float *fits,
                 gpointer user_data)
{
  for (int i = 0; i < n; i++)
    {
      for (int c = 0; c < DG_CLASSES; c++)
        probs[i * DG_CLASSES + c] = c == 3 ? 0.2f : 0.8f / (DG_CLASSES - 1);
      fits[i] = logf (0.02f);
    }
}

/* A classifier for a wide digit alone (@user_data: its width): sure
 * enough of it whole, 2 with probability 0.6, and a little less of any
 * slice of it, 0.45. */
static void
classify_wide (int n, const float *images, const DgBox *boxes, float *probs, float *fits,
               gpointer user_data)
{
  for (int i = 0; i < n; i++)
    {
      float p = boxes[i].width >= GPOINTER_TO_INT (user_data) ? 0.6f : 0.45f;
      for (int c = 0; c < DG_CLASSES; c++)
        probs[i * DG_CLASSES + c] = c == 2 ? p : (1.0f - p) / (DG_CLASSES - 1);
      fits[i] = logf (p);
    }
}

/* ... and of either digit of it read as a pair, 0.45. */
static void
classify_wide_pair (int n, const float *images, const DgBox *boxes, float *probs, float *fits,
                    gpointer user_data)
{
  classify_wide (n, images, boxes, probs, fits, GINT_TO_POINTER (G_MAXINT));
}

/* Reads @page with @classify (and @classify_pairs, or none), classifiers
 * made up for the test. */
static DgReading *
read_page_with (const Page *page, DgClassifyFunc classify, gpointer data,
                DgClassifyFunc classify_pairs, gpointer pair_data)
{
  g_autoptr (GError) error = NULL;
  DgContrast contrast;
  g_assert_true (dg_contrast_init (&contrast, page->grey, page->width, page->height, page->width,
                                   &error));
  DgReading *reading = dg_read_contrast (&contrast, classify, data, classify_pairs, pair_data,
                                         &error);
  dg_contrast_clear (&contrast);
  g_assert_no_error (error);
  g_assert_nonnull (reading);
  g_test_message ("read “%s”", reading->text);
  return reading;
}

/* Reads @page (and frees it) with @classify and @data (and
 * @classify_pairs, or none), classifiers made up for the test: @text. */
static void
assert_reads_with (Page *page, DgClassifyFunc classify, gpointer data,
                   DgClassifyFunc classify_pairs, const char *text)
{
  g_autoptr (DgReading) reading = read_page_with (page, classify, data, classify_pairs, NULL);
  g_assert_cmpstr (reading->text, ==, text);
  g_free (page->grey);
}

/* Reads @page with classify_wide, its atom @whole pixels wide. */
static DgReading *
read_wide (const Page *page, int whole)
{
  return read_page_with (page, classify_wide, GINT_TO_POINTER (whole), classify_wide_pair, NULL);
}

/* One digit alone on its line, wider than tall (a 2 with a loop and a
 * long tail, as MNIST has many), stays one digit when its halves read no
 * surer than it does whole: alone, its width is measured against its own
 * height and says little, so a slice or a pair must read as sure as
 * ALONE_SURE.  Before, it paid for its width and lost to two unsure
 * halves.  Wider than ALONE_WIDTH it is no one digit (five fused in a
 * small box), and its slices count as they always do. */
static void
test_wide_alone (void)
{
  static const double two[] = { 0.35, 0.3, 0.55, 0.05, 0.8, 0.0, 0.95, 0.15, 0.85, 0.45,
                                0.45, 0.8, 0.2, 0.95, 0.1, 0.85, 0.25, 0.75, 0.5, 0.85,
                                0.8, 0.95, 1.5, 0.95 };
  double x = 150, y = 100, h = 80;
  Page page = page_new (600, 300);
  draw_polyline (&page, two, G_N_ELEMENTS (two) / 2, x, y, h, h, 8);
  g_autoptr (DgReading) wide = read_wide (&page, (int) (1.4 * h)); /* 0.1 h .. 1.5 h */
  g_assert_cmpstr (wide->text, ==, "2");
  g_assert_cmpint (wide->digits[0].box.width, >=, 1.4 * h);
  g_assert_false (wide->digits[0].cut);
  g_free (page.grey);

  /* Five 0s 60 pixels tall, 36 apart: 186 pixels wide and more. */
  page = page_new (600, 300);
  draw_text (&page, "00000", 100, 100, 60, 36);
  g_autoptr (DgReading) wider = read_wide (&page, 186);
  g_assert_cmpint (wider->n_digits, >=, 2);
  g_free (page.grey);
}

/* A classifier for test_flat_not_cut: sure of 3s, but in the columns of
 * an atom (Flat, pixels [x0, x1)) a 2 read at @whole as a whole, a slice
 * at its left end a 2 at 0.9, any other slice a 1 at 0.4.  The network
 * read a flat 2 whole at 0.21, and its slices at 0.88 and 0.24. */
typedef struct
{
  int x0, x1;
  float whole;
} Flat;

static void
classify_flat (int n, const float *images, const DgBox *boxes, float *probs, float *fits,
               gpointer user_data)
{
  const Flat *flat = user_data;
  for (int i = 0; i < n; i++)
    {
      const DgBox *b = &boxes[i];
      int digit = 3;
      float p = 0.99f;
      if (b->x + b->width > flat->x0 && b->x < flat->x1)
        {
          gboolean whole = b->x <= flat->x0 + 2 && b->x + b->width >= flat->x1 - 2;
          gboolean left = b->x <= flat->x0 + 2;
          digit = whole || left ? 2 : 1;
          p = whole ? flat->whole : left ? 0.9f : 0.4f;
        }
      for (int c = 0; c < DG_CLASSES; c++)
        probs[i * DG_CLASSES + c] = c == digit ? p : (1.0f - p) / (DG_CLASSES - 1);
      fits[i] = logf (p);
    }
}

/* A flat digit about a digit wide (under FLAT_TALL, at most FLAT_WIDTH) is
 * cut only into slices the network reads surely: a flat 2 read unsure
 * whole was read as a sure 2 and an unsure 1 ("73808112117").  A digit's
 * height tall, the same atom may be two touching digits, and its slices
 * count as they always do; but not when the network reads it whole as one
 * digit surely, however wide ("902" with a wide 0 read "2042"). */
static void
test_flat_not_cut (void)
{
  static const double two[] = { 0.05, 0.3, 0.3, 0.0,  0.7,  0.0, 0.95, 0.2, 0.8,
                                0.45, 0.4, 0.7, 0.05, 0.95, 0.5, 0.95, 1.0, 0.95 };
  static const struct
  {
    double height, width; /* of the 2, in the 3s' height */
    float whole;          /* the network's probability of the 2 as a whole */
    const char *reads;
  } cases[] = {
    { 0.7, 1.0, 0.1f, "323" },  /* flat: not cut */
    { 1.0, 1.0, 0.1f, "3213" }, /* a digit tall, read unsure whole: cut */
    { 1.0, 1.4, 0.9f, "323" },  /* read surely whole: not cut, though wide */
  };
  double h = 100, y = 100;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      double fh = cases[i].height * h, fw = cases[i].width * h, x = 260;
      Page page = page_new (800, 320);
      draw_text (&page, "3", 100, y, h, 0);
      draw_text (&page, "3", 460, y, h, 0);
      draw_polyline (&page, two, G_N_ELEMENTS (two) / 2, x, y + h - fh, fw, fh, 10);
      /* The atom ends the pen's half-width past the polyline's box. */
      Flat flat = { (int) x, (int) (x + fw) + 6, cases[i].whole };
      assert_reads_with (&page, classify_flat, &flat, NULL, cases[i].reads);
    }
}

/* Ink of a digit's height is read even when no reading of it is sure
 * (leaving it all out would cost less): shown unsure, not as nothing. */
static void
test_unsure_kept (void)
{
  Page page = page_new (700, 300);
  draw_text (&page, "38", 100, 80, 120, 160);
  g_autoptr (DgReading) reading = read_page_with (&page, classify_unsure, NULL, NULL, NULL);
  g_assert_cmpint (reading->n_digits, >=, 1);
  g_assert_cmpfloat (reading->confidence, <, DG_UNSURE_BELOW);
  g_free (page.grey);
}

/* A classifier that gives a 3 probability @user_data->p inside columns
 * [x0, x1] and 0.99 elsewhere. */
typedef struct
{
  int x0, x1;
  float p;
} Span;

static void
classify_span (int n, const float *images, const DgBox *boxes, float *probs, float *fits,
               gpointer user_data)
{
  const Span *span = user_data;
  for (int i = 0; i < n; i++)
    {
      gboolean inside = boxes[i].x >= span->x0 && boxes[i].x + boxes[i].width <= span->x1;
      float p = inside ? span->p : 0.99f;
      for (int c = 0; c < DG_CLASSES; c++)
        probs[i * DG_CLASSES + c] = c == 3 ? p : (1.0f - p) / (DG_CLASSES - 1);
      fits[i] = logf (p);
    }
}

/* Seven digits fused into a blob over three digits wide, between 1s read
 * surely, are read (unsure) though no reading of the blob is sure, not left
 * out as a sign at the cost of two digits: "459141818" with its first
 * seven fused read "18". */
static void
test_fused_number_kept (void)
{
  Page page = page_new (1000, 300);
  draw_text (&page, "11", 60, 100, 80, 70);
  draw_text (&page, "4591418", 260, 100, 80, 30);
  draw_text (&page, "11", 620, 100, 80, 70);
  Span span = { 230, 560, 0.1f };
  g_autoptr (DgReading) reading = read_page_with (&page, classify_span, &span, NULL, NULL);
  g_assert_cmpint (reading->n_digits, >=, 4 + 2);
  g_assert_cmpfloat (reading->confidence, <, DG_UNSURE_BELOW);
  for (int m = 0; m < reading->n_marks; m++)
    g_assert_cmpint (reading->marks[m].box.width, <, 80);
  g_free (page.grey);
}

/* Draws @text (digits 80 high, 90 apart) and reads it with the network
 * giving probability @p inside columns [@x0, @x1]: every digit is read,
 * none left out as a sign. */
static void
assert_all_read (const char *text, int x0, int x1, float p)
{
  Page page = page_new (800, 300);
  draw_text (&page, text, 60, 100, 80, 90);
  Span span = { x0, x1, p };
  g_autoptr (DgReading) reading = read_page_with (&page, classify_span, &span, NULL, NULL);
  g_assert_cmpint (reading->n_digits, ==, strlen (text));
  g_assert_cmpint (count_marks (reading, DG_MARK_SYMBOL), ==, 0);
  g_free (page.grey);
}

/* A 1 at the end of a line of 0s, though the network is not sure of it,
 * is no sign to leave out cheaply: "7451" read "745".  One at the start
 * may be (a "$" before the amount). */
static void
test_last_one_kept (void)
{
  assert_all_read ("00001", 400, 800, 0.35f);
}

/* A digit written taller than the others is read at either end of a
 * line.  At its end only ink standing out above and below (a sign's bar)
 * costs more: a last 3 standing out below only was left out ("4205043"
 * read "420504").  At its start tall alone costs more, but only when the
 * network is unsure of it, as it is of a "$": a first 9 read surely was
 * left out ("902" read "02"). */
static void
test_tall_kept (void)
{
  static const struct
  {
    const char *left, *right, *reads;
    double right_x;        /* the left part starts at 60 */
    double left_y, left_h; /* its top and height */
    double right_y, right_h;
  } cases[] = {
    { "420", "3", "4203", 390, 100, 90, 100, 125 }, /* tops level: the 3 stands out below */
    { "9", "02", "902", 200, 70, 130, 100, 95 },    /* about level at the bottom */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Page page = page_new (800, 320);
      draw_text (&page, cases[i].left, 60, cases[i].left_y, cases[i].left_h, 110);
      draw_text (&page, cases[i].right, cases[i].right_x, cases[i].right_y, cases[i].right_h, 110);
      assert_reads (&page, cases[i].reads, 0);
    }
}

/* A last digit written small, under half as tall as the others, and read
 * surely is a digit: its shortness costs a quarter of what it costs a piece
 * read unsure ("872" read "87"). */
static void
test_small_digit_kept (void)
{
  Page page = page_new (800, 320);
  double h = 120, y = 80, pen = 12;
  draw_text (&page, "87", 60, y, h, 130);
  dg_draw_digit (page.grey, page.width, page.height, page.width, 2, 330, y + 0.65 * h, 0.35 * h,
                 0.1, pen, 30);
  assert_reads (&page, "872", 0);
}

/* A thin digit as tall as the others, in the middle of the line, is read
 * though the network is unsure of it: leaving it out cost what its little
 * ink says, less than reading it ("$290-" read "90", and at 0.14 with half
 * a digit's ink the least it cost, a 7 like a ")": "737,227" read
 * "73,227"). */
static void
test_thin_digit_kept (void)
{
  assert_all_read ("00100", 230, 330, 0.22f);
  assert_all_read ("00100", 230, 330, 0.14f);
}

/* A 2 written flat, as wide as a digit and about half as tall, read
 * unsure, is a digit: between digits it can be no comma (narrower) nor a
 * dash (at the end, thinner), and leaving it out cost only its little ink
 * ("56,200" read "5600").  Nor is it cheap to leave out last before the
 * dash ("5547-" read "554"), or first ("714" read "14"); nor does being
 * short cost it in full when it is over 0.4 H tall ("$923,338-" read
 * "93338"). */
static void
test_flat_digit_kept (void)
{
  static const struct
  {
    const char *before, *after, *reads;
    double flat_h; /* of the digits' height */
    float p;       /* how surely it is read; the others 0.99 */
  } cases[] = {
    { "5", "00", "3333", 0.42, 0.2f },
    { "55", "", "333", 0.55, 0.2f },
    { "", "55", "333", 0.55, 0.2f },
    { "5", "00", "3333", 0.36, 0.12f },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Page page = page_new (800, 300);
      double h = 80, y = 100, x = 60 + 90 * strlen (cases[i].before);
      draw_text (&page, cases[i].before, 60, y, h, 90);
      draw_polyline (&page, dg_draw_digit_points[2], 24, x, y + (1 - cases[i].flat_h) * h, 0.9 * h,
                     cases[i].flat_h * h, 0.1 * h);
      draw_text (&page, cases[i].after, x + 100, y, h, 90);
      draw_line (&page, x + 120 + 90 * strlen (cases[i].after), y + 0.6 * h,
                 x + 160 + 90 * strlen (cases[i].after), y + 0.6 * h, 0.1 * h, 30);
      Span span = { (int) x - 10, (int) x + 90, cases[i].p };
      assert_reads_with (&page, classify_span, &span, NULL, cases[i].reads);
    }
}

/* A dollar sign drawn bold, standing out above the digits but not below,
 * before the amount and read unsure, is left out: it has more ink than a
 * digit, and leaving it out cost that ink ("$63,443-" read "863443").  At
 * a line's ends ink taller than EDGE_TALL costs a digit's at most. */
static void
test_bold_sign_left_out (void)
{
  Page page = page_new (800, 300);
  double h = 80, y = 100;
  draw_dollar (&page, 90, y, h, 0.2, 0.0, 0.22 * h);
  draw_text (&page, "555", 170, y, h, 90);
  Span span = { 40, 140, 0.5f };
  assert_reads_with (&page, classify_span, &span, NULL, "333");
}

/* A pair model that reads every pair view as a 3 with probability 0.7. */
static void
classify_pairs_fairly (int n, const float *images, const DgBox *boxes, float *probs, float *fits,
                       gpointer user_data)
{
  Span everywhere = { G_MININT, G_MAXINT, 0.7f };
  classify_span (n, images, boxes, probs, fits, &everywhere);
}

/* A 2 written flat, read unsure (0.3) whole, is one digit though the pair
 * model reads it as two fairly surely (0.7 each): two digits side by side
 * would not be that short in so little width, so a flat atom's halves must
 * read FLAT_SURE ("$24,712-" read "247121"). */
static void
test_flat_digit_not_a_pair (void)
{
  Page page = page_new (800, 300);
  double h = 80, y = 100, x = 150;
  draw_text (&page, "5", 60, y, h, 0);
  draw_polyline (&page, dg_draw_digit_points[2], 24, x, y + 0.45 * h, 0.9 * h, 0.55 * h, 0.1 * h);
  draw_text (&page, "5", x + 100, y, h, 0);
  Span span = { (int) x - 10, (int) x + 90, 0.3f };
  assert_reads_with (&page, classify_span, &span, classify_pairs_fairly, "333");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  dg_set_threads (1);

  g_test_add_func ("/segment/stroke-width", test_stroke_width);
  g_test_add_func ("/segment/cut/winds", test_cut_winds);
  g_test_add_func ("/segment/rules/removed", test_rules_removed);
  g_test_add_func ("/segment/rules/flat-stroke", test_rules_flat_stroke);
  g_test_add_func ("/segment/rules/stroke-on-rule", test_rules_stroke_on_rule);
  g_test_add_func ("/segment/rules/currency-bar", test_rules_currency_bar);
  g_test_add_func ("/segment/rules/not-digits", test_rules_not_digits);
  g_test_add_func ("/segment/read/separated", test_read_separated);
  g_test_add_func ("/segment/read/light-on-dark", test_read_light_on_dark);
  g_test_add_func ("/segment/read/merge-pieces", test_merge_pieces);
  g_test_add_func ("/segment/read/split-touching", test_split_touching);
  g_test_add_func ("/segment/read/overlapping", test_overlapping);
  g_test_add_func ("/segment/read/second-opinion", test_second_opinion);
  g_test_add_func ("/segment/read/ruled-box", test_ruled_box);
  g_test_add_func ("/segment/read/marks-ignored", test_marks_ignored);
  g_test_add_func ("/segment/read/comma-close", test_comma_close);
  g_test_add_func ("/segment/read/comma-climbing", test_comma_climbing);
  g_test_add_func ("/segment/read/comma-under", test_comma_under);
  g_test_add_func ("/segment/read/two-lines", test_two_lines);
  g_test_add_func ("/segment/read/short-digits-line", test_line_of_short_digits);
  g_test_add_func ("/segment/read/stacked-pieces", test_stacked_pieces);
  g_test_add_func ("/segment/read/comma-after-stacked", test_comma_after_stacked);
  g_test_add_func ("/segment/read/nothing", test_nothing);
  g_test_add_func ("/segment/read/unsure-kept", test_unsure_kept);
  g_test_add_func ("/segment/read/fused-number-kept", test_fused_number_kept);
  g_test_add_func ("/segment/read/last-one-kept", test_last_one_kept);
  g_test_add_func ("/segment/read/tall-kept", test_tall_kept);
  g_test_add_func ("/segment/read/small-digit-kept", test_small_digit_kept);
  g_test_add_func ("/segment/read/thin-digit-kept", test_thin_digit_kept);
  g_test_add_func ("/segment/read/flat-digit-kept", test_flat_digit_kept);
  g_test_add_func ("/segment/read/bold-sign-left-out", test_bold_sign_left_out);
  g_test_add_func ("/segment/read/flat-digit-not-a-pair", test_flat_digit_not_a_pair);
  g_test_add_func ("/segment/read/wide-alone", test_wide_alone);
  g_test_add_func ("/segment/read/flat-not-cut", test_flat_not_cut);
  g_test_add_func ("/segment/read/threads", test_threads);
  return g_test_run ();
}
