/* dg-train.c: the training loop.
 *
 * One step: draw a mini-batch (distorted on the fly), forward, softmax
 * cross-entropy, backward, optimiser update.  The learning rate warms up
 * linearly, then follows a cosine down to zero.  After each epoch the model
 * is scored on the held-out split and the best one is kept.
 */
#include "dg-train.h"

#include "dg-rng.h"

#include <math.h>
#include <string.h>

void
dg_train_config_defaults (DgTrainConfig *config)
{
  *config = (DgTrainConfig) {
    .epochs = 20,
    .batch = 128,
    .val_size = 5000,
    .seed = 1,
    .split_seed = 1,
    .optimizer = DG_OPTIMIZER_ADAM,
    .lr = 2e-3,
    .momentum = 0.9,
    .weight_decay = 1e-4,
    .warmup = 1.0,
    .augment = TRUE,
  };
  dg_augment_defaults (&config->distort);
}

void
dg_pixels_to_floats (const guint8 *pixels, long n, float *out)
{
  for (long i = 0; i < n; i++)
    out[i] = pixels[i] * (1.0f / 255.0f);
}

/* Fisher-Yates with the seeded generator. */
static void
shuffle (int *items, int n, DgRng *rng)
{
  for (int i = n - 1; i > 0; i--)
    {
      int j = (int) (dg_rng_next (rng) % (uint64_t) (i + 1));
      int t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
}

void
dg_train_split_order (int n, guint64 split_seed, int *order)
{
  DgRng rng = dg_rng_at (split_seed, 0xda7a, 0);
  for (int i = 0; i < n; i++)
    order[i] = i;
  shuffle (order, n, &rng);
}

/* How many of @n items @config holds out for validation: all but one at most. */
static int
held_out (const DgTrainConfig *config, int n)
{
  return CLAMP (config->val_size, 0, n - 1);
}

void
dg_train_keep_split (DgIdx *images, DgIdx *labels, gboolean validation)
{
  g_return_if_fail (images != NULL && labels != NULL && images->n == labels->n && images->n > 1);

  DgTrainConfig config;
  dg_train_config_defaults (&config);
  int n = images->n;
  g_autofree int *order = g_new (int, n);
  dg_train_split_order (n, config.split_seed, order);
  int n_val = held_out (&config, n);
  int first = validation ? n - n_val : 0, kept = validation ? n_val : n - n_val;
  gsize pixels = (gsize) images->rows * images->cols;
  guint8 *kept_images = g_new (guint8, (gsize) kept * pixels);
  guint8 *kept_labels = g_new (guint8, kept);
  for (int k = 0; k < kept; k++)
    {
      int item = order[first + k];
      memcpy (kept_images + k * pixels, images->data + item * pixels, pixels);
      kept_labels[k] = labels->data[item];
    }
  g_free (images->data);
  g_free (labels->data);
  images->data = kept_images;
  labels->data = kept_labels;
  images->n = labels->n = kept;
}

static double
learning_rate (const DgTrainConfig *config, double epoch_progress)
{
  if (epoch_progress < config->warmup)
    return config->lr * (epoch_progress + 1e-3) / config->warmup;
  double t = (epoch_progress - config->warmup) / MAX (1e-9, config->epochs - config->warmup);
  return config->lr * 0.5 * (1.0 + cos (G_PI * MIN (t, 1.0)));
}

typedef struct
{
  float *m, *v;  /* Adam moments or SGD velocity (m only), (n_params) */
  long step;
} OptimizerState;

/* Which parameters get weight decay: weights of conv and dense layers, not
 * biases and not batch-norm scales. */
static guint8 *
decay_mask (const DgModel *model)
{
  guint8 *mask = g_new0 (guint8, model->n_params);
  for (int i = 0; i < model->n_layers; i++)
    {
      const DgLayer *L = &model->layers[i];
      if (L->kind == DG_LAYER_CONV || L->kind == DG_LAYER_DENSE)
        memset (mask + L->w, 1, L->n_w);
    }
  return mask;
}

static void
optimizer_step (DgModel *model, const DgTrainConfig *config, OptimizerState *state,
                const guint8 *decay, double lr)
{
  float *p = model->params, *g = model->grads;
  long n = model->n_params;

  state->step++;
  if (config->optimizer == DG_OPTIMIZER_ADAM)
    {
      const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
      double c1 = 1.0 - pow (beta1, (double) state->step);
      double c2 = 1.0 - pow (beta2, (double) state->step);
      float step = (float) (lr / c1), wd = (float) (lr * config->weight_decay);
      float inv_c2 = (float) (1.0 / c2);

      for (long j = 0; j < n; j++)
        {
          state->m[j] = (float) beta1 * state->m[j] + (float) (1 - beta1) * g[j];
          state->v[j] = (float) beta2 * state->v[j] + (float) (1 - beta2) * g[j] * g[j];
          if (decay[j])
            p[j] -= wd * p[j];
          p[j] -= step * state->m[j] / (sqrtf (state->v[j] * inv_c2) + (float) eps);
        }
    }
  else
    {
      float mu = (float) config->momentum, wd = (float) config->weight_decay;
      for (long j = 0; j < n; j++)
        {
          float grad = g[j] + (decay[j] ? wd * p[j] : 0.0f);
          state->m[j] = mu * state->m[j] + grad;
          p[j] -= (float) lr * state->m[j];
        }
    }
}

double
dg_evaluate (DgModel *model, const DgDataset *data, const int *indices, int n, int batch,
             int *confusion, float *probs)
{
  enum { CHUNK = 1024 };
  g_autofree float *images = g_new (float, (size_t) CHUNK * DG_IMAGE_PIXELS);
  g_autofree float *chunk_probs = g_new (float, (size_t) CHUNK * DG_CLASSES);
  long correct = 0;

  if (confusion != NULL)
    memset (confusion, 0, sizeof (int) * DG_CLASSES * DG_CLASSES);
  for (int start = 0; start < n; start += CHUNK)
    {
      int m = MIN (CHUNK, n - start);
      for (int j = 0; j < m; j++)
        {
          int item = indices != NULL ? indices[start + j] : start + j;
          dg_pixels_to_floats (data->pixels + (long) item * DG_IMAGE_PIXELS, DG_IMAGE_PIXELS,
                               images + (long) j * DG_IMAGE_PIXELS);
        }
      int step = batch > 0 ? MIN (batch, m) : m;
      for (int j = 0; j < m; j += step)
        dg_model_predict (model, MIN (step, m - j), images + (long) j * DG_IMAGE_PIXELS,
                          chunk_probs + (long) j * DG_CLASSES);
      for (int j = 0; j < m; j++)
        {
          int item = indices != NULL ? indices[start + j] : start + j;
          int truth = data->labels[item];
          int guess = dg_argmax (chunk_probs + (long) j * DG_CLASSES, DG_CLASSES);
          correct += guess == truth;
          if (confusion != NULL)
            confusion[truth * DG_CLASSES + guess]++;
        }
      if (probs != NULL)
        memcpy (probs + (long) start * DG_CLASSES, chunk_probs, sizeof (float) * m * DG_CLASSES);
    }
  return n > 0 ? (double) correct / n : 0.0;
}

void
dg_train (DgModel *model, const DgDataset *data, const DgTrainConfig *config,
          DgEpochCallback callback, gpointer user_data, double *best_val_accuracy)
{
  int n_threads = dg_get_threads ();
  int B = config->batch;
  int n_extra = config->extra != NULL ? config->extra->n : 0;
  g_autofree int *order = g_new (int, data->n + n_extra);
  int n_val = held_out (config, data->n);
  int n_train = data->n - n_val;
  const int *val = NULL;
  g_autofree float *batch = g_new (float, (size_t) B * DG_IMAGE_PIXELS);
  g_autofree guint8 *labels = g_new (guint8, B);
  g_autofree guint8 *decay = decay_mask (model);
  OptimizerState state = { g_new0 (float, model->n_params), g_new0 (float, model->n_params), 0 };
  DgWorkspace *ws = dg_workspace_new (model, B);
  g_autoptr (DgModel) best = NULL;
  double best_acc = -1.0;
  long steps_per_epoch;

  dg_train_split_order (data->n, config->split_seed, order);
  /* The last n_val of the shuffled set are held out. */
  g_autofree int *val_items = g_memdup2 (order + n_train, sizeof (int) * n_val);
  val = val_items;
  if (config->max_train > 0)
    n_train = MIN (n_train, config->max_train);
  /* Items past data->n are config->extra's. */
  for (int k = 0; k < n_extra; k++)
    order[n_train + k] = data->n + k;
  n_train += n_extra;
  steps_per_epoch = (n_train + B - 1) / B;
  if (model->grads == NULL)
    model->grads = g_new0 (float, model->n_params);

  for (int epoch = 0; epoch < config->epochs; epoch++)
    {
      g_autofree int *epoch_order = g_memdup2 (order, sizeof (int) * n_train);
      DgRng epoch_rng = dg_rng_at (config->seed, 0xe90c, (uint64_t) epoch);
      gint64 start = g_get_monotonic_time ();
      double loss_sum = 0.0, lr = config->lr;
      long correct = 0, n_digits = 0;

      shuffle (epoch_order, n_train, &epoch_rng);
      for (long step = 0; step < steps_per_epoch; step++)
        {
          int first = (int) (step * B);
          int n = MIN (B, n_train - first);
          guint64 sample_seed = config->seed ^ ((guint64) (epoch + 1) << 40);

#pragma omp parallel for schedule(static) num_threads(n_threads)
          for (int j = 0; j < n; j++)
            {
              int item = epoch_order[first + j];
              float clean[DG_IMAGE_PIXELS];
              float *dst = batch + (long) j * DG_IMAGE_PIXELS;
              const guint8 *pixels = item < data->n ? data->pixels + (long) item * DG_IMAGE_PIXELS
                                                    : config->extra->pixels
                                                          + (long) (item - data->n) * DG_IMAGE_PIXELS;
              dg_pixels_to_floats (pixels, DG_IMAGE_PIXELS, config->augment ? clean : dst);
              if (config->augment)
                dg_augment_image (&config->distort, sample_seed, (guint64) item, clean, dst);
            }
          for (int j = 0; j < n; j++)
            {
              int item = epoch_order[first + j];
              labels[j] = item < data->n ? data->labels[item] : config->extra->labels[item - data->n];
            }

          const float *probs = dg_forward (model, ws, n, batch, TRUE,
                                           sample_seed ^ (guint64) step);
          loss_sum += dg_loss (model, ws, labels) * n;
          for (int j = 0; j < n; j++)
            if (labels[j] != DG_LABEL_NONE)
              {
                correct += dg_argmax (probs + (long) j * DG_CLASSES, DG_CLASSES) == labels[j];
                n_digits++;
              }
          memset (model->grads, 0, sizeof (float) * model->n_params);
          dg_backward (model, ws, labels);
          lr = learning_rate (config, epoch + (double) (step + 1) / steps_per_epoch);
          optimizer_step (model, config, &state, decay, lr);
        }
      dg_model_changed (model);

      double seconds = (g_get_monotonic_time () - start) / 1e6;
      DgEpochReport report = {
        .epoch = epoch + 1,
        .epochs = config->epochs,
        .loss = loss_sum / n_train,
        .train_accuracy = (double) correct / MAX (n_digits, 1),
        .val_accuracy = n_val > 0 ? dg_evaluate (model, data, val, n_val, 0, NULL, NULL) : 0.0,
        .images_per_s = n_train / MAX (seconds, 1e-9),
        .lr = lr,
      };
      /* Ties go to the later epoch: it has seen more data at a lower rate. */
      if (report.val_accuracy >= best_acc)
        {
          best_acc = report.val_accuracy;
          g_clear_pointer (&best, dg_model_free);
          best = dg_model_copy (model);
          report.best = TRUE;
        }
      if (callback != NULL)
        callback (&report, user_data);
    }

  if (best != NULL)
    {
      memcpy (model->params, best->params, sizeof (float) * model->n_params);
      memcpy (model->buffers, best->buffers, sizeof (float) * model->n_buffers);
      dg_model_changed (model);
    }
  if (best_val_accuracy != NULL)
    *best_val_accuracy = best_acc;
  dg_workspace_free (ws);
  g_free (state.m);
  g_free (state.v);
}
