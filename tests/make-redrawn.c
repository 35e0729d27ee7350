/* make-redrawn: MNIST test digits redrawn as a person would hand them to
 * the program — scaled up 3x to 12x, placed anywhere on a larger page, dark
 * on light or light on dark, with noise, sometimes blur, saved as PNG or
 * JPEG.  Used by test-redrawn.sh to compare `digits-cli recognize` on these
 * files with the model's accuracy on the raw 28x28 digits.
 *
 *   make-redrawn [--from-train] MNIST_DIR OUT_DIR COUNT
 *
 * Writes OUT_DIR/NNNNN.png or .jpg for the first COUNT test digits and
 * OUT_DIR/labels.csv ("file,label").  With --from-train, the digits are
 * the training set's validation split instead (dg_train_keep_split), the
 * 5,000 images the shipped models held out: digits to tune on without
 * looking at the test set.
 */
#include "dg-idx.h"
#include "dg-rng.h"
#include "dg-train.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bilinear sample of a 28x28 digit (0..1 ink) at (x, y) in digit pixels. */
static double
sample (const guint8 *digit, double x, double y)
{
  int x0 = (int) floor (x), y0 = (int) floor (y);
  double fx = x - x0, fy = y - y0, v = 0.0;

  for (int dy = 0; dy < 2; dy++)
    for (int dx = 0; dx < 2; dx++)
      {
        int xi = x0 + dx, yi = y0 + dy;
        if (xi < 0 || yi < 0 || xi >= 28 || yi >= 28)
          continue;
        v += digit[yi * 28 + xi] / 255.0 * (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy);
      }
  return v;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DgIdx) images = NULL, labels = NULL;
  g_autoptr (GString) csv = g_string_new ("file,label\n");
  int count;

  gboolean from_train = argc > 1 && strcmp (argv[1], "--from-train") == 0;
  if (from_train)
    {
      argv++;
      argc--;
    }
  if (argc != 4)
    {
      g_printerr ("usage: make-redrawn [--from-train] MNIST_DIR OUT_DIR COUNT\n");
      return 2;
    }
  count = atoi (argv[3]);
  if (!dg_mnist_load (argv[1], from_train ? "train" : "t10k", &images, &labels, &error))
    {
      g_printerr ("make-redrawn: %s\n", error->message);
      return 1;
    }
  if (from_train)
    dg_train_keep_split (images, labels, TRUE);
  count = CLAMP (count, 1, images->n);
  g_mkdir_with_parents (argv[2], 0755);

  for (int i = 0; i < count; i++)
    {
      DgRng rng = dg_rng_at (2026, (uint64_t) i, 0);
      const guint8 *digit = images->data + (long) i * 784;
      int scale = 3 + i % 10;                        /* 3x .. 12x */
      int side = 28 * scale;
      int margin_x = (int) dg_rng_range (&rng, 10, 300), margin_y = (int) dg_rng_range (&rng, 10, 200);
      int width = side + margin_x + (int) dg_rng_range (&rng, 10, 300);
      int height = side + margin_y + (int) dg_rng_range (&rng, 10, 200);
      gboolean dark_on_light = i % 2 == 0;
      gboolean jpeg = (i / 2) % 2 == 1;
      gboolean blur = i % 3 == 0;
      double paper = dark_on_light ? dg_rng_range (&rng, 180, 250) : dg_rng_range (&rng, 0, 60);
      double ink = dark_on_light ? dg_rng_range (&rng, 0, 70) : dg_rng_range (&rng, 190, 255);
      double gradient = dg_rng_range (&rng, -30, 30); /* uneven lighting across the page */
      double noise = dg_rng_range (&rng, 2, 12);
      g_autoptr (GdkPixbuf) page = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
      guint8 *pixels = gdk_pixbuf_get_pixels (page);
      int stride = gdk_pixbuf_get_rowstride (page);
      g_autofree double *grey = g_new (double, (gsize) width * height);

      for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
          {
            double v = 0.0;
            if (x >= margin_x && x < margin_x + side && y >= margin_y && y < margin_y + side)
              v = sample (digit, (x - margin_x + 0.5) / scale - 0.5, (y - margin_y + 0.5) / scale - 0.5);
            double background = paper + gradient * ((double) x / width - 0.5);
            grey[(long) y * width + x] = background + (ink - background) * v;
          }
      if (blur)
        for (int y = 1; y < height - 1; y++)
          for (int x = 1; x < width - 1; x++)
            {
              double s = 0.0;
              for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                  s += grey[(long) (y + dy) * width + x + dx];
              grey[(long) y * width + x] = s / 9.0; /* in place: a slightly asymmetric blur, fine here */
            }
      for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
          {
            double v = grey[(long) y * width + x] + noise * dg_rng_normal (&rng);
            guint8 level = (guint8) CLAMP (lround (v), 0, 255);
            guint8 *p = pixels + (long) y * stride + x * 3;
            p[0] = p[1] = p[2] = level;
          }

      g_autofree char *name = g_strdup_printf ("%05d.%s", i, jpeg ? "jpg" : "png");
      g_autofree char *path = g_build_filename (argv[2], name, NULL);
      gboolean saved = jpeg ? gdk_pixbuf_save (page, path, "jpeg", &error, "quality", "75", NULL)
                            : gdk_pixbuf_save (page, path, "png", &error, NULL);
      if (!saved)
        {
          g_printerr ("make-redrawn: %s: %s\n", path, error->message);
          return 1;
        }
      g_string_append_printf (csv, "%s,%d\n", name, labels->data[i]);
    }

  g_autofree char *csv_path = g_build_filename (argv[2], "labels.csv", NULL);
  if (!g_file_set_contents (csv_path, csv->str, (gssize) csv->len, &error))
    {
      g_printerr ("make-redrawn: %s\n", error->message);
      return 1;
    }
  return 0;
}
