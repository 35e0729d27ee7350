/* test-image.c: image files -> grey (cli/dg-image.c), on good and hostile
 * files: the limits on pixels and bytes are checked before decoding, so a
 * decompression bomb or a huge file is refused at once, with a clear error. */
#include "dg-image.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

/* Refusing from the header or the file size costs a few system calls; a
 * second would mean something was decoded or read. */
#define QUICK_US (250 * 1000)

static char *tmp_dir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static void
write_file (const char *path, const void *data, gsize length)
{
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, data, (gssize) length, &error);
  g_assert_no_error (error);
}

/* A (side, side) RGB picture: a dark vertical bar (a "1") on white paper. */
static GdkPixbuf *
make_digit (int side)
{
  GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, side, side);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);

  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++)
      {
        gboolean ink = x >= side * 4 / 10 && x < side * 6 / 10 && y >= side / 5 && y < side * 4 / 5;
        memset (pixels + y * stride + x * 3, ink ? 20 : 240, 3);
      }
  return pixbuf;
}

static char *
save_digit (const char *name, const char *type)
{
  g_autoptr (GdkPixbuf) digit = make_digit (40);
  g_autoptr (GError) error = NULL;
  char *path = tmp_path (name);

  gdk_pixbuf_save (digit, path, type, &error, NULL);
  g_assert_no_error (error);
  return path;
}

/* PNG's CRC-32 (ISO 3309), bit by bit: the test writes a handful of chunks. */
static guint32
crc32 (const guint8 *data, gsize length)
{
  guint32 crc = 0xFFFFFFFFu;
  for (gsize i = 0; i < length; i++)
    {
      crc ^= data[i];
      for (int k = 0; k < 8; k++)
        crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1));
    }
  return crc ^ 0xFFFFFFFFu;
}

static void
append_chunk (GByteArray *png, const char *type, const guint8 *data, guint32 length)
{
  guint32 be_length = GUINT32_TO_BE (length);
  gsize start = png->len + 4;

  g_byte_array_append (png, (const guint8 *) &be_length, 4);
  g_byte_array_append (png, (const guint8 *) type, 4);
  if (length > 0)
    g_byte_array_append (png, data, length);
  guint32 be_crc = GUINT32_TO_BE (crc32 (png->data + start, 4 + length));
  g_byte_array_append (png, (const guint8 *) &be_crc, 4);
}

/* A 70-byte grey PNG whose header claims @width x @height: a decompression
 * bomb, its IDAT the start of a stream that would inflate to gigabytes. */
static GByteArray *
make_bomb (guint32 width, guint32 height, gboolean with_idat)
{
  static const guint8 signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };
  /* zlib: one fixed-Huffman block of zero bytes. */
  static const guint8 idat[] = { 0x78, 0x9C, 0x63, 0x60, 0x18, 0x05, 0xA3, 0x60, 0x14, 0x0C };
  GByteArray *png = g_byte_array_new ();
  guint8 ihdr[13] = { 0 };
  guint32 be_width = GUINT32_TO_BE (width), be_height = GUINT32_TO_BE (height);

  memcpy (ihdr, &be_width, 4);
  memcpy (ihdr + 4, &be_height, 4);
  ihdr[8] = 8; /* bit depth; colour type 0 (grey), no interlace */
  g_byte_array_append (png, signature, sizeof signature);
  append_chunk (png, "IHDR", ihdr, sizeof ihdr);
  if (with_idat)
    append_chunk (png, "IDAT", idat, sizeof idat);
  append_chunk (png, "IEND", NULL, 0);
  return png;
}

/* Loads @path, which must fail with @code and a message naming the file
 * and holding @fragment, within @max_us microseconds. */
static void
assert_refused (const char *path, int code, const char *fragment, gint64 max_us)
{
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  g_autoptr (DgGreyImage) image = dg_grey_image_load (path, &error);
  gint64 elapsed = g_get_monotonic_time () - start;

  g_assert_null (image);
  g_assert_error (error, DG_IMAGE_ERROR, code);
  g_assert_nonnull (strstr (error->message, path));
  if (fragment != NULL && strstr (error->message, fragment) == NULL)
    g_error ("“%s” does not say “%s”", error->message, fragment);
  g_assert_cmpint (elapsed, <, max_us);
}

static void
assert_digit (DgGreyImage *image, int side)
{
  g_assert_cmpint (image->width, ==, side);
  g_assert_cmpint (image->height, ==, side);
  /* Paper in a corner, ink in the middle of the bar (JPEG moves levels a little). */
  g_assert_cmpint (image->grey[0], >, 220);
  g_assert_cmpint (image->grey[(side / 2) * side + side / 2], <, 40);
}

static void
test_png (void)
{
  g_autofree char *path = save_digit ("digit.png", "png");
  g_autoptr (GError) error = NULL;
  g_autoptr (DgGreyImage) image = dg_grey_image_load (path, &error);

  g_assert_no_error (error);
  assert_digit (image, 40);
  g_assert_cmpint (image->grey[0], ==, 240);
  g_assert_cmpint (image->grey[20 * 40 + 20], ==, 20);
}

static void
test_jpeg (void)
{
  g_autofree char *path = save_digit ("digit.jpg", "jpeg");
  g_autoptr (GError) error = NULL;
  g_autoptr (DgGreyImage) image = dg_grey_image_load (path, &error);

  g_assert_no_error (error);
  assert_digit (image, 40);
}

