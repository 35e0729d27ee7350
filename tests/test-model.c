/* test-model.c: layers by hand-computed values, gradients by finite
 * differences, the folded inference plan, and the weights-file checks that
 * belong to the model (architecture, shapes, names, values). */
#include "dg-kernels.h"
#include "dg-model.h"
#include "dg-rng.h"
#include "dg-safetensors.h"

#include <glib/gstdio.h>

#include <math.h>
#include <string.h>

/* A model with deterministic random parameters (and bn statistics). */
static DgModel *
make_model (const char *arch, guint64 seed)
{
  g_autoptr (GError) error = NULL;
  DgModel *model = dg_model_new (arch, &error);
  DgRng rng = dg_rng_at (seed, 1, 2);

  g_assert_no_error (error);
  dg_model_init (model, seed);
  /* Non-trivial bn parameters and statistics, so folding is really tested. */
  for (int i = 0; i < model->n_layers; i++)
    {
      const DgLayer *L = &model->layers[i];
      if (L->kind != DG_LAYER_BN)
        continue;
      for (int c = 0; c < L->out_c; c++)
        {
          model->params[L->w + c] = (float) dg_rng_range (&rng, 0.5, 1.5);
          model->params[L->b + c] = (float) dg_rng_range (&rng, -0.3, 0.3);
          model->buffers[L->mean + c] = (float) dg_rng_range (&rng, -0.2, 0.2);
          model->buffers[L->var + c] = (float) dg_rng_range (&rng, 0.5, 2.0);
        }
    }
  dg_model_changed (model);
  return model;
}

static float *
random_images (int n, guint64 seed)
{
  float *images = g_new (float, (size_t) n * DG_IMAGE_PIXELS);
  DgRng rng = dg_rng_at (seed, 3, 4);
  for (long j = 0; j < (long) n * DG_IMAGE_PIXELS; j++)
    images[j] = (float) dg_rng_uniform (&rng);
  return images;
}

static void
test_arch_parse (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DgModel) model = dg_model_new ("conv8k5v,bn,relu,pool,conv4k3,relu,dense10", &error);

  g_assert_no_error (error);
  g_assert_cmpint (model->n_layers, ==, 7);
  /* 28 -> valid 5x5 -> 24 -> pool -> 12 -> same 3x3 -> 12 */
  g_assert_cmpint (model->layers[0].out_h, ==, 24);
  g_assert_cmpint (model->layers[3].out_h, ==, 12);
  g_assert_cmpint (model->layers[4].out_h, ==, 12);
  g_assert_cmpint (model->layers[6].n_w, ==, 10 * 4 * 12 * 12);
  /* conv 8*1*25+8, bn 8+8, conv 4*8*9+4, dense 10*576+10 */
  g_assert_cmpint (dg_model_param_count (model), ==, 208 + 16 + 292 + 5770);
}

