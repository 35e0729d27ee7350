/* dg-image.c: decode with GdkPixbuf, after checking what the file claims. */
#include "dg-image.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <string.h>

G_DEFINE_QUARK (dg-image-error-quark, dg_image_error)

void
dg_grey_image_free (DgGreyImage *image)
{
  if (image == NULL)
    return;
  g_free (image->grey);
  g_free (image);
}

DgGreyImage *
dg_grey_image_load (const char *path, GError **error)
{
  g_autoptr (GdkPixbuf) decoded = NULL;
  g_autoptr (GdkPixbuf) oriented = NULL;
  GError *inner = NULL;
  GStatBuf st;
  int width = 0, height = 0;

  if (g_stat (path, &st) != 0)
    {
      g_set_error (error, DG_IMAGE_ERROR, DG_IMAGE_ERROR_IO, "%s: %s", path, g_strerror (errno));
      return NULL;
    }
  if (st.st_size == 0)
    {
      g_set_error (error, DG_IMAGE_ERROR, DG_IMAGE_ERROR_FORMAT, "%s: the file is empty", path);
      return NULL;
    }
  if (st.st_size > DG_IMAGE_MAX_BYTES)
    {
      g_set_error (error, DG_IMAGE_ERROR, DG_IMAGE_ERROR_TOO_LARGE,
                   "%s: %lld bytes is over the limit of %ld MB", path, (long long) st.st_size,
                   DG_IMAGE_MAX_BYTES / (1024 * 1024));
      return NULL;
    }
  /* The header's claim first: a small file may promise 100000 x 100000. */
  if (gdk_pixbuf_get_file_info (path, &width, &height) == NULL)
    {
      g_set_error (error, DG_IMAGE_ERROR, DG_IMAGE_ERROR_FORMAT,
                   "%s: not an image in a format this program can read", path);
      return NULL;
    }
  if (width <= 0 || height <= 0 || (gint64) width * height > DG_IMAGE_MAX_PIXELS)
    {
      g_set_error (error, DG_IMAGE_ERROR, DG_IMAGE_ERROR_TOO_LARGE,
                   "%s: %d x %d pixels is over the limit of %ld megapixels", path, width, height,
                   DG_IMAGE_MAX_PIXELS / (1024 * 1024));
      return NULL;
    }

  decoded = gdk_pixbuf_new_from_file (path, &inner);
  if (decoded == NULL)
    {
      g_set_error (error, DG_IMAGE_ERROR, DG_IMAGE_ERROR_FORMAT, "%s: cannot decode the image: %s",
                   path, inner->message);
      g_error_free (inner);
      return NULL;
    }
  /* A phone photo says in its EXIF tag which way is up. */
  oriented = gdk_pixbuf_apply_embedded_orientation (decoded);
  return dg_grey_image_from_pixbuf (oriented);
}

DgGreyImage *
dg_grey_image_from_pixbuf (GdkPixbuf *pixbuf)
{
  DgGreyImage *image = g_new0 (DgGreyImage, 1);
  int channels = gdk_pixbuf_get_n_channels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  gboolean alpha = gdk_pixbuf_get_has_alpha (pixbuf);
  const guint8 *pixels = gdk_pixbuf_read_pixels (pixbuf);

  image->width = gdk_pixbuf_get_width (pixbuf);
  image->height = gdk_pixbuf_get_height (pixbuf);
  image->grey = g_new (guint8, (gsize) image->width * image->height);
  for (int y = 0; y < image->height; y++)
    {
      const guint8 *p = pixels + (gsize) y * stride;
      guint8 *g = image->grey + (gsize) y * image->width;
      for (int x = 0; x < image->width; x++, p += channels)
        {
          /* Rec. 601 luma; transparent areas are white paper. */
          double luma = channels >= 3 ? 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] : p[0];
          double a = alpha ? p[channels - 1] / 255.0 : 1.0;
          g[x] = (guint8) (luma * a + 255.0 * (1.0 - a) + 0.5);
        }
    }
  return image;
}

gboolean
dg_save_input_png (const float *input, int scale, const char *path, GError **error)
{
  int side = 28 * scale;
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, side, side);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  gchar *buffer = NULL;
  gsize size = 0;

  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++)
      {
        float v = input[(y / scale) * 28 + x / scale];
        guint8 level = (guint8) (CLAMP (v, 0.0f, 1.0f) * 255.0f + 0.5f);
        memset (pixels + y * stride + x * 3, level, 3);
      }
  if (!gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &size, "png", error, NULL))
    return FALSE;
  /* Temporary file and rename: an interrupted write leaves the old file. */
  gboolean ok = g_file_set_contents_full (path, buffer, (gssize) size,
                                          G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
  g_free (buffer);
  return ok;
}
