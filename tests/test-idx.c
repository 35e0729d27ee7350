/* test-idx.c: IDX parsing on hand-built files, then the real MNIST. */
#include "dg-idx.h"

#include <glib/gstdio.h>
#include <string.h>

/* An IDX file: magic 0x00 0x00 @type @rank, @rank big-endian sizes, then
 * @n_data bytes counting up from 0 (mod 256). */
static GByteArray *
make_idx (guint8 type, int rank, const guint32 *dims, gsize n_data)
{
  GByteArray *file = g_byte_array_new ();
  guint8 magic[4] = { 0, 0, type, (guint8) rank };
  g_byte_array_append (file, magic, 4);
  for (int i = 0; i < rank; i++)
    {
      guint8 be[4] = { dims[i] >> 24, dims[i] >> 16, dims[i] >> 8, dims[i] };
      g_byte_array_append (file, be, 4);
    }
  for (gsize i = 0; i < n_data; i++)
    {
      guint8 byte = (guint8) i;
      g_byte_array_append (file, &byte, 1);
    }
  return file;
}

static GByteArray *
make_images (guint32 n, guint32 rows, guint32 cols)
{
  guint32 dims[3] = { n, rows, cols };
  return make_idx (0x08, 3, dims, (gsize) n * rows * cols);
}

/* @n labels 0, 1, 2, ... 9, 0, 1, ... */
static GByteArray *
make_labels (guint32 n)
{
  GByteArray *file = make_idx (0x08, 1, &n, n);
  for (guint32 i = 0; i < n; i++)
    file->data[8 + i] = i % 10;
  return file;
}

/* Parses @file and checks that it fails with @code. */
static void
assert_refused (GByteArray *file, int rank, int code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DgIdx) idx = dg_idx_load_from_data (file->data, file->len, rank, &error);
  g_assert_null (idx);
  g_assert_error (error, DG_IDX_ERROR, code);
  g_test_message ("refused as expected: %s", error->message);
}