static void
test_arch_errors (void)
{
  const struct
  {
    const char *arch;
    const char *fragment;
  } cases[] = {
    { "conv8k3,blur,dense10", "unknown layer “blur”" },
    { "conv8k4,dense10", "malformed layer “conv8k4”" },
    { "conv8k3,relu", "must end with dense10" },
    { "dense12", "must end with dense10" },
    { "relu,bn,dense10", "bn must follow" },
    { "pool,pool,pool,pool,conv8k3v,dense10", "does not fit" },
    { "conv8k17,dense10", "malformed layer" },
    { "dropout1.5,dense10", "malformed layer" },
    { "", "must end with dense10" },
    { "conv8k3,,dense10", "unknown layer “”" },
    /* Limits on what a weights file may ask for, checked before allocating. */
    { "conv4097k3,dense10", "malformed layer" },
    { "dense65537,dense10", "malformed layer" },
    { "dense99999999999999999999,dense10", "malformed layer" },
    { "dense65536,dense65536,dense10", "over 64 million parameters" },
    { "relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,"
      "relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,"
      "relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,"
      "relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,relu,dense10",
      "more than 64 layers" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (DgModel) model = dg_model_new (cases[i].arch, &error);
      g_assert_null (model);
      g_assert_error (error, DG_MODEL_ERROR, DG_MODEL_ERROR_ARCH);
      if (strstr (error->message, cases[i].fragment) == NULL)
        g_error ("“%s”: message “%s” lacks “%s”", cases[i].arch, error->message, cases[i].fragment);
    }
}

/* A 3x3 kernel of ones over an image of ones counts the in-bounds
 * neighbours: 9 inside, 6 on an edge, 4 in a corner (same padding). */
static void
test_conv_values (void)
{
  g_autoptr (DgModel) model = make_model ("conv1k3,relu,pool,dense10", 1);
  g_autofree float *image = g_new (float, DG_IMAGE_PIXELS);
  DgWorkspace *ws = dg_workspace_new (model, 1);
  const DgLayer *conv = &model->layers[0];

  for (int j = 0; j < DG_IMAGE_PIXELS; j++)
    image[j] = 1.0f;
  for (int j = 0; j < 9; j++)
    model->params[conv->w + j] = 1.0f;
  model->params[conv->b] = -0.5f;
  dg_forward (model, ws, 1, image, FALSE, 0);

  GPtrArray *acts = dg_model_activations (model, image);
  const DgActivation *a = g_ptr_array_index (acts, 0);
  g_assert_cmpfloat (a->data[0], ==, 4.0f - 0.5f);            /* corner */
  g_assert_cmpfloat (a->data[5], ==, 6.0f - 0.5f);            /* top edge */
  g_assert_cmpfloat (a->data[28 * 5 + 5], ==, 9.0f - 0.5f);   /* inside */
  g_assert_cmpfloat (a->data[28 * 27 + 27], ==, 4.0f - 0.5f); /* corner */
  /* pool of (3.5, 5.5, 5.5, 8.5) at the top-left window is 8.5 */
  const DgActivation *pooled = g_ptr_array_index (acts, 2);
  g_assert_cmpint (pooled->h, ==, 14);
  g_assert_cmpfloat (pooled->data[0], ==, 8.5f);
  g_ptr_array_unref (acts);
  dg_workspace_free (ws);
}

/* A valid 3x3 convolution that picks the centre pixel, then a dense layer
 * whose class j sums row j of the 26x26 map: logits are row sums. */
static void
test_dense_values (void)
{
  g_autoptr (DgModel) model = make_model ("conv1k3v,dense10", 2);
  g_autofree float *image = g_new0 (float, DG_IMAGE_PIXELS);
  DgWorkspace *ws = dg_workspace_new (model, 1);
  const DgLayer *conv = &model->layers[0], *dense = &model->layers[1];

  memset (model->params, 0, sizeof (float) * model->n_params);
  model->params[conv->w + 4] = 1.0f;
  for (int j = 0; j < 10; j++)
    {
      for (int x = 0; x < 26; x++)
        model->params[dense->w + j * 676 + j * 26 + x] = 1.0f;
      model->params[dense->b + j] = 0.25f * j;
    }
  for (int y = 0; y < 28; y++)
    for (int x = 0; x < 28; x++)
      image[y * 28 + x] = 0.01f * y;
  dg_forward (model, ws, 1, image, FALSE, 0);
  const float *logits = dg_workspace_logits (ws);
  for (int j = 0; j < 10; j++)
    /* output row j is image row j + 1 (valid padding shifts by one) */
    g_assert_cmpfloat_with_epsilon (logits[j], 26 * 0.01f * (j + 1) + 0.25f * j, 1e-5);
  dg_workspace_free (ws);
}

/* Every convolution path (im2col; Winograd with same and valid padding, on
 * even and odd sizes) against a direct double-precision sum. */
static void
test_conv_matches_direct (void)
{
  const char *archs[] = {
    "conv4k3,conv6k3,dense10",             /* Winograd, same, 28x28 */
    "conv4k3v,conv6k3v,dense10",           /* Winograd, valid, 26 -> 24 */
    "pool,pool,conv5k3,conv7k3v,dense10",  /* odd sizes: 7 -> 7 -> 5 */
    "pool,conv4k3,conv3k5,dense10",        /* im2col, 5x5 */
  };

  for (guint a = 0; a < G_N_ELEMENTS (archs); a++)
    {
      g_autoptr (DgModel) model = make_model (archs[a], 21 + a);
      g_autofree float *image = random_images (1, 8);
      GPtrArray *acts = dg_model_activations (model, image);
      int last = model->n_layers - 2; /* the second convolution */
      const DgLayer *L = &model->layers[last];
      const DgActivation *in = g_ptr_array_index (acts, last - 1);
      const DgActivation *out = g_ptr_array_index (acts, last);
      const float *w = model->params + L->w, *b = model->params + L->b;
      double max_err = 0.0;

      for (int o = 0; o < L->out_c; o++)
        for (int y = 0; y < L->out_h; y++)
          for (int x = 0; x < L->out_w; x++)
            {
              double sum = b[o];
              for (int c = 0; c < L->in_c; c++)
                for (int ky = 0; ky < L->k; ky++)
                  for (int kx = 0; kx < L->k; kx++)
                    {
                      int iy = y + ky - L->pad, ix = x + kx - L->pad;
                      if (iy >= 0 && iy < L->in_h && ix >= 0 && ix < L->in_w)
                        sum += (double) w[((o * L->in_c + c) * L->k + ky) * L->k + kx]
                               * in->data[(c * L->in_h + iy) * L->in_w + ix];
                    }
              max_err = fmax (max_err, fabs (sum - out->data[(o * L->out_h + y) * L->out_w + x]));
            }
      g_test_message ("%s: max error %g", archs[a], max_err);
      g_assert_cmpfloat (max_err, <, 1e-4);
      g_ptr_array_unref (acts);
    }
}

static double
loss_at (DgModel *model, DgWorkspace *ws, int n, const float *images, const guint8 *labels)
{
  dg_forward (model, ws, n, images, TRUE, 42);
  return dg_loss (model, ws, labels);
}

/* Central differences against the analytic gradient for a sample of every
 * parameter tensor of @arch; one image of the batch is labelled "not one
 * digit" (a uniform target). */
static void
check_gradients (const char *arch)
{
  enum { N = 3, SAMPLES = 12 };
  g_autoptr (DgModel) model = make_model (arch, 7);
  g_autofree float *images = random_images (N, 11);
  guint8 labels[N] = { 3, DG_LABEL_NONE, 1 };
  DgWorkspace *ws = dg_workspace_new (model, N);
  DgRng rng = dg_rng_at (5, 6, 7);
  int checked = 0, skipped = 0;

  model->grads = g_new0 (float, model->n_params);
  loss_at (model, ws, N, images, labels);
  dg_backward (model, ws, labels);
  /* Cross-entropy against the uniform distribution is at least its
   * entropy, log 10, reached when the network is wholly unsure. */
  g_assert_cmpfloat (loss_at (model, ws, 1, images + DG_IMAGE_PIXELS, labels + 1), >=, log (10.0) - 1e-6);
  loss_at (model, ws, N, images, labels);

  for (int i = 0; i < model->n_layers; i++)
    {
      const DgLayer *L = &model->layers[i];
      long offsets[2] = { L->w, L->b }, counts[2] = { L->n_w, L->n_b };
      for (int t = 0; t < 2 && L->w >= 0; t++)
        for (int s = 0; s < SAMPLES; s++)
          {
            long j = offsets[t] + (long) (dg_rng_next (&rng) % (uint64_t) counts[t]);
            float saved = model->params[j];
            /* Small enough that few ReLU or max-pool kinks fall inside the step. */
            const float h = 1e-3f;
            double mid = loss_at (model, ws, N, images, labels);
            model->params[j] = saved + h;
            double up = loss_at (model, ws, N, images, labels);
            model->params[j] = saved - h;
            double down = loss_at (model, ws, N, images, labels);
            model->params[j] = saved;
            /* Where a kink lies inside [-h, h] the two one-sided slopes
             * disagree and no finite difference means anything: skip it. */
            if (fabs ((up - mid) - (mid - down)) / h > 5e-3 + 0.05 * fabs ((up - down) / (2 * h)))
              {
                skipped++;
                continue;
              }
            double numeric = (up - down) / (2 * h);
            double analytic = model->grads[j];
            if (fabs (numeric - analytic) > 2e-3 + 3e-2 * fabs (numeric))
              g_error ("%s: layer %d (%s) param %ld: analytic %.6g, numeric %.6g", arch, i,
                       t ? "bias" : "weight", j - offsets[t], analytic, numeric);
            checked++;
          }
    }
  /* Kinks are rare: most samples must have been compared. */
  g_assert_cmpint (checked, >=, 4 * skipped);
  dg_workspace_free (ws);
}

static void
test_gradient_conv (void)
{
  /* im2col (one input channel, 5x5) and Winograd (3x3, same and valid) */
  check_gradients ("conv4k3,conv5k3v,conv3k5v,dense10");
}

static void
test_gradient_bn (void)
{
  check_gradients ("conv4k3,bn,conv6k3,bn,dense10");
}

static void
test_gradient_relu_pool (void)
{
  check_gradients ("conv4k3,relu,pool,conv5k3,relu,pool,dense10");
}

static void
test_gradient_dense_dropout (void)
{
  check_gradients ("conv2k3v,pool,dense12,bn,relu,dropout0.3,dense10");
}

/* The plan folds bn into the layer before it; it must agree with the
 * unfolded eval-mode forward. */
static void
test_plan_matches_forward (void)
{
  enum { N = 5 };
  /* Even sizes, same and valid; then odd ones (7 -> 7 -> 5), whose last
   * Winograd tiles hang over the plane, in runs across the images. */
  const char *archs[] = {
    "conv8k3,bn,relu,pool,conv8k3v,bn,relu,dense16,bn,relu,dropout0.5,dense10",
    "pool,pool,conv5k3,relu,conv7k3v,dense10",
  };
  for (guint a = 0; a < G_N_ELEMENTS (archs); a++)
    {
      g_autoptr (DgModel) model = make_model (archs[a], 3);
      g_autofree float *images = random_images (N, 9);
      float probs[N * DG_CLASSES];
      DgWorkspace *ws = dg_workspace_new (model, N);

      const float *reference = dg_forward (model, ws, N, images, FALSE, 0);
      dg_model_predict (model, N, images, probs);
      for (int j = 0; j < N * DG_CLASSES; j++)
        g_assert_cmpfloat_with_epsilon (probs[j], reference[j], 1e-5);
      /* One at a time gives the same as a batch. */
      for (int b = 0; b < N; b++)
        {
          float one[DG_CLASSES];
          dg_model_predict (model, 1, images + b * DG_IMAGE_PIXELS, one);
          for (int j = 0; j < DG_CLASSES; j++)
            g_assert_cmpfloat_with_epsilon (one[j], probs[b * DG_CLASSES + j], 1e-6);
        }
      dg_workspace_free (ws);
    }
}

/* One image alone goes pixel-major (dg-pixels.c) when every convolution
 * has a multiple of 16 output channels.  The first network: a first layer
 * over one channel (nine taps unrolled, 32 channels a block), a 5x5 one
 * over 32 channels (direct, 16 a block), Winograd F(6x6) over 16 channels
 * onto 10x10 (a block past the edge), a ReLU on its own after a pool, and
 * a dense layer over (5, 5, 32) whose weights the plan reorders.  The
 * second: Winograd F(4x4) with zero padding onto 14x14 (16 outputs:
 * OpenBLAS), then F(6x6) onto 12x12 (32 outputs: its own products with
 * AVX-512).  Both vector widths must agree with the unfolded forward, and
 * with each other to rounding: a lane is one channel either way, but the
 * products may be summed by different code. */
static void
test_plan_pixels (void)
{
  enum { N = 4 };
  const char *archs[] = {
    "conv32k3,bn,relu,conv16k5v,relu,pool,relu,conv32k3v,bn,relu,pool,dense16,relu,dense10",
    "conv32k3,bn,relu,pool,relu,conv16k3,bn,relu,conv32k3v,relu,conv16k5v,pool,dense16,relu,"
    "dense10",
  };
  for (guint a = 0; a < G_N_ELEMENTS (archs); a++)
    {
      g_autoptr (DgModel) model = make_model (archs[a], 5);
      g_autofree float *images = random_images (N, 11);
      DgWorkspace *ws = dg_workspace_new (model, N);
      const float *reference = dg_forward (model, ws, N, images, FALSE, 0);
      float probs[2][N * DG_CLASSES];
      const int lanes[2] = { 0, 8 }; /* 0: the processor's own (16 with AVX-512) */

      for (int l = 0; l < 2; l++)
        {
          dg_pixels_set_lanes (lanes[l]);
          for (int b = 0; b < N; b++)
            dg_model_predict (model, 1, images + b * DG_IMAGE_PIXELS, probs[l] + b * DG_CLASSES);
          for (int j = 0; j < N * DG_CLASSES; j++)
            g_assert_cmpfloat_with_epsilon (probs[l][j], reference[j], 1e-5);
        }
      dg_pixels_set_lanes (0);
      for (int j = 0; j < N * DG_CLASSES; j++)
        g_assert_cmpfloat_with_epsilon (probs[0][j], probs[1][j], 1e-6);
      /* More threads than when the plan was made, then fewer. */
      int threads_before = dg_get_threads ();
      for (int threads = threads_before + 1; threads >= 1; threads -= threads_before)
        {
          float one[DG_CLASSES];
          dg_set_threads (threads);
          dg_model_predict (model, 1, images, one);
          for (int j = 0; j < DG_CLASSES; j++)
            g_assert_cmpfloat_with_epsilon (one[j], reference[j], 1e-5);
        }
      dg_set_threads (threads_before);
      dg_workspace_free (ws);
    }
  g_assert_cmpint (dg_pixels_block (3, 16, 10, 10), ==, 6);
  g_assert_cmpint (dg_pixels_block (3, 32, 14, 14), ==, 4);
  g_assert_cmpint (dg_pixels_block (3, 16, 12, 12), ==, 6);
  g_assert_cmpint (dg_pixels_block (5, 32, 8, 8), ==, 0);
}

static void
test_save_load_roundtrip (void)
{
  g_autoptr (DgModel) model = make_model ("conv4k3,bn,relu,pool,dense10", 4);
  g_autofree char *dir = g_dir_make_tmp ("digits-test-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "m.safetensors", NULL);
  g_autoptr (GError) error = NULL;

  dg_model_set_metadata (model, "seed", "4");
  g_assert_true (dg_model_save (model, path, &error));
  g_assert_no_error (error);
  g_autoptr (DgModel) loaded = dg_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (loaded->arch, ==, model->arch);
  g_assert_cmpstr (dg_model_get_metadata (loaded, "seed"), ==, "4");
  g_assert_cmpmem (loaded->params, model->n_params * 4, model->params, model->n_params * 4);
  g_assert_cmpmem (loaded->buffers, model->n_buffers * 4, model->buffers, model->n_buffers * 4);
  g_unlink (path);
  g_rmdir (dir);
}

/* Builds a weights file from a model, then lets @mutate break it. */
static GBytes *
weights_bytes (const char *arch, void (*mutate) (DgTensorFile *file))
{
  g_autoptr (DgModel) model = make_model (arch, 5);
  g_autoptr (DgTensorFile) file = NULL;
  g_autofree char *dir = g_dir_make_tmp ("digits-test-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "m.safetensors", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_true (dg_model_save (model, path, &error));
  file = dg_tensor_file_load (path, &error);
  g_assert_no_error (error);
  g_unlink (path);
  g_rmdir (dir);
  if (mutate != NULL)
    mutate (file);
  return dg_tensor_file_serialize (file);
}

static void
drop_bias (DgTensorFile *file)
{
  for (guint i = 0; i < file->tensors->len; i++)
    {
      DgTensor *t = g_ptr_array_index (file->tensors, i);
      if (strcmp (t->name, "layers.0.bias") == 0)
        {
          g_ptr_array_remove_index (file->tensors, i);
          return;
        }
    }
}

static void
extra_layer (DgTensorFile *file)
{
  int64_t shape[1] = { 3 };
  float data[3] = { 0 };
  dg_tensor_file_add (file, "layers.9.weight", 1, shape, data);
}

static void
wrong_shape (DgTensorFile *file)
{
  int64_t shape[4] = { 4, 1, 5, 5 };
  g_autofree float *data = g_new0 (float, 100);
  drop_bias (file); /* keep names unique: replace layer 0 wholesale */
  for (guint i = 0; i < file->tensors->len; i++)
    {
      DgTensor *t = g_ptr_array_index (file->tensors, i);
      if (strcmp (t->name, "layers.0.weight") == 0)
        g_ptr_array_remove_index (file->tensors, i);
    }
  dg_tensor_file_add (file, "layers.0.weight", 4, shape, data);
  int64_t bias_shape[1] = { 4 };
  dg_tensor_file_add (file, "layers.0.bias", 1, bias_shape, data);
}

static void
nan_weight (DgTensorFile *file)
{
  DgTensor *t = (DgTensor *) dg_tensor_file_lookup (file, "layers.0.weight");
  t->data[2] = NAN;
}

static void
negative_variance (DgTensorFile *file)
{
  DgTensor *t = (DgTensor *) dg_tensor_file_lookup (file, "layers.1.running_var");
  t->data[0] = -1.0f;
}

static void
no_arch (DgTensorFile *file)
{
  g_hash_table_remove (file->metadata, "arch");
}

static void
unknown_layer_in_arch (DgTensorFile *file)
{
  dg_tensor_file_set_metadata (file, "arch", "conv4k3,bn,swish,pool,dense10");
}

static void
test_load_errors (void)
{
  const struct
  {
    void (*mutate) (DgTensorFile *file);
    int code;
    const char *fragment;
  } cases[] = {
    { drop_bias, DG_MODEL_ERROR_WEIGHTS, "lacks tensor layers.0.bias" },
    { extra_layer, DG_MODEL_ERROR_WEIGHTS, "tensor layers.9.weight, which the architecture" },
    { wrong_shape, DG_MODEL_ERROR_WEIGHTS, "layers.0.weight has shape (4, 1, 5, 5), the architecture needs (4, 1, 3, 3)" },
    { nan_weight, DG_MODEL_ERROR_WEIGHTS, "layers.0.weight holds an invalid value at element 2" },
    { negative_variance, DG_MODEL_ERROR_WEIGHTS, "layers.1.running_var holds an invalid value" },
    { no_arch, DG_MODEL_ERROR_WEIGHTS, "no architecture" },
    { unknown_layer_in_arch, DG_MODEL_ERROR_ARCH, "unknown layer “swish”" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GBytes) bytes = weights_bytes ("conv4k3,bn,relu,pool,dense10", cases[i].mutate);
      g_autoptr (GError) error = NULL;
      gsize size;
      const guint8 *data = g_bytes_get_data (bytes, &size);
      g_autoptr (DgModel) model = dg_model_load_from_data (data, size, &error);
      g_assert_null (model);
      g_assert_error (error, DG_MODEL_ERROR, cases[i].code);
      if (strstr (error->message, cases[i].fragment) == NULL)
        g_error ("case %u: message “%s” lacks “%s”", i, error->message, cases[i].fragment);
    }

  /* The unbroken file loads. */
  g_autoptr (GBytes) good = weights_bytes ("conv4k3,bn,relu,pool,dense10", NULL);
  g_autoptr (GError) error = NULL;
  gsize size;
  const guint8 *data = g_bytes_get_data (good, &size);
  g_autoptr (DgModel) model = dg_model_load_from_data (data, size, &error);
  g_assert_no_error (error);
  g_assert_nonnull (model);
}

/* The same seed gives the same model bit for bit; another seed does not. */
static void
test_init_deterministic (void)
{
  g_autoptr (DgModel) a = make_model ("conv4k3,dense10", 99);
  g_autoptr (DgModel) b = make_model ("conv4k3,dense10", 99);
  g_autoptr (DgModel) c = make_model ("conv4k3,dense10", 100);
  g_assert_cmpmem (a->params, a->n_params * 4, b->params, b->n_params * 4);
  g_assert_true (memcmp (a->params, c->params, a->n_params * 4) != 0);
  /* He initialisation: the conv weights' spread is about sqrt (2 / 9). */
  double sum_sq = 0.0;
  for (int j = 0; j < 36; j++)
    sum_sq += a->params[j] * a->params[j];
  g_assert_cmpfloat (sqrt (sum_sq / 36), >, 0.25);
  g_assert_cmpfloat (sqrt (sum_sq / 36), <, 0.7);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  dg_set_threads (2);
  g_test_add_func ("/model/arch/parse", test_arch_parse);
  g_test_add_func ("/model/arch/errors", test_arch_errors);
  g_test_add_func ("/model/conv/values", test_conv_values);
  g_test_add_func ("/model/dense/values", test_dense_values);
  g_test_add_func ("/model/conv/matches-direct", test_conv_matches_direct);
  g_test_add_func ("/model/gradient/conv", test_gradient_conv);
  g_test_add_func ("/model/gradient/bn", test_gradient_bn);
  g_test_add_func ("/model/gradient/relu-pool", test_gradient_relu_pool);
  g_test_add_func ("/model/gradient/dense-dropout", test_gradient_dense_dropout);
  g_test_add_func ("/model/plan/matches-forward", test_plan_matches_forward);
  g_test_add_func ("/model/plan/pixels", test_plan_pixels);
  g_test_add_func ("/model/init/deterministic", test_init_deterministic);
  g_test_add_func ("/model/weights/roundtrip", test_save_load_roundtrip);
  g_test_add_func ("/model/weights/errors", test_load_errors);
  return g_test_run ();
}
