/* fuzz-safetensors.c: weights files, from bytes to a model that predicts.
 *
 * The bytes go through the safetensors reader (dg_tensor_file_load_from_data)
 * and the model loader (dg_model_load_from_data), which checks them against
 * the architecture named in the metadata.  What loads must also serialise
 * and load back unchanged, and a loaded model small enough to run quickly
 * must predict ten probabilities that sum to one.  The architecture string
 * alone also goes through dg_model_new, so its checks are fuzzed even when
 * the tensors do not match it.
 */
#include "fuzz.h"

#include "dg-model.h"
#include "dg-safetensors.h"

#include <glib.h>
#include <math.h>
#include <string.h>

/* Multiply-adds per image above which a model is not run: the loader
 * allows 64 M parameters, and predicting with those would turn every such
 * input into a time-out rather than find a bug. */
#define MAX_MACS (20L * 1000 * 1000)

static long
model_macs (const DgModel *model)
{
  long macs = 0;
  for (int i = 0; i < model->n_layers; i++)
    {
      const DgLayer *layer = &model->layers[i];
      if (layer->kind == DG_LAYER_CONV)
        macs += layer->n_w * layer->out_h * layer->out_w;
      else if (layer->kind == DG_LAYER_DENSE)
        macs += layer->n_w;
    }
  return macs;
}

static void
check_predicts (DgModel *model)
{
  float image[DG_IMAGE_PIXELS], probs[DG_CLASSES];
  double sum = 0.0;

  if (model_macs (model) > MAX_MACS)
    return;
  for (int i = 0; i < DG_IMAGE_PIXELS; i++)
    image[i] = (float) ((i * 37) % 101) / 100.0f;
  dg_model_predict (model, 1, image, probs);
  for (int c = 0; c < DG_CLASSES; c++)
    {
      /* Weights are finite but may be huge: the softmax may still give NaN. */
      if (isnan (probs[c]))
        return;
      g_assert_true (probs[c] >= 0.0f && probs[c] <= 1.0f);
      sum += probs[c];
    }
  g_assert_cmpfloat (fabs (sum - 1.0), <, 1e-3);
}

static void
check_round_trip (const DgTensorFile *file)
{
  g_autoptr (GBytes) bytes = dg_tensor_file_serialize (file);
  gsize length;
  const guint8 *data = g_bytes_get_data (bytes, &length);
  g_autoptr (GError) error = NULL;
  g_autoptr (DgTensorFile) again = dg_tensor_file_load_from_data (data, length, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (again->tensors->len, ==, file->tensors->len);
  g_assert_cmpuint (g_hash_table_size (again->metadata), ==, g_hash_table_size (file->metadata));
  for (guint i = 0; i < file->tensors->len; i++)
    {
      const DgTensor *a = g_ptr_array_index (file->tensors, i);
      const DgTensor *b = dg_tensor_file_lookup (again, a->name);
      g_assert_nonnull (b);
      g_assert_cmpint (a->rank, ==, b->rank);
      g_assert_cmpmem (a->shape, sizeof (int64_t) * a->rank, b->shape, sizeof (int64_t) * b->rank);
      g_assert_cmpmem (a->data, a->n_elements * sizeof (float), b->data,
                       b->n_elements * sizeof (float));
    }
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, file->metadata);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_assert_cmpstr (dg_tensor_file_get_metadata (again, key), ==, value);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_abort_on_criticals (NULL);
  dg_set_threads (1);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DgTensorFile) file = dg_tensor_file_load_from_data (data, size, &error);

  if (file == NULL)
    {
      fuzz_check_message (error);
      g_assert_true (error->domain == DG_SAFETENSORS_ERROR);
    }
  else
    {
      g_assert_no_error (error);
      check_round_trip (file);

      const char *arch = dg_tensor_file_get_metadata (file, "arch");
      if (arch != NULL)
        {
          g_autoptr (GError) arch_error = NULL;
          g_autoptr (DgModel) fresh = dg_model_new (arch, &arch_error);
          g_assert_true ((fresh == NULL) == (arch_error != NULL));
          if (fresh == NULL)
            fuzz_check_message (arch_error);
          if (fresh != NULL && model_macs (fresh) <= MAX_MACS)
            {
              dg_model_init (fresh, 1);
              check_predicts (fresh);
            }
        }
    }

  g_autoptr (GError) model_error = NULL;
  g_autoptr (DgModel) model = dg_model_load_from_data (data, size, &model_error);
  g_assert_true ((model == NULL) == (model_error != NULL));
  g_assert_true (model == NULL || file != NULL);
  if (model == NULL)
    fuzz_check_message (model_error);
  if (model != NULL)
    check_predicts (model);
  return 0;
}
