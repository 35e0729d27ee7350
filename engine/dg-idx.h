/* dg-idx.h: MNIST's IDX files (images idx3-ubyte, labels idx1-ubyte).
 *
 * Format: big-endian magic 0x0000 08 NN (0x08 = unsigned byte, NN = number
 * of dimensions), NN big-endian u32 dimension sizes, then the bytes.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DG_IDX_ERROR (dg_idx_error_quark ())

typedef enum
{
  DG_IDX_ERROR_IO,     /* cannot open or read */
  DG_IDX_ERROR_FORMAT, /* bad magic, type or dimensions */
  DG_IDX_ERROR_LENGTH, /* length disagrees with the dimensions */
  DG_IDX_ERROR_LIMIT,  /* dimensions over the limits below */
} DgIdxError;

#define DG_IDX_MAX_ITEMS 10000000 /* items in one file */
#define DG_IDX_MAX_SIDE  4096     /* rows or columns of one image */

typedef struct
{
  int n;         /* number of items */
  int rows;      /* image height; 0 for a label file */
  int cols;      /* image width; 0 for a label file */
  guint8 *data;  /* (n, rows, cols) for images, (n) for labels; owned */
} DgIdx;

GQuark dg_idx_error_quark (void);

/* @expected_rank: 3 for images, 1 for labels; anything else is refused. */
DgIdx *dg_idx_load_from_data (const guint8 *bytes, gsize length, int expected_rank,
                              GError **error);
DgIdx *dg_idx_load (const char *path, int expected_rank, GError **error);
void dg_idx_free (DgIdx *idx);

/* A split of MNIST from a directory holding the four original file names.
 * @split is "train" or "t10k".  Checks that images and labels agree in
 * count and that every label is 0..9. */
gboolean dg_mnist_load (const char *dir, const char *split, DgIdx **images, DgIdx **labels,
                        GError **error);

/* The directory tools/fetch-mnist fills: $DIGITS_MNIST_DIR if set, else
 * $XDG_CACHE_HOME/digits/mnist.  Newly allocated. */
char *dg_mnist_default_dir (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DgIdx, dg_idx_free)

G_END_DECLS
