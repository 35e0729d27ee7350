/* fuzz-decode.c: image file bytes -> grey (dg_grey_image_load, GdkPixbuf
 * included) -> the network's 28x28 (dg_preprocess_grey).
 *
 * The bytes are written to a file, since dg_grey_image_load reads a path:
 * it checks the size the header claims (gdk_pixbuf_get_file_info) before
 * decoding anything.  The target holds it to that: a claim over
 * DG_IMAGE_MAX_PIXELS is refused as too large, and what decodes has the
 * claimed number of pixels (a loader that decoded more than its header
 * said would defeat the check).  Files claiming more than MAX_DECODE_PIXELS
 * but no more than the limit are legitimate yet slow to decode from a few
 * bytes of compressed data, so they are skipped rather than decoded.
 */
#include "fuzz.h"

#include "dg-image.h"
#include "dg-preprocess.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>

#define MAX_DECODE_PIXELS (1024L * 1024)

static char *scratch_dir;
static char *input_path;

static void
remove_scratch (void)
{
  g_unlink (input_path);
  g_rmdir (scratch_dir);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;

  fuzz_abort_on_criticals ("GdkPixbuf");
  scratch_dir = g_dir_make_tmp ("digits-fuzz-decode-XXXXXX", &error);
  g_assert_no_error (error);
  /* No extension: GdkPixbuf picks the loader from the bytes alone. */
  input_path = g_build_filename (scratch_dir, "input", NULL);
  atexit (remove_scratch);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  int claimed_width = 0, claimed_height = 0;

  g_file_set_contents_full (input_path, (const char *) data, (gssize) size,
                            G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);

  gboolean known = gdk_pixbuf_get_file_info (input_path, &claimed_width, &claimed_height) != NULL;
  gint64 claimed = (gint64) claimed_width * claimed_height;
  if (known && claimed > MAX_DECODE_PIXELS && claimed <= DG_IMAGE_MAX_PIXELS)
    return 0;

  g_autoptr (DgGreyImage) image = dg_grey_image_load (input_path, &error);
  if (image == NULL)
    {
      fuzz_check_message (error);
      g_assert_true (error->domain == DG_IMAGE_ERROR);
      if (known && claimed > DG_IMAGE_MAX_PIXELS)
        g_assert_true (error->code == DG_IMAGE_ERROR_TOO_LARGE);
      return 0;
    }
  g_assert_no_error (error);
  g_assert_true (known);
  /* The EXIF orientation may swap the sides, not change the area. */
  g_assert_cmpint ((gint64) image->width * image->height, ==, claimed);

  float out[DG_IMAGE_PIXELS];
  gboolean ok = dg_preprocess_grey (image->grey, image->width, image->height, image->width, out,
                                    &error);
  g_assert_true (ok == (error == NULL));
  if (!ok)
    g_assert_true (g_error_matches (error, DG_PREPROCESS_ERROR,
                                    DG_PREPROCESS_ERROR_NOTHING_TO_READ));
  return 0;
}
