/* fuzz-idx.c: MNIST's IDX files, read as images (rank 3) and as labels
 * (rank 1).  What loads must agree with its header and its length. */
#include "fuzz.h"

#include "dg-idx.h"

#include <glib.h>
#include <string.h>

static void
load (const uint8_t *data, size_t size, int rank)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DgIdx) idx = dg_idx_load_from_data (data, size, rank, &error);

  if (idx == NULL)
    {
      fuzz_check_message (error);
      g_assert_true (error->domain == DG_IDX_ERROR);
      return;
    }
  g_assert_no_error (error);
  g_assert_cmpint (idx->n, >, 0);
  gsize header = 4 + 4 * (gsize) rank;
  gsize n_bytes = rank == 3 ? (gsize) idx->n * idx->rows * idx->cols : (gsize) idx->n;
  g_assert_cmpuint (header + n_bytes, ==, size);
  g_assert_cmpmem (idx->data, n_bytes, data + header, n_bytes);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_abort_on_criticals (NULL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  load (data, size, 3);
  load (data, size, 1);
  return 0;
}
