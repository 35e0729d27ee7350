/* dg-idx.c: reading MNIST's IDX files, trusting nothing they claim. */
#include "dg-idx.h"

G_DEFINE_QUARK (dg-idx-error-quark, dg_idx_error)

static guint32
read_be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | (guint32) p[3];
}

DgIdx *
dg_idx_load_from_data (const guint8 *bytes, gsize length, int expected_rank, GError **error)
{
  g_return_val_if_fail (bytes != NULL || length == 0, NULL);
  g_return_val_if_fail (expected_rank == 1 || expected_rank == 3, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  const char *kind = expected_rank == 3 ? "image" : "label";
  if (length < 4)
    {
      g_set_error (error, DG_IDX_ERROR, DG_IDX_ERROR_LENGTH,
                   "IDX %s file is %" G_GSIZE_FORMAT
                   " bytes, too short for the 4-byte magic number",
                   kind, length);
      return NULL;
    }
  if (bytes[0] != 0 || bytes[1] != 0)
    {
      g_set_error (error, DG_IDX_ERROR, DG_IDX_ERROR_FORMAT,
                   "Not an IDX file: magic number starts 0x%02x%02x, expected 0x0000",
                   bytes[0], bytes[1]);
      return NULL;
    }
  if (bytes[2] != 0x08)
    {
      g_set_error (error, DG_IDX_ERROR, DG_IDX_ERROR_FORMAT,
                   "IDX element type 0x%02x is not supported; only 0x08 (unsigned byte) is",
                   bytes[2]);
      return NULL;
    }
  if (bytes[3] != expected_rank)
    {
      g_set_error (error, DG_IDX_ERROR, DG_IDX_ERROR_FORMAT,
                   "IDX file has %u dimensions; %s files must have %d", bytes[3], kind,
                   expected_rank);
      return NULL;
    }

  gsize header = 4 + 4 * (gsize) expected_rank;
  if (length < header)
    {
      g_set_error (error, DG_IDX_ERROR, DG_IDX_ERROR_LENGTH,
                   "IDX header truncated: file is %" G_GSIZE_FORMAT
                   " bytes, its header needs %" G_GSIZE_FORMAT,
                   length, header);
      return NULL;
    }

  /* dims[0] is the item count, dims[1..2] rows and columns. */
  guint32 dims[3] = { 0, 0, 0 };
  for (int i = 0; i < expected_rank; i++)
    dims[i] = read_be32 (bytes + 4 + 4 * i);

  if (dims[0] > DG_IDX_MAX_ITEMS)
    {
      g_set_error (error, DG_IDX_ERROR, DG_IDX_ERROR_LIMIT,
                   "IDX %s file claims %u items; at most %d are allowed", kind, dims[0],
                   DG_IDX_MAX_ITEMS);
      return NULL;
    }
  if (expected_rank == 3 && (dims[1] > DG_IDX_MAX_SIDE || dims[2] > DG_IDX_MAX_SIDE))
    {
      g_set_error (error, DG_IDX_ERROR, DG_IDX_ERROR_LIMIT,
                   "IDX images are %u×%u pixels; at most %d×%d are allowed", dims[1], dims[2],
                   DG_IDX_MAX_SIDE, DG_IDX_MAX_SIDE);
      return NULL;
    }
  if (dims[0] == 0 || (expected_rank == 3 && (dims[1] == 0 || dims[2] == 0)))
    {
      if (expected_rank == 3)
        g_set_error (error, DG_IDX_ERROR, DG_IDX_ERROR_FORMAT,
                     "IDX image file is empty: %u images of %u×%u pixels", dims[0], dims[1],
                     dims[2]);
      else
        g_set_error (error, DG_IDX_ERROR, DG_IDX_ERROR_FORMAT, "IDX label file holds no labels");
      return NULL;
    }

  /* Within the limits this is at most 1e7 × 4096² bytes: no overflow. */
  guint64 n_bytes = dims[0];
  if (expected_rank == 3)
    n_bytes *= (guint64) dims[1] * dims[2];
  if ((guint64) length - header != n_bytes)
    {
      g_set_error (error, DG_IDX_ERROR, DG_IDX_ERROR_LENGTH,
                   "IDX %s file is %" G_GSIZE_FORMAT " bytes but its header promises %"
                   G_GUINT64_FORMAT " (%s)",
                   kind, length, header + n_bytes,
                   (guint64) length - header < n_bytes ? "truncated" : "trailing bytes");
      return NULL;
    }

  DgIdx *idx = g_new0 (DgIdx, 1);
  idx->n = (int) dims[0];
  idx->rows = (int) dims[1];
  idx->cols = (int) dims[2];
  idx->data = g_memdup2 (bytes + header, n_bytes);
  return idx;
}

DgIdx *
dg_idx_load (const char *path, int expected_rank, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr (GError) local_error = NULL;
  g_autoptr (GMappedFile) file = g_mapped_file_new (path, FALSE, &local_error);
  if (file == NULL)
    {
      g_set_error (error, DG_IDX_ERROR, DG_IDX_ERROR_IO, "%s", local_error->message);
      return NULL;
    }

  DgIdx *idx = dg_idx_load_from_data ((const guint8 *) g_mapped_file_get_contents (file),
                                      g_mapped_file_get_length (file), expected_rank, error);
  if (idx == NULL)
    g_prefix_error (error, "%s: ", path);
  return idx;
}

void
dg_idx_free (DgIdx *idx)
{
  if (idx == NULL)
    return;
  g_free (idx->data);
  g_free (idx);
}

/* Re-raises @local_error with advice to fetch the data set again. */
static void
propagate_with_hint (GError **error, const GError *local_error)
{
  g_set_error (error, local_error->domain, local_error->code,
               "%s; run tools/fetch-mnist to download MNIST again", local_error->message);
}

gboolean
dg_mnist_load (const char *dir, const char *split, DgIdx **images, DgIdx **labels,
               GError **error)
{
  g_return_val_if_fail (dir != NULL && split != NULL, FALSE);
  g_return_val_if_fail (images != NULL && labels != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autofree char *images_name = g_strdup_printf ("%s-images-idx3-ubyte", split);
  g_autofree char *labels_name = g_strdup_printf ("%s-labels-idx1-ubyte", split);
  g_autofree char *images_path = g_build_filename (dir, images_name, NULL);
  g_autofree char *labels_path = g_build_filename (dir, labels_name, NULL);

  const char *missing = !g_file_test (images_path, G_FILE_TEST_EXISTS)   ? images_name
                        : !g_file_test (labels_path, G_FILE_TEST_EXISTS) ? labels_name
                                                                         : NULL;
  if (missing != NULL)
    {
      g_set_error (error, DG_IDX_ERROR, DG_IDX_ERROR_IO,
                   "MNIST file %s is missing from “%s”; run tools/fetch-mnist to download "
                   "it (or set DIGITS_MNIST_DIR to where it is)",
                   missing, dir);
      return FALSE;
    }

  g_autoptr (GError) local_error = NULL;
  g_autoptr (DgIdx) image_idx = dg_idx_load (images_path, 3, &local_error);
  g_autoptr (DgIdx) label_idx = NULL;
  if (image_idx != NULL)
    label_idx = dg_idx_load (labels_path, 1, &local_error);
  if (label_idx == NULL)
    {
      propagate_with_hint (error, local_error);
      return FALSE;
    }

  if (image_idx->n != label_idx->n)
    {
      g_set_error (error, DG_IDX_ERROR, DG_IDX_ERROR_FORMAT,
                   "MNIST %s split in “%s” has %d images but %d labels; run tools/fetch-mnist "
                   "to download it again",
                   split, dir, image_idx->n, label_idx->n);
      return FALSE;
    }
  for (int i = 0; i < label_idx->n; i++)
    if (label_idx->data[i] > 9)
      {
        g_set_error (error, DG_IDX_ERROR, DG_IDX_ERROR_FORMAT,
                     "%s: label %u of item %d is not a digit 0..9; run tools/fetch-mnist to "
                     "download MNIST again",
                     labels_path, label_idx->data[i], i);
        return FALSE;
      }

  *images = g_steal_pointer (&image_idx);
  *labels = g_steal_pointer (&label_idx);
  return TRUE;
}

char *
dg_mnist_default_dir (void)
{
  const char *env = g_getenv ("DIGITS_MNIST_DIR");
  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  return g_build_filename (g_get_user_cache_dir (), "digits", "mnist", NULL);
}
