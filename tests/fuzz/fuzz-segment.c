/* fuzz-segment.c: arbitrary grey images through multi-digit segmentation.
 *
 * The input layout is fuzz-preprocess.c's (width - 1 and height - 1 as
 * little-endian u16, stride - width, then the pixels, repeated to fill the
 * image), with the same cap on pixels.  The low bit of the stride byte
 * picks the reader:
 *   0  dg_read_contrast with a made-up classifier whose answers follow the
 *      ink (peaked on a class picked from the ink's mass), so the dynamic
 *      programme sees confident and unsure digits alike; fast;
 *   1  dg_read_digits with a small network, as the program reads a page.
 */
#include "fuzz.h"

#include "dg-model.h"
#include "dg-segment.h"

#include <glib.h>
#include <math.h>
#include <string.h>

#define MAX_SIDE   4096
#define MAX_PIXELS (256 * 256)

static DgModel *model, *second, *scan, *pairs; /* reads pages; the second opinions; pairs */

static void
classify_by_ink (int n, const float *images, const DgBox *boxes, float *probs, float *fits,
                 gpointer user_data)
{
  for (int i = 0; i < n; i++)
    {
      const float *image = images + (gsize) i * DG_IMAGE_PIXELS;
      double mass = 0.0;
      for (int j = 0; j < DG_IMAGE_PIXELS; j++)
        mass += image[j];
      int top = (int) mass % DG_CLASSES;
      /* From almost sure (mass near a multiple of 10) to a toss-up. */
      float sure = 0.1f + 0.9f * (float) (1.0 - (mass - (int) mass));
      for (int c = 0; c < DG_CLASSES; c++)
        probs[i * DG_CLASSES + c] = c == top ? sure : (1.0f - sure) / (DG_CLASSES - 1);
      fits[i] = logf (sure);
    }
}

static void
check_reading (const DgReading *reading, int width, int height)
{
  g_assert_nonnull (reading->text);
  g_assert_cmpint (reading->n_digits, >, 0);
  g_assert_cmpint (reading->n_lines, >, 0);
  g_assert_true (reading->least_sure >= 0 && reading->least_sure < reading->n_digits);
  for (int i = 0; i < reading->n_digits; i++)
    {
      const DgDigitReading *d = &reading->digits[i];
      g_assert_true (d->digit >= 0 && d->digit < DG_CLASSES);
      g_assert_true (d->line >= 0 && d->line < reading->n_lines);
      g_assert_true (d->box.x >= 0 && d->box.y >= 0 && d->box.width > 0 && d->box.height > 0);
      g_assert_cmpint (d->box.x + d->box.width, <=, width);
      g_assert_cmpint (d->box.y + d->box.height, <=, height);
      for (int j = 0; j < DG_IMAGE_PIXELS; j++)
        g_assert_true (d->input[j] >= 0.0f && d->input[j] <= 1.0f);
    }
  for (int i = 0; i < reading->n_marks; i++)
    {
      const DgMark *m = &reading->marks[i];
      g_assert_true (m->box.x >= 0 && m->box.y >= 0);
      g_assert_cmpint (m->box.x + m->box.width, <=, width);
      g_assert_cmpint (m->box.y + m->box.height, <=, height);
      g_assert_true (m->line >= -1 && m->line < reading->n_lines);
    }
  /* One character per digit, one space between lines. */
  g_assert_cmpint ((int) strlen (reading->text), <=, reading->n_digits + reading->n_lines - 1);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_abort_on_criticals (NULL);
  dg_set_threads (1);
  model = dg_model_new ("conv4k3,relu,pool,dense10", NULL);
  second = dg_model_new ("conv2k3,relu,pool,dense10", NULL);
  scan = dg_model_new ("conv2k3,relu,pool,dense10", NULL);
  pairs = dg_model_new ("conv2k3,relu,pool,dense10", NULL);
  g_assert_nonnull (model);
  g_assert_nonnull (second);
  g_assert_nonnull (scan);
  g_assert_nonnull (pairs);
  dg_model_init (model, 1);
  dg_model_init (second, 2);
  dg_model_init (scan, 4);
  dg_model_init (pairs, 3);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 5)
    return 0;
  int width = 1 + (data[0] | data[1] << 8) % MAX_SIDE;
  int height = 1 + (data[2] | data[3] << 8) % MAX_SIDE;
  int stride = width + data[4];
  gboolean with_model = data[4] & 1;
  const uint8_t *pixels = data + 5;
  size_t n_pixels = size - 5;

  if ((gint64) width * height > MAX_PIXELS)
    height = MAX (1, MAX_PIXELS / width);

  gsize span = (gsize) stride * (height - 1) + width;
  g_autofree guint8 *grey = g_malloc (span);
  if (n_pixels == 0)
    memset (grey, 255, span);
  else
    for (gsize i = 0; i < span; i += n_pixels)
      memcpy (grey + i, pixels, MIN (n_pixels, span - i));

  g_autoptr (GError) error = NULL;
  g_autoptr (DgReading) reading = NULL;
  if (with_model)
    reading = dg_read_digits (model, second, scan, pairs, grey, width, height, stride, &error);
  else
    {
      DgContrast contrast;
      if (!dg_contrast_init (&contrast, grey, width, height, stride, &error))
        {
          g_assert_true (g_error_matches (error, DG_PREPROCESS_ERROR,
                                          DG_PREPROCESS_ERROR_NOTHING_TO_READ));
          return 0;
        }
      reading = dg_read_contrast (&contrast, classify_by_ink, NULL, classify_by_ink, NULL, &error);
      dg_contrast_clear (&contrast);
    }

  g_assert_true ((reading == NULL) == (error != NULL));
  if (reading == NULL)
    g_assert_true (g_error_matches (error, DG_PREPROCESS_ERROR,
                                    DG_PREPROCESS_ERROR_NOTHING_TO_READ));
  else
    check_reading (reading, width, height);
  return 0;
}
