/* fuzz-strokes.c: stroke files, parsed (dg_drawing_parse) and, when they
 * parse, preprocessed to the network's 28x28 (dg_preprocess_strokes). */
#include "fuzz.h"

#include "dg-preprocess.h"
#include "dg-strokes.h"

#include <glib.h>
#include <math.h>

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_abort_on_criticals (NULL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DgDrawing) drawing = dg_drawing_parse ((const char *) data, size, &error);

  if (drawing == NULL)
    {
      fuzz_check_message (error);
      g_assert_true (error->domain == DG_STROKES_ERROR);
      return 0;
    }
  g_assert_no_error (error);
  g_assert_cmpuint (drawing->strokes->len, <=, DG_MAX_STROKES);
  g_assert_cmpuint (drawing->points->len, <=, DG_MAX_POINTS);

  float out[DG_IMAGE_PIXELS];
  g_autoptr (GError) preprocess_error = NULL;
  gboolean ok = dg_preprocess_strokes ((const DgStroke *) drawing->strokes->data,
                                       (int) drawing->strokes->len, drawing->width,
                                       drawing->height, out, &preprocess_error);
  g_assert_true (ok == (preprocess_error == NULL));
  if (ok)
    for (int i = 0; i < DG_IMAGE_PIXELS; i++)
      g_assert_true (out[i] >= 0.0f && out[i] <= 1.0f);
  else
    {
      fuzz_check_message (preprocess_error);
      g_assert_true (preprocess_error->domain == DG_PREPROCESS_ERROR);
    }
  return 0;
}
