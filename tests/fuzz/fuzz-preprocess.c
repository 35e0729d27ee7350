/* fuzz-preprocess.c: arbitrary grey images through dg_preprocess_grey.
 *
 * Input layout:
 *   bytes 0-1  width - 1, little-endian, modulo MAX_SIDE
 *   bytes 2-3  height - 1, the same
 *   byte  4    stride - width (0..255)
 *   the rest   pixels, row after row; repeated to fill the image when
 *              there are fewer (white paper when there are none)
 * Images over MAX_PIXELS are shrunk in height to fit: the engine's own
 * limit (64 megapixels) is tested by tests/test-preprocess.c, and under the
 * fuzzer's instrumentation every pixel costs a few comparisons traced, so
 * large images would leave few inputs tried.  Sides run to 4096 so that
 * long thin images (4096 x 16) are tried, and crops larger than the 400
 * pixels at which dg_preprocess_grey starts averaging cells.
 */
#include "fuzz.h"

#include "dg-preprocess.h"

#include <glib.h>
#include <string.h>

#define MAX_SIDE   4096
#define MAX_PIXELS (256 * 256)

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_abort_on_criticals (NULL);
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
  const uint8_t *pixels = data + 5;
  size_t n_pixels = size - 5;

  if ((gint64) width * height > MAX_PIXELS)
    height = MAX (1, MAX_PIXELS / width);

  /* Exactly the bytes the image spans, so ASan sees a read past its end:
   * the last row needs only @width of its @stride bytes. */
  gsize span = (gsize) stride * (height - 1) + width;
  g_autofree guint8 *grey = g_malloc (span);
  if (n_pixels == 0)
    memset (grey, 255, span);
  else
    for (gsize i = 0; i < span; i += n_pixels)
      memcpy (grey + i, pixels, MIN (n_pixels, span - i));

  float out[DG_IMAGE_PIXELS];
  g_autoptr (GError) error = NULL;
  gboolean ok = dg_preprocess_grey (grey, width, height, stride, out, &error);
  g_assert_true (ok == (error == NULL));
  if (ok)
    for (int i = 0; i < DG_IMAGE_PIXELS; i++)
      g_assert_true (out[i] >= 0.0f && out[i] <= 1.0f);
  else
    g_assert_true (g_error_matches (error, DG_PREPROCESS_ERROR,
                                    DG_PREPROCESS_ERROR_NOTHING_TO_READ));
  return 0;
}
