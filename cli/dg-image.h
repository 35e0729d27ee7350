/* dg-image.h: image files -> 8-bit grey, with limits checked before decoding.
 *
 * Outside the engine because it needs GdkPixbuf; the CLI and the app share it.
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>

G_BEGIN_DECLS

#define DG_IMAGE_ERROR (dg_image_error_quark ())

typedef enum
{
  DG_IMAGE_ERROR_IO,        /* missing, unreadable */
  DG_IMAGE_ERROR_FORMAT,    /* not an image, or a broken one */
  DG_IMAGE_ERROR_TOO_LARGE, /* over the pixel or byte limit */
} DgImageError;

#define DG_IMAGE_MAX_PIXELS (64L * 1024 * 1024) /* what the header may claim */
#define DG_IMAGE_MAX_BYTES  (256L * 1024 * 1024)

typedef struct
{
  int width, height; /* pixels */
  guint8 *grey;      /* (height, width), 0 black .. 255 white; transparency counts as white paper */
} DgGreyImage;

GQuark dg_image_error_quark (void);

DgGreyImage *dg_grey_image_load (const char *path, GError **error);
/* For pixels that are already decoded (pasted, dropped): alpha over white. */
DgGreyImage *dg_grey_image_from_pixbuf (GdkPixbuf *pixbuf);
void dg_grey_image_free (DgGreyImage *image);

/* Writes a 28x28 network input (ink 1.0 on 0.0) as a white-on-black PNG,
 * scaled up @scale times, atomically. */
gboolean dg_save_input_png (const float *input, int scale, const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DgGreyImage, dg_grey_image_free)

G_END_DECLS