static void
test_alpha_is_paper (void)
{
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, TRUE, 8, 2, 1);
  guint8 *p = gdk_pixbuf_get_pixels (pixbuf);
  /* A transparent black pixel, then an opaque black one. */
  memcpy (p, (guint8[]) { 0, 0, 0, 0, 0, 0, 0, 255 }, 8);
  g_autoptr (DgGreyImage) image = dg_grey_image_from_pixbuf (pixbuf);

  g_assert_cmpint (image->grey[0], ==, 255);
  g_assert_cmpint (image->grey[1], ==, 0);
}

/* The decompression bomb: a tiny PNG claiming 100000 x 100000
 * (10 gigapixels, 40 GB as RGBA) is refused from its header. */
static void
test_decompression_bomb (void)
{
  g_autoptr (GByteArray) bomb = make_bomb (100000, 100000, TRUE);
  g_autofree char *path = tmp_path ("bomb.png");

  write_file (path, bomb->data, bomb->len);
  g_assert_cmpuint (bomb->len, <, 100);
  assert_refused (path, DG_IMAGE_ERROR_TOO_LARGE, "100000 x 100000 pixels is over the limit",
                  QUICK_US);
}

/* Just over DG_IMAGE_MAX_PIXELS (8193 x 8192), and a side past what a
 * 32-bit pixel count could hold. */
static void
test_pixel_limit (void)
{
  g_autoptr (GByteArray) just_over = make_bomb (8193, 8192, TRUE);
  g_autoptr (GByteArray) long_side = make_bomb (0x7FFFFFFF, 2, TRUE);
  g_autofree char *over_path = tmp_path ("just-over.png");
  g_autofree char *long_path = tmp_path ("long-side.png");

  g_assert_cmpint ((gint64) 8193 * 8192, >, DG_IMAGE_MAX_PIXELS);
  write_file (over_path, just_over->data, just_over->len);
  write_file (long_path, long_side->data, long_side->len);
  assert_refused (over_path, DG_IMAGE_ERROR_TOO_LARGE, "64 megapixels", QUICK_US);
  /* libpng itself refuses a side over 2^31 - 1 as a broken header. */
  assert_refused (long_path, DG_IMAGE_ERROR_FORMAT, NULL, QUICK_US);
}

/* A file over DG_IMAGE_MAX_BYTES is refused from its size, unread: the
 * test file is sparse, so it costs no disk. */
static void
test_byte_limit (void)
{
  g_autoptr (GByteArray) png = make_bomb (28, 28, TRUE);
  g_autofree char *path = tmp_path ("huge.png");

  write_file (path, png->data, png->len);
  g_assert_cmpint (truncate (path, DG_IMAGE_MAX_BYTES + 1), ==, 0);
  assert_refused (path, DG_IMAGE_ERROR_TOO_LARGE, "over the limit of 256 MB", QUICK_US);
}

static void
test_not_an_image (void)
{
  g_autofree char *text = tmp_path ("notes.png");
  g_autofree char *header_only = tmp_path ("header-only.png");
  g_autoptr (GByteArray) ihdr_only = make_bomb (100000, 100000, FALSE);

  write_file (text, "shopping list: milk, eggs\n", 26);
  assert_refused (text, DG_IMAGE_ERROR_FORMAT, "not an image", QUICK_US);
  /* No IDAT: GdkPixbuf never learns the size, and nothing is decoded. */
  write_file (header_only, ihdr_only->data, ihdr_only->len);
  assert_refused (header_only, DG_IMAGE_ERROR_FORMAT, "not an image", QUICK_US);
}

static void
test_truncated (void)
{
  g_autofree char *good = save_digit ("whole.png", "png");
  g_autofree char *path = tmp_path ("truncated.png");
  g_autofree char *contents = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (good, &contents, &length, NULL));
  write_file (path, contents, length / 2);
  assert_refused (path, DG_IMAGE_ERROR_FORMAT, "cannot decode", G_USEC_PER_SEC);
}

static void
test_empty (void)
{
  g_autofree char *path = tmp_path ("empty.png");

  write_file (path, "", 0);
  assert_refused (path, DG_IMAGE_ERROR_FORMAT, "empty", QUICK_US);
}

static void
test_missing (void)
{
  g_autofree char *path = tmp_path ("no-such-file.png");

  assert_refused (path, DG_IMAGE_ERROR_IO, "No such file", QUICK_US);
}

static void
test_directory (void)
{
  g_autofree char *path = tmp_path ("a-folder.png");

  g_assert_cmpint (g_mkdir (path, 0755), ==, 0);
  assert_refused (path, DG_IMAGE_ERROR_FORMAT, NULL, QUICK_US);
}

static void
remove_tree (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  for (const char *name; d != NULL && (name = g_dir_read_name (d)) != NULL;)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        remove_tree (path);
      else
        g_unlink (path);
    }
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("test-image-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/image/png", test_png);
  g_test_add_func ("/image/jpeg", test_jpeg);
  g_test_add_func ("/image/alpha-is-paper", test_alpha_is_paper);
  g_test_add_func ("/image/limits/decompression-bomb", test_decompression_bomb);
  g_test_add_func ("/image/limits/pixels", test_pixel_limit);
  g_test_add_func ("/image/limits/bytes", test_byte_limit);
  g_test_add_func ("/image/broken/not-an-image", test_not_an_image);
  g_test_add_func ("/image/broken/truncated", test_truncated);
  g_test_add_func ("/image/broken/empty", test_empty);
  g_test_add_func ("/image/broken/missing", test_missing);
  g_test_add_func ("/image/broken/directory", test_directory);
  status = g_test_run ();

  remove_tree (tmp_dir);
  g_free (tmp_dir);
  return status;
}