static void
test_images_valid (void)
{
  g_autoptr (GByteArray) file = make_images (2, 3, 4);
  g_autoptr (GError) error = NULL;
  g_autoptr (DgIdx) idx = dg_idx_load_from_data (file->data, file->len, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpint (idx->n, ==, 2);
  g_assert_cmpint (idx->rows, ==, 3);
  g_assert_cmpint (idx->cols, ==, 4);
  for (int i = 0; i < 2 * 3 * 4; i++)
    g_assert_cmpuint (idx->data[i], ==, i);
}

static void
test_labels_valid (void)
{
  g_autoptr (GByteArray) file = make_labels (13);
  g_autoptr (GError) error = NULL;
  g_autoptr (DgIdx) idx = dg_idx_load_from_data (file->data, file->len, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (idx->n, ==, 13);
  g_assert_cmpint (idx->rows, ==, 0);
  g_assert_cmpint (idx->cols, ==, 0);
  g_assert_cmpuint (idx->data[12], ==, 2);
}

static void
test_bad_magic (void)
{
  g_autoptr (GByteArray) file = make_images (1, 2, 2);
  file->data[0] = 0x1f; /* a gzip file starts 0x1f 0x8b */
  assert_refused (file, 3, DG_IDX_ERROR_FORMAT);
  file->data[0] = 0;
  file->data[1] = 0x01;
  assert_refused (file, 3, DG_IDX_ERROR_FORMAT);
}

static void
test_wrong_type (void)
{
  guint32 dims[3] = { 1, 2, 2 };
  g_autoptr (GByteArray) signed_bytes = make_idx (0x09, 3, dims, 4);
  g_autoptr (GByteArray) floats = make_idx (0x0d, 3, dims, 16);
  assert_refused (signed_bytes, 3, DG_IDX_ERROR_FORMAT);
  assert_refused (floats, 3, DG_IDX_ERROR_FORMAT);
}

static void
test_wrong_rank (void)
{
  g_autoptr (GByteArray) images = make_images (2, 2, 2);
  g_autoptr (GByteArray) labels = make_labels (2);
  assert_refused (images, 1, DG_IDX_ERROR_FORMAT);
  assert_refused (labels, 3, DG_IDX_ERROR_FORMAT);
}

static void
test_truncated_header (void)
{
  g_autoptr (GByteArray) file = make_images (1, 2, 2);
  g_byte_array_set_size (file, 10); /* magic, item count, half of rows */
  assert_refused (file, 3, DG_IDX_ERROR_LENGTH);
  g_byte_array_set_size (file, 3); /* not even the magic */
  assert_refused (file, 3, DG_IDX_ERROR_LENGTH);
  g_byte_array_set_size (file, 0);
  assert_refused (file, 1, DG_IDX_ERROR_LENGTH);
}

static void
test_truncated_data (void)
{
  g_autoptr (GByteArray) file = make_images (3, 4, 5);
  g_byte_array_set_size (file, file->len - 1);

  g_autoptr (GError) error = NULL;
  g_autoptr (DgIdx) idx = dg_idx_load_from_data (file->data, file->len, 3, &error);
  g_assert_null (idx);
  g_assert_error (error, DG_IDX_ERROR, DG_IDX_ERROR_LENGTH);
  /* The user is told both lengths: 16 + 60 - 1 bytes present, 76 promised. */
  g_assert_nonnull (strstr (error->message, "75"));
  g_assert_nonnull (strstr (error->message, "76"));
  g_assert_nonnull (strstr (error->message, "truncated"));
}

static void
test_trailing_bytes (void)
{
  g_autoptr (GByteArray) file = make_labels (5);
  guint8 extra = 0;
  g_byte_array_append (file, &extra, 1);

  g_autoptr (GError) error = NULL;
  g_autoptr (DgIdx) idx = dg_idx_load_from_data (file->data, file->len, 1, &error);
  g_assert_null (idx);
  g_assert_error (error, DG_IDX_ERROR, DG_IDX_ERROR_LENGTH);
  g_assert_nonnull (strstr (error->message, "14"));
  g_assert_nonnull (strstr (error->message, "13"));
  g_assert_nonnull (strstr (error->message, "trailing"));
}

/* Only headers: the parser must refuse before looking for (or allocating)
 * the data such sizes would need. */
static void
test_over_limits (void)
{
  guint32 too_many[3] = { DG_IDX_MAX_ITEMS + 1, 28, 28 };
  guint32 too_tall[3] = { 1, DG_IDX_MAX_SIDE + 1, 28 };
  guint32 too_wide[3] = { 1, 28, DG_IDX_MAX_SIDE + 1 };
  guint32 huge[3] = { G_MAXUINT32, G_MAXUINT32, G_MAXUINT32 };
  guint32 too_many_labels = DG_IDX_MAX_ITEMS + 1;
  g_autoptr (GByteArray) many = make_idx (0x08, 3, too_many, 0);
  g_autoptr (GByteArray) tall = make_idx (0x08, 3, too_tall, 0);
  g_autoptr (GByteArray) wide = make_idx (0x08, 3, too_wide, 0);
  g_autoptr (GByteArray) huge_file = make_idx (0x08, 3, huge, 0);
  g_autoptr (GByteArray) labels = make_idx (0x08, 1, &too_many_labels, 0);
  assert_refused (many, 3, DG_IDX_ERROR_LIMIT);
  assert_refused (tall, 3, DG_IDX_ERROR_LIMIT);
  assert_refused (wide, 3, DG_IDX_ERROR_LIMIT);
  assert_refused (huge_file, 3, DG_IDX_ERROR_LIMIT);
  assert_refused (labels, 1, DG_IDX_ERROR_LIMIT);

  /* Exactly at the limits is allowed as far as the limits go; what fails
   * then is the missing data. */
  guint32 at_limit[3] = { DG_IDX_MAX_ITEMS, DG_IDX_MAX_SIDE, DG_IDX_MAX_SIDE };
  g_autoptr (GByteArray) edge = make_idx (0x08, 3, at_limit, 0);
  assert_refused (edge, 3, DG_IDX_ERROR_LENGTH);
}

static void
test_zero_dims (void)
{
  g_autoptr (GByteArray) no_rows = make_images (1, 0, 28);
  g_autoptr (GByteArray) no_cols = make_images (1, 28, 0);
  g_autoptr (GByteArray) no_images = make_images (0, 28, 28);
  g_autoptr (GByteArray) no_labels = make_labels (0);
  assert_refused (no_rows, 3, DG_IDX_ERROR_FORMAT);
  assert_refused (no_cols, 3, DG_IDX_ERROR_FORMAT);
  assert_refused (no_images, 3, DG_IDX_ERROR_FORMAT);
  assert_refused (no_labels, 1, DG_IDX_ERROR_FORMAT);
}

/* A temporary directory, emptied and removed after each test. */
typedef struct
{
  char *dir;
} TempDir;

static void
temp_dir_setup (TempDir *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  fixture->dir = g_dir_make_tmp ("test-idx-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
temp_dir_teardown (TempDir *fixture, gconstpointer user_data)
{
  g_autoptr (GDir) dir = g_dir_open (fixture->dir, 0, NULL);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (fixture->dir, name, NULL);
      g_assert_cmpint (g_remove (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (fixture->dir), ==, 0);
  g_free (fixture->dir);
}

static void
write_file (TempDir *fixture, const char *name, GByteArray *contents)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, name, NULL);
  g_file_set_contents (path, (const char *) contents->data, contents->len, &error);
  g_assert_no_error (error);
}

static void
test_load_file (TempDir *fixture, gconstpointer user_data)
{
  g_autoptr (GByteArray) file = make_images (2, 3, 4);
  write_file (fixture, "some-images", file);
  g_autofree char *path = g_build_filename (fixture->dir, "some-images", NULL);

  g_autoptr (GError) error = NULL;
  g_autoptr (DgIdx) idx = dg_idx_load (path, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpint (idx->n, ==, 2);
  g_assert_cmpuint (idx->data[23], ==, 23);

  /* A parse error names the file it came from. */
  g_autoptr (DgIdx) as_labels = dg_idx_load (path, 1, &error);
  g_assert_null (as_labels);
  g_assert_error (error, DG_IDX_ERROR, DG_IDX_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, path));
}

static void
test_load_missing_file (TempDir *fixture, gconstpointer user_data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "no-such-file", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (DgIdx) idx = dg_idx_load (path, 3, &error);
  g_assert_null (idx);
  g_assert_error (error, DG_IDX_ERROR, DG_IDX_ERROR_IO);
}

static void
test_mnist_valid (TempDir *fixture, gconstpointer user_data)
{
  g_autoptr (GByteArray) images = make_images (12, 28, 28);
  g_autoptr (GByteArray) labels = make_labels (12);
  write_file (fixture, "train-images-idx3-ubyte", images);
  write_file (fixture, "train-labels-idx1-ubyte", labels);

  g_autoptr (GError) error = NULL;
  g_autoptr (DgIdx) image_idx = NULL;
  g_autoptr (DgIdx) label_idx = NULL;
  gboolean loaded = dg_mnist_load (fixture->dir, "train", &image_idx, &label_idx, &error);
  g_assert_no_error (error);
  g_assert_true (loaded);
  g_assert_cmpint (image_idx->n, ==, 12);
  g_assert_cmpint (image_idx->rows, ==, 28);
  g_assert_cmpint (label_idx->n, ==, 12);
  g_assert_cmpuint (label_idx->data[11], ==, 1);
}

/* Loads the "train" split of @fixture, expecting failure with @code. */
static void
assert_mnist_refused (TempDir *fixture, int code, const char *message_part)
{
  g_autoptr (GError) error = NULL;
  DgIdx *images = NULL, *labels = NULL;
  g_assert_false (dg_mnist_load (fixture->dir, "train", &images, &labels, &error));
  g_assert_null (images);
  g_assert_null (labels);
  g_assert_error (error, DG_IDX_ERROR, code);
  g_assert_nonnull (strstr (error->message, message_part));
  g_test_message ("refused as expected: %s", error->message);
}

static void
test_mnist_label_out_of_range (TempDir *fixture, gconstpointer user_data)
{
  g_autoptr (GByteArray) images = make_images (12, 28, 28);
  g_autoptr (GByteArray) labels = make_labels (12);
  labels->data[8 + 7] = 10;
  write_file (fixture, "train-images-idx3-ubyte", images);
  write_file (fixture, "train-labels-idx1-ubyte", labels);
  assert_mnist_refused (fixture, DG_IDX_ERROR_FORMAT, "item 7");
}

static void
test_mnist_count_mismatch (TempDir *fixture, gconstpointer user_data)
{
  g_autoptr (GByteArray) images = make_images (12, 28, 28);
  g_autoptr (GByteArray) labels = make_labels (11);
  write_file (fixture, "train-images-idx3-ubyte", images);
  write_file (fixture, "train-labels-idx1-ubyte", labels);
  assert_mnist_refused (fixture, DG_IDX_ERROR_FORMAT, "12 images but 11 labels");
}

static void
test_mnist_corrupt_file (TempDir *fixture, gconstpointer user_data)
{
  g_autoptr (GByteArray) images = make_images (12, 28, 28);
  g_autoptr (GByteArray) labels = make_labels (12);
  g_byte_array_set_size (images, images->len - 100);
  write_file (fixture, "train-images-idx3-ubyte", images);
  write_file (fixture, "train-labels-idx1-ubyte", labels);
  assert_mnist_refused (fixture, DG_IDX_ERROR_LENGTH, "tools/fetch-mnist");
}

static void
test_mnist_missing_files (TempDir *fixture, gconstpointer user_data)
{
  assert_mnist_refused (fixture, DG_IDX_ERROR_IO, "tools/fetch-mnist");

  /* Images present, labels not: the message names the missing one. */
  g_autoptr (GByteArray) images = make_images (12, 28, 28);
  write_file (fixture, "train-images-idx3-ubyte", images);
  assert_mnist_refused (fixture, DG_IDX_ERROR_IO, "train-labels-idx1-ubyte");
  assert_mnist_refused (fixture, DG_IDX_ERROR_IO, "tools/fetch-mnist");
}

static void
test_mnist_default_dir (void)
{
  g_autofree char *saved = g_strdup (g_getenv ("DIGITS_MNIST_DIR"));

  g_setenv ("DIGITS_MNIST_DIR", "/somewhere/mnist", TRUE);
  g_autofree char *from_env = dg_mnist_default_dir ();
  g_assert_cmpstr (from_env, ==, "/somewhere/mnist");

  g_setenv ("DIGITS_MNIST_DIR", "", TRUE);
  g_autofree char *from_empty = dg_mnist_default_dir ();
  g_autofree char *cache = g_build_filename (g_get_user_cache_dir (), "digits", "mnist", NULL);
  g_assert_cmpstr (from_empty, ==, cache);

  g_unsetenv ("DIGITS_MNIST_DIR");
  g_autofree char *from_unset = dg_mnist_default_dir ();
  g_assert_cmpstr (from_unset, ==, cache);

  if (saved != NULL)
    g_setenv ("DIGITS_MNIST_DIR", saved, TRUE);
}

/* Loads @split from @dir and checks its size and per-class label counts. */
static void
check_real_split (const char *dir, const char *split, int n, const int counts[10],
                  const guint8 first_labels[5])
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DgIdx) images = NULL;
  g_autoptr (DgIdx) labels = NULL;
  gboolean loaded = dg_mnist_load (dir, split, &images, &labels, &error);
  g_assert_no_error (error);
  g_assert_true (loaded);
  g_assert_cmpint (images->n, ==, n);
  g_assert_cmpint (images->rows, ==, 28);
  g_assert_cmpint (images->cols, ==, 28);
  g_assert_cmpint (labels->n, ==, n);

  int seen[10] = { 0 };
  for (int i = 0; i < labels->n; i++)
    seen[labels->data[i]]++;
  for (int digit = 0; digit < 10; digit++)
    g_assert_cmpint (seen[digit], ==, counts[digit]);
  for (int i = 0; i < 5; i++)
    g_assert_cmpuint (labels->data[i], ==, first_labels[i]);

  /* MNIST digits are centred in a blank border: the corner pixel of the
   * first image is background, and the image holds some full-ink pixels. */
  g_assert_cmpuint (images->data[0], ==, 0);
  guint8 max_ink = 0;
  for (int i = 0; i < 28 * 28; i++)
    max_ink = MAX (max_ink, images->data[i]);
  g_assert_cmpuint (max_ink, >=, 250);
}

static void
test_mnist_real (void)
{
  const char *dir = g_getenv ("DIGITS_MNIST_DIR");
  if (dir == NULL || dir[0] == '\0' || !g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_test_fail_printf ("DIGITS_MNIST_DIR is %s%s%s; set it to the directory printed "
                          "by tools/fetch-mnist (tools/test does this) so the real MNIST "
                          "can be checked",
                          dir == NULL ? "unset" : "“", dir == NULL ? "" : dir,
                          dir == NULL ? "" : "”, not a directory");
      return;
    }

  static const int train_counts[10] = { 5923, 6742, 5958, 6131, 5842,
                                        5421, 5918, 6265, 5851, 5949 };
  static const int test_counts[10] = { 980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009 };
  static const guint8 train_first[5] = { 5, 0, 4, 1, 9 };
  static const guint8 test_first[5] = { 7, 2, 1, 0, 4 };
  check_real_split (dir, "train", 60000, train_counts, train_first);
  check_real_split (dir, "t10k", 10000, test_counts, test_first);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/idx/images/valid", test_images_valid);
  g_test_add_func ("/idx/labels/valid", test_labels_valid);
  g_test_add_func ("/idx/bad-magic", test_bad_magic);
  g_test_add_func ("/idx/wrong-type", test_wrong_type);
  g_test_add_func ("/idx/wrong-rank", test_wrong_rank);
  g_test_add_func ("/idx/truncated-header", test_truncated_header);
  g_test_add_func ("/idx/truncated-data", test_truncated_data);
  g_test_add_func ("/idx/trailing-bytes", test_trailing_bytes);
  g_test_add_func ("/idx/over-limits", test_over_limits);
  g_test_add_func ("/idx/zero-dims", test_zero_dims);
  g_test_add ("/idx/load/file", TempDir, NULL, temp_dir_setup, test_load_file,
              temp_dir_teardown);
  g_test_add ("/idx/load/missing-file", TempDir, NULL, temp_dir_setup, test_load_missing_file,
              temp_dir_teardown);
  g_test_add ("/mnist/valid", TempDir, NULL, temp_dir_setup, test_mnist_valid,
              temp_dir_teardown);
  g_test_add ("/mnist/label-out-of-range", TempDir, NULL, temp_dir_setup,
              test_mnist_label_out_of_range, temp_dir_teardown);
  g_test_add ("/mnist/count-mismatch", TempDir, NULL, temp_dir_setup, test_mnist_count_mismatch,
              temp_dir_teardown);
  g_test_add ("/mnist/corrupt-file", TempDir, NULL, temp_dir_setup, test_mnist_corrupt_file,
              temp_dir_teardown);
  g_test_add ("/mnist/missing-files", TempDir, NULL, temp_dir_setup, test_mnist_missing_files,
              temp_dir_teardown);
  g_test_add_func ("/mnist/default-dir", test_mnist_default_dir);
  g_test_add_func ("/mnist/real", test_mnist_real);

  return g_test_run ();
}
