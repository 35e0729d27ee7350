/* dg-model.c: the CNN — parse an architecture, run it forward and backward.
 *
 * Read in the order the data flows: the architecture parser, the training
 * forward/backward over a DgWorkspace, the folded inference plan used by
 * dg_model_predict, then loading and saving.  The arithmetic of each layer
 * is in dg-kernels.c.
 */
#include "dg-model.h"

#include "dg-kernels.h"
#include "dg-rng.h"
#include "dg-safetensors.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

G_DEFINE_QUARK (dg-model-error-quark, dg_model_error)

/* ------------------------------------------------------------------ */
/* Architecture                                                        */

static const char *
layer_kind_name (DgLayerKind kind)
{
  static const char names[][8] = { "conv", "bn", "relu", "pool", "dense", "dropout" };
  return names[kind];
}

/* Parses an unsigned decimal at *s, advancing; -1 if none or too large. */
static long
parse_count (const char **s)
{
  long v = 0;
  if (!g_ascii_isdigit (**s))
    return -1;
  while (g_ascii_isdigit (**s))
    {
      v = v * 10 + (**s - '0');
      if (v > 1000000)
        return -1;
      (*s)++;
    }
  return v;
}

static gboolean
parse_layer (const char *token, DgLayer *layer, GError **error)
{
  const char *s = token;
  memset (layer, 0, sizeof *layer);
  layer->w = layer->b = layer->mean = layer->var = -1;

  if (g_str_has_prefix (s, "conv"))
    {
      s += 4;
      layer->kind = DG_LAYER_CONV;
      layer->out_c = parse_count (&s);
      if (*s++ != 'k' || (layer->k = parse_count (&s)) <= 0)
        goto bad;
      layer->pad = (layer->k - 1) / 2;
      if (*s == 'v')
        {
          layer->pad = 0;
          s++;
        }
      if (*s != '\0' || layer->out_c <= 0 || layer->out_c > 4096 || layer->k % 2 == 0
          || layer->k > 15)
        goto bad;
    }
  else if (strcmp (s, "bn") == 0)
    layer->kind = DG_LAYER_BN;
  else if (strcmp (s, "relu") == 0)
    layer->kind = DG_LAYER_RELU;
  else if (strcmp (s, "pool") == 0)
    layer->kind = DG_LAYER_POOL;
  else if (g_str_has_prefix (s, "dense"))
    {
      s += 5;
      layer->kind = DG_LAYER_DENSE;
      layer->out_c = parse_count (&s);
      if (*s != '\0' || layer->out_c <= 0 || layer->out_c > 65536)
        goto bad;
    }
  else if (g_str_has_prefix (s, "dropout"))
    {
      char *end = NULL;
      layer->kind = DG_LAYER_DROPOUT;
      layer->p = (float) g_ascii_strtod (s + 7, &end);
      if (end == s + 7 || *end != '\0' || !(layer->p >= 0.0f && layer->p < 1.0f))
        goto bad;
    }
  else
    {
      g_set_error (error, DG_MODEL_ERROR, DG_MODEL_ERROR_ARCH,
                   "unknown layer “%s” (expected convNkK, bn, relu, pool, denseN or dropoutP)",
                   token);
      return FALSE;
    }
  return TRUE;

bad:
  g_set_error (error, DG_MODEL_ERROR, DG_MODEL_ERROR_ARCH, "malformed layer “%s”", token);
  return FALSE;
}

DgModel *
dg_model_new (const char *arch, GError **error)
{
  g_return_val_if_fail (arch != NULL, NULL);

  g_autoptr (DgModel) model = g_new0 (DgModel, 1);
  g_auto (GStrv) tokens = g_strsplit (arch, ",", -1);
  int c = 1, h = DG_IMAGE_SIDE, w = DG_IMAGE_SIDE;
  long n_params = 0, n_buffers = 0;

  model->arch = g_strdup (arch);
  model->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (int i = 0; tokens[i] != NULL; i++)
    {
      g_autofree char *token = g_strstrip (g_strdup (tokens[i]));
      DgLayer *layer;

      if (model->n_layers == DG_MAX_LAYERS)
        {
          g_set_error (error, DG_MODEL_ERROR, DG_MODEL_ERROR_ARCH,
                       "architecture has more than %d layers", DG_MAX_LAYERS);
          return NULL;
        }
      layer = &model->layers[model->n_layers];
      if (!parse_layer (token, layer, error))
        return NULL;
      layer->in_c = c, layer->in_h = h, layer->in_w = w;

      switch (layer->kind)
        {
        case DG_LAYER_CONV:
          if (h + 2 * layer->pad < layer->k || w + 2 * layer->pad < layer->k)
            {
              g_set_error (error, DG_MODEL_ERROR, DG_MODEL_ERROR_ARCH,
                           "layer %d (%s): a %dx%d kernel does not fit a %dx%d input", i, token,
                           layer->k, layer->k, h, w);
              return NULL;
            }
          h = h + 2 * layer->pad - layer->k + 1;
          w = w + 2 * layer->pad - layer->k + 1;
          layer->n_w = (long) layer->out_c * c * layer->k * layer->k;
          layer->n_b = layer->out_c;
          c = layer->out_c;
          break;
        case DG_LAYER_DENSE:
          layer->n_w = (long) layer->out_c * c * h * w;
          layer->n_b = layer->out_c;
          c = layer->out_c, h = 1, w = 1;
          break;
        case DG_LAYER_BN:
          if (model->n_layers == 0
              || (layer[-1].kind != DG_LAYER_CONV && layer[-1].kind != DG_LAYER_DENSE))
            {
              g_set_error (error, DG_MODEL_ERROR, DG_MODEL_ERROR_ARCH,
                           "layer %d: bn must follow a conv or dense layer", i);
              return NULL;
            }
          layer->n_w = layer->n_b = c;
          layer->mean = n_buffers;
          layer->var = n_buffers + c;
          n_buffers += 2L * c;
          break;
        case DG_LAYER_POOL:
          if (h < 2 || w < 2)
            {
              g_set_error (error, DG_MODEL_ERROR, DG_MODEL_ERROR_ARCH,
                           "layer %d: cannot pool a %dx%d input", i, h, w);
              return NULL;
            }
          h /= 2, w /= 2;
          break;
        case DG_LAYER_RELU:
        case DG_LAYER_DROPOUT:
        default:
          break;
        }
      if (layer->n_w > 0)
        {
          layer->w = n_params;
          layer->b = n_params + layer->n_w;
          n_params += layer->n_w + layer->n_b;
        }
      if (n_params > 64L * 1024 * 1024)
        {
          g_set_error (error, DG_MODEL_ERROR, DG_MODEL_ERROR_ARCH,
                       "architecture has over 64 million parameters");
          return NULL;
        }
      layer->out_c = c, layer->out_h = h, layer->out_w = w;
      model->n_layers++;
    }

  if (model->n_layers == 0 || model->layers[model->n_layers - 1].kind != DG_LAYER_DENSE
      || c != DG_CLASSES)
    {
      g_set_error (error, DG_MODEL_ERROR, DG_MODEL_ERROR_ARCH,
                   "architecture “%s” must end with dense%d", arch, DG_CLASSES);
      return NULL;
    }

  model->n_params = n_params;
  model->n_buffers = n_buffers;
  model->params = g_new0 (float, n_params);
  model->buffers = g_new0 (float, MAX (n_buffers, 1));
  for (int i = 0; i < model->n_layers; i++)
    if (model->layers[i].kind == DG_LAYER_BN)
      for (int j = 0; j < model->layers[i].out_c; j++)
        model->buffers[model->layers[i].var + j] = 1.0f;
  return g_steal_pointer (&model);
}

static void dg_plan_free (DgPlan *plan);

void
dg_model_free (DgModel *model)
{
  if (model == NULL)
    return;
  g_free (model->arch);
  g_free (model->params);
  g_free (model->grads);
  g_free (model->buffers);
  g_clear_pointer (&model->metadata, g_hash_table_unref);
  g_clear_pointer (&model->plan, dg_plan_free);
  g_free (model);
}

DgModel *
dg_model_copy (const DgModel *model)
{
  DgModel *copy = dg_model_new (model->arch, NULL);
  GHashTableIter iter;
  gpointer key, value;

  g_assert (copy != NULL);
  memcpy (copy->params, model->params, sizeof (float) * model->n_params);
  memcpy (copy->buffers, model->buffers, sizeof (float) * model->n_buffers);
  g_hash_table_iter_init (&iter, model->metadata);
  while (g_hash_table_iter_next (&iter, &key, &value))
    dg_model_set_metadata (copy, key, value);
  return copy;
}

void
dg_model_init (DgModel *model, guint64 seed)
{
  g_return_if_fail (model != NULL);

  for (int i = 0; i < model->n_layers; i++)
    {
      const DgLayer *layer = &model->layers[i];
      float *w = model->params + layer->w;
      float *b = model->params + layer->b;

      if (layer->kind == DG_LAYER_CONV || layer->kind == DG_LAYER_DENSE)
        {
          /* He et al. 2015: keeps the variance of ReLU activations constant. */
          long fan_in = layer->n_w / layer->out_c;
          double std = sqrt (2.0 / (double) fan_in);
          DgRng rng = dg_rng_at (seed, (uint64_t) i, 0);
          for (long j = 0; j < layer->n_w; j++)
            w[j] = (float) (std * dg_rng_normal (&rng));
          memset (b, 0, sizeof (float) * layer->n_b);
        }
      else if (layer->kind == DG_LAYER_BN)
        {
          for (int j = 0; j < layer->out_c; j++)
            {
              w[j] = 1.0f, b[j] = 0.0f;
              model->buffers[layer->mean + j] = 0.0f;
              model->buffers[layer->var + j] = 1.0f;
            }
        }
    }
  dg_model_changed (model);
}

void
dg_model_set_metadata (DgModel *model, const char *key, const char *value)
{
  g_hash_table_replace (model->metadata, g_strdup (key), g_strdup (value));
}

const char *
dg_model_get_metadata (const DgModel *model, const char *key)
{
  return g_hash_table_lookup (model->metadata, key);
}

long
dg_model_param_count (const DgModel *model)
{
  return model->n_params;
}

int
dg_argmax (const float *values, int n)
{
  int best = 0;
  for (int i = 1; i < n; i++)
    if (values[i] > values[best])
      best = i;
  return best;
}

/* Dropout keeps a value with probability 1 - p, scaled by 1 / (1 - p); the
 * decision for element j is a pure function of the seed, so the backward
 * pass recomputes it instead of storing a mask. */
static inline float
dropout_scale (guint64 seed, int layer, long j, float p)
{
  DgRng rng = dg_rng_at (seed, (uint64_t) layer, (uint64_t) j);
  return dg_rng_uniform (&rng) < p ? 0.0f : 1.0f / (1.0f - p);
}

/* ------------------------------------------------------------------ */
/* Training forward and backward                                       */

struct _DgWorkspace
{
  int batch;         /* capacity, images */
  int n;             /* images in the last forward */
  gboolean training; /* mode of the last forward */
  guint64 dropout_seed;
  /* act[0] the input (1, n, 784); act[i + 1] the output of layer i (C, n, H*W) */
  float *act[DG_MAX_LAYERS + 1];
  float *grad[DG_MAX_LAYERS + 1];  /* d loss / d act[i], same shapes */
  guint8 *pool_arg[DG_MAX_LAYERS]; /* pool: winner of each window */
  float *bn_mean[DG_MAX_LAYERS];   /* bn: batch mean (C) */
  float *bn_invstd[DG_MAX_LAYERS]; /* bn: 1 / sqrt (batch var + eps) (C) */
  float *probs;                    /* (n, 10) */
};

static long
layer_out_size (const DgLayer *layer)
{
  return (long) layer->out_c * layer->out_h * layer->out_w;
}

DgWorkspace *
dg_workspace_new (const DgModel *model, int batch)
{
  DgWorkspace *ws = g_new0 (DgWorkspace, 1);

  ws->batch = batch;
  ws->act[0] = g_new (float, (size_t) batch *DG_IMAGE_PIXELS);
  ws->grad[0] = g_new (float, (size_t) batch *DG_IMAGE_PIXELS);
  for (int i = 0; i < model->n_layers; i++)
    {
      const DgLayer *layer = &model->layers[i];
      size_t n = (size_t) batch * layer_out_size (layer);
      ws->act[i + 1] = g_new (float, n);
      ws->grad[i + 1] = g_new (float, n);
      if (layer->kind == DG_LAYER_POOL)
        ws->pool_arg[i] = g_new (guint8, n);
      if (layer->kind == DG_LAYER_BN)
        {
          ws->bn_mean[i] = g_new (float, layer->out_c);
          ws->bn_invstd[i] = g_new (float, layer->out_c);
        }
    }
  ws->probs = g_new (float, (size_t) batch *DG_CLASSES);
  return ws;
}

void
dg_workspace_free (DgWorkspace *ws)
{
  if (ws == NULL)
    return;
  for (int i = 0; i <= DG_MAX_LAYERS; i++)
    {
      g_free (ws->act[i]);
      g_free (ws->grad[i]);
    }
  for (int i = 0; i < DG_MAX_LAYERS; i++)
    {
      g_free (ws->pool_arg[i]);
      g_free (ws->bn_mean[i]);
      g_free (ws->bn_invstd[i]);
    }
  g_free (ws->probs);
  g_free (ws);
}

/* Batch norm's sums run over B x H x W values a channel: in float across
 * blocks of 256 values, eight lanes and two accumulators at a time (a
 * chain of dependent additions is four cycles a step), and in double
 * across the blocks, so a sum of a hundred thousand values loses no more
 * than a few float roundings.  The order is fixed, so a seed still gives
 * the same model. */
typedef float v8f __attribute__ ((vector_size (32), aligned (4)));

#define SUM_BLOCK 256

static inline double
lanes_sum (v8f a)
{
  double s = 0.0;
  for (int l = 0; l < 8; l++)
    s += a[l];
  return s;
}

/* Sum of a[j], and of a[j] (x[j] - mean) into *sum_a_x: with a = x, the
 * statistics of a channel; with a = dy, those of its gradient. */
static double
channel_sums (const float *a, const float *x, long n, float mean, double *sum_a_x)
{
  double sum = 0.0, sum_x = 0.0;
  long j = 0;

  while (j + 16 <= n)
    {
      v8f acc0 = { 0 }, acc1 = { 0 }, px0 = { 0 }, px1 = { 0 };
      long end = MIN (n, j + SUM_BLOCK);
      for (; j + 16 <= end; j += 16)
        {
          v8f u = *(const v8f *) (a + j), v = *(const v8f *) (a + j + 8);
          acc0 += u;
          acc1 += v;
          px0 += u * (*(const v8f *) (x + j) - mean);
          px1 += v * (*(const v8f *) (x + j + 8) - mean);
        }
      sum += lanes_sum (acc0 + acc1);
      sum_x += lanes_sum (px0 + px1);
    }
  for (; j < n; j++)
    {
      sum += a[j];
      sum_x += (double) a[j] * ((double) x[j] - mean);
    }
  *sum_a_x = sum_x;
  return sum;
}

/* Batch norm of layer i.  With @relu (the next layer is a ReLU, and this
 * is training), the ReLU is applied in the same pass and its output is
 * written in place of the batch norm's (see dg_forward). */
static void
bn_forward (DgModel *model, const DgLayer *layer, DgWorkspace *ws, int i, int B, gboolean training,
            gboolean relu)
{
  long S = (long) layer->out_h * layer->out_w;
  long count = B * S;
  const float *gamma = model->params + layer->w;
  const float *beta = model->params + layer->b;
  float *running_mean = model->buffers + layer->mean;
  float *running_var = model->buffers + layer->var;
  int n_threads = dg_get_threads ();

#pragma omp parallel for schedule(static) num_threads(n_threads)
  for (int c = 0; c < layer->out_c; c++)
    {
      const float *x = ws->act[i] + c * count;
      float *y = ws->act[i + 1 + relu] + c * count;
      float mean, invstd;

      if (training)
        {
          /* One pass, about a shift k that is one of the values (so the
           * sums stay small, in double):  sum (x - k)^2 = sum x (x - k) -
           * k sum (x - k), and sum (x - mean)^2 = sum (x - k)^2 - n (mean - k)^2. */
          float k = x[0];
          double sum_x_dev;
          double sum = channel_sums (x, x, count, k, &sum_x_dev);
          double d = sum / count - k;
          double sum_sq = MAX (sum_x_dev - k * (sum - (double) count * k) - count * d * d, 0.0);
          mean = (float) (sum / count);
          double var = sum_sq / count;
          invstd = (float) (1.0 / sqrt (var + BN_EPS));
          /* PyTorch keeps the unbiased variance as the running estimate. */
          running_mean[c] = (1 - BN_MOMENTUM) * running_mean[c] + BN_MOMENTUM * mean;
          running_var[c] = (1 - BN_MOMENTUM) * running_var[c]
                           + BN_MOMENTUM * (float) (count > 1 ? sum_sq / (count - 1) : var);
        }
      else
        {
          mean = running_mean[c];
          invstd = 1.0f / sqrtf (running_var[c] + BN_EPS);
        }
      ws->bn_mean[i][c] = mean;
      ws->bn_invstd[i][c] = invstd;
      float scale = gamma[c] * invstd, shift = beta[c] - mean * scale;
      if (relu)
        for (long j = 0; j < count; j++)
          y[j] = MAX (x[j] * scale + shift, 0.0f);
      else
        for (long j = 0; j < count; j++)
          y[j] = x[j] * scale + shift;
    }
}

const float *
dg_forward (DgModel *model, DgWorkspace *ws, int n, const float *images, gboolean training,
            guint64 dropout_seed)
{
  g_return_val_if_fail (n > 0 && n <= ws->batch, NULL);

  ws->n = n;
  ws->training = training;
  ws->dropout_seed = dropout_seed;
  /* (n, 28, 28) is already (1, n, 784), the channel-major layout. */
  memcpy (ws->act[0], images, sizeof (float) * n * DG_IMAGE_PIXELS);

  for (int i = 0; i < model->n_layers; i++)
    {
      const DgLayer *L = &model->layers[i];
      const float *in = ws->act[i];
      float *out = ws->act[i + 1];
      long in_size = (long) n * L->in_c * L->in_h * L->in_w;
      /* In training, a ReLU after a convolution, dense layer or batch norm
       * is done in the same pass, its output written in place of theirs
       * (which nothing then reads): one pass over memory fewer.  (The
       * ReLU's backward reads its own output.) */
      gboolean relu = training && i + 1 < model->n_layers
                      && model->layers[i + 1].kind == DG_LAYER_RELU
                      && (L->kind == DG_LAYER_CONV || L->kind == DG_LAYER_DENSE
                          || L->kind == DG_LAYER_BN);

      switch (L->kind)
        {
        case DG_LAYER_CONV:
          dg_conv_forward (in, L->in_c, n, L->in_h, L->in_w, L->k, L->pad, L->out_h, L->out_w,
                           model->params + L->w, NULL, model->params + L->b, L->out_c, relu,
                           ws->act[i + 1 + relu]);
          break;
        case DG_LAYER_DENSE:
          dg_dense_forward (in, L->in_c, n, L->in_h * L->in_w, model->params + L->w,
                            model->params + L->b, L->out_c, relu, ws->act[i + 1 + relu]);
          break;
        case DG_LAYER_BN:
          bn_forward (model, L, ws, i, n, training, relu);
          break;
        case DG_LAYER_RELU:
#pragma omp parallel for schedule(static) num_threads(dg_get_threads())
          for (long j = 0; j < in_size; j++)
            out[j] = in[j] > 0.0f ? in[j] : 0.0f;
          break;
        case DG_LAYER_POOL:
          dg_pool_forward (in, (long) L->in_c * n, L->in_h, L->in_w, out, ws->pool_arg[i]);
          break;
        case DG_LAYER_DROPOUT:
          if (training && L->p > 0.0f)
#pragma omp parallel for schedule(static) num_threads(dg_get_threads())
            for (long j = 0; j < in_size; j++)
              out[j] = in[j] * dropout_scale (dropout_seed, i, j, L->p);
          else
            memcpy (out, in, sizeof (float) * in_size);
          break;
        default:
          g_assert_not_reached ();
        }
      i += relu; /* the ReLU is done */
    }
  dg_softmax_columns (ws->act[model->n_layers], DG_CLASSES, n, ws->probs);
  return ws->probs;
}

const float *
dg_workspace_logits (DgWorkspace *ws)
{
  for (int i = DG_MAX_LAYERS; i > 0; i--)
    if (ws->act[i] != NULL)
      return ws->act[i];
  return NULL;
}

double
dg_loss (DgModel *model, DgWorkspace *ws, const guint8 *labels)
{
  double loss = 0.0;
  for (int b = 0; b < ws->n; b++)
    {
      const float *p = ws->probs + (long) b * DG_CLASSES;
      if (labels[b] != DG_LABEL_NONE)
        loss -= log (fmax (p[labels[b]], 1e-30));
      else
        for (int j = 0; j < DG_CLASSES; j++)
          loss -= log (fmax (p[j], 1e-30)) / DG_CLASSES;
    }
  return loss / ws->n;
}

static void
bn_backward (DgModel *model, const DgLayer *layer, DgWorkspace *ws, int i, int B)
{
  long S = (long) layer->out_h * layer->out_w;
  long count = B * S;
  const float *gamma = model->params + layer->w;
  float *d_gamma = model->grads + layer->w;
  float *d_beta = model->grads + layer->b;
  int n_threads = dg_get_threads ();

#pragma omp parallel for schedule(static) num_threads(n_threads)
  for (int c = 0; c < layer->out_c; c++)
    {
      const float *x = ws->act[i] + c * count;
      const float *dy = ws->grad[i + 1] + c * count;
      float *dx = ws->grad[i] + c * count;
      float mean = ws->bn_mean[i][c], invstd = ws->bn_invstd[i][c];
      double sum_dy_x;
      double sum_dy = channel_sums (dy, x, count, mean, &sum_dy_x);
      double sum_dy_xhat = sum_dy_x * invstd;
      d_gamma[c] += (float) sum_dy_xhat;
      d_beta[c] += (float) sum_dy;
      /* dx = gamma * invstd * (dy - mean (dy) - xhat * mean (dy * xhat)) */
      float k = gamma[c] * invstd;
      float m_dy = (float) (sum_dy / count), m_dyx = (float) (sum_dy_xhat / count);
      for (long j = 0; j < count; j++)
        dx[j] = k * (dy[j] - m_dy - (x[j] - mean) * invstd * m_dyx);
    }
}

void
dg_backward (DgModel *model, DgWorkspace *ws, const guint8 *labels)
{
  int B = ws->n;
  int last = model->n_layers;

  if (model->grads == NULL)
    model->grads = g_new0 (float, model->n_params);

  /* Softmax + mean cross-entropy: d loss / d logit = (p - target) / B, the
   * target one-hot, or uniform for DG_LABEL_NONE. */
  for (int b = 0; b < B; b++)
    for (int j = 0; j < DG_CLASSES; j++)
      {
        float target = labels[b] == DG_LABEL_NONE ? 1.0f / DG_CLASSES : j == labels[b] ? 1.0f : 0.0f;
        ws->grad[last][(long) j * B + b] = (ws->probs[(long) b * DG_CLASSES + j] - target) / B;
      }

  for (int i = model->n_layers - 1; i >= 0; i--)
    {
      const DgLayer *L = &model->layers[i];
      const float *in = ws->act[i];
      const float *d_out = ws->grad[i + 1];
      float *d_in = ws->grad[i];
      long in_size = (long) B * L->in_c * L->in_h * L->in_w;
      gboolean need_d_in = i > 0; /* nobody wants the gradient of the image */

      switch (L->kind)
        {
        case DG_LAYER_CONV:
          dg_conv_backward_weights (in, L->in_c, B, L->in_h, L->in_w, L->k, L->pad, L->out_h,
                                    L->out_w, d_out, L->out_c, model->grads + L->w,
                                    model->grads + L->b);
          if (need_d_in)
            dg_conv_backward_input (d_out, L->out_c, B, L->out_h, L->out_w, L->k, L->pad,
                                    model->params + L->w, L->in_c, L->in_h, L->in_w, d_in);
          break;
        case DG_LAYER_DENSE:
          dg_dense_backward (in, L->in_c, B, L->in_h * L->in_w, model->params + L->w, L->out_c,
                             d_out, model->grads + L->w, model->grads + L->b,
                             need_d_in ? d_in : NULL);
          break;
        case DG_LAYER_BN:
          bn_backward (model, L, ws, i, B);
          break;
        case DG_LAYER_RELU:
          {
            /* Where the output is positive, so was the input; the output
             * is there even when bn_forward did this layer's work. */
            const float *out = ws->act[i + 1];
#pragma omp parallel for schedule(static) num_threads(dg_get_threads())
            for (long j = 0; j < in_size; j++)
              d_in[j] = out[j] > 0.0f ? d_out[j] : 0.0f;
          }
          break;
        case DG_LAYER_POOL:
          {
            long planes = (long) L->in_c * B;
            int H = L->in_h, W = L->in_w, OH = L->out_h, OW = L->out_w;
            const guint8 *arg = ws->pool_arg[i];
            /* Each window's four places are written, the winner's with the
             * gradient; an odd last row or column is in no window. */
            if (H % 2 != 0 || W % 2 != 0)
              memset (d_in, 0, sizeof (float) * in_size);
#pragma omp parallel for schedule(static) num_threads(dg_get_threads())
            for (long p = 0; p < planes; p++)
              for (int y = 0; y < OH; y++)
                {
                  float *top = d_in + p * H * W + 2 * y * W, *bottom = top + W;
                  for (int x = 0; x < OW; x++)
                    {
                      long o = (p * OH + y) * OW + x;
                      int a = arg[o];
                      float g = d_out[o];
                      top[2 * x] = a == 0 ? g : 0.0f;
                      top[2 * x + 1] = a == 1 ? g : 0.0f;
                      bottom[2 * x] = a == 2 ? g : 0.0f;
                      bottom[2 * x + 1] = a == 3 ? g : 0.0f;
                    }
                }
          }
          break;
        case DG_LAYER_DROPOUT:
          if (ws->training && L->p > 0.0f)
#pragma omp parallel for schedule(static) num_threads(dg_get_threads())
            for (long j = 0; j < in_size; j++)
              d_in[j] = d_out[j] * dropout_scale (ws->dropout_seed, i, j, L->p);
          else
            memcpy (d_in, d_out, sizeof (float) * in_size);
          break;
        default:
          g_assert_not_reached ();
        }
    }
}

/* ------------------------------------------------------------------ */
/* Folded inference plan                                               */

typedef struct
{
  DgLayerKind kind; /* conv, dense, pool or relu */
  int in_c, in_h, in_w;
  int out_c, out_h, out_w;
  int k, pad;
  gboolean relu;  /* a ReLU fused after the conv or dense */
  float *w, *b;   /* owned; batch norm already folded in */
  float *kernels; /* conv: Winograd-transformed w (36, out_c, in_c), or NULL */
  float *pixel_w; /* the weights for one pixel-major image (dg_pixels_weights;
                   * a dense layer's columns in (h, w, c) order), or NULL */
} DgPlanLayer;

struct _DgPlan
{
  int n_layers;
  DgPlanLayer layers[DG_MAX_LAYERS];
  long max_size;     /* largest activation of one image, floats */
  gboolean pixels;   /* one image goes through the pixel-major kernels */
  size_t pixel_work; /* their convolutions' shared scratch, floats */
  int pixel_dense;   /* and the most outputs of a dense layer, summed by thread */
};

static void
dg_plan_free (DgPlan *plan)
{
  for (int i = 0; i < plan->n_layers; i++)
    {
      g_free (plan->layers[i].w);
      g_free (plan->layers[i].b);
      g_free (plan->layers[i].kernels);
      g_aligned_free (plan->layers[i].pixel_w);
    }
  g_free (plan);
}

/* One image goes pixel-major when every convolution's output channels
 * fill whole vectors (16 floats); the weights are rearranged for it once. */
static void
plan_pixels (DgPlan *plan)
{
  for (int i = 0; i < plan->n_layers; i++)
    if (plan->layers[i].kind == DG_LAYER_CONV && plan->layers[i].out_c % 16 != 0)
      return;
  plan->pixels = TRUE;
  for (int i = 0; i < plan->n_layers; i++)
    {
      DgPlanLayer *P = &plan->layers[i];
      size_t work = 0;
      if (P->kind == DG_LAYER_CONV)
        {
          P->pixel_w = g_aligned_alloc (
              dg_pixels_weights_floats (P->k, P->in_c, P->out_h, P->out_w, P->out_c),
              sizeof (float), 64);
          dg_pixels_weights (P->w, P->out_c, P->in_c, P->k, P->out_h, P->out_w, P->pixel_w);
          work = dg_pixels_conv_floats (P->k, P->in_c, P->out_h, P->out_w, P->out_c);
        }
      else if (P->kind == DG_LAYER_DENSE && P->in_c > 1 && P->in_h * P->in_w > 1)
        {
          /* (O, C, S) to (O, S, C) */
          long S = (long) P->in_h * P->in_w, K = P->in_c * S;
          P->pixel_w = g_aligned_alloc ((size_t) P->out_c * K, sizeof (float), 64);
          for (int o = 0; o < P->out_c; o++)
            for (int c = 0; c < P->in_c; c++)
              for (long s = 0; s < S; s++)
                P->pixel_w[o * K + s * P->in_c + c] = P->w[o * K + c * S + s];
        }
      if (P->kind == DG_LAYER_DENSE)
        plan->pixel_dense = MAX (plan->pixel_dense, P->out_c);
      plan->pixel_work = MAX (plan->pixel_work, work);
    }
}

static DgPlan *
dg_plan_new (const DgModel *model)
{
  DgPlan *plan = g_new0 (DgPlan, 1);

  plan->max_size = DG_IMAGE_PIXELS;
  for (int i = 0; i < model->n_layers; i++)
    {
      const DgLayer *L = &model->layers[i];
      DgPlanLayer *P = &plan->layers[plan->n_layers];

      plan->max_size = MAX (plan->max_size, layer_out_size (L));
      if (L->kind == DG_LAYER_DROPOUT)
        continue;
      if (L->kind == DG_LAYER_RELU && plan->n_layers > 0 && !P[-1].relu
          && (P[-1].kind == DG_LAYER_CONV || P[-1].kind == DG_LAYER_DENSE))
        {
          P[-1].relu = TRUE;
          continue;
        }
      if (L->kind == DG_LAYER_BN)
        {
          /* bn (conv (x)) = conv (x) * scale + shift, per output channel. */
          const float *gamma = model->params + L->w, *beta = model->params + L->b;
          const float *mean = model->buffers + L->mean, *var = model->buffers + L->var;
          DgPlanLayer *prev = &P[-1];
          long per_channel = (long) prev->in_c * prev->in_h * prev->in_w;
          if (prev->kind == DG_LAYER_CONV)
            per_channel = (long) prev->in_c * prev->k * prev->k;
          for (int c = 0; c < L->out_c; c++)
            {
              float scale = gamma[c] / sqrtf (var[c] + BN_EPS);
              for (long j = 0; j < per_channel; j++)
                prev->w[c * per_channel + j] *= scale;
              prev->b[c] = (prev->b[c] - mean[c]) * scale + beta[c];
            }
          continue;
        }

      *P = (DgPlanLayer){ .kind = L->kind,
                          .in_c = L->in_c,
                          .in_h = L->in_h,
                          .in_w = L->in_w,
                          .out_c = L->out_c,
                          .out_h = L->out_h,
                          .out_w = L->out_w,
                          .k = L->k,
                          .pad = L->pad };
      if (L->w >= 0)
        {
          P->w = g_memdup2 (model->params + L->w, sizeof (float) * L->n_w);
          P->b = g_memdup2 (model->params + L->b, sizeof (float) * L->n_b);
        }
      plan->n_layers++;
    }

  /* Transform the (folded) kernels once, not on every prediction. */
  for (int i = 0; i < plan->n_layers; i++)
    {
      DgPlanLayer *P = &plan->layers[i];
      if (P->kind == DG_LAYER_CONV && dg_use_winograd (P->k, P->in_c))
        {
          P->kernels = g_new (float, (size_t) DG_WINOGRAD_POSITIONS * P->out_c * P->in_c);
          dg_winograd_kernels (P->w, P->out_c, P->in_c, P->kernels);
        }
    }
  plan_pixels (plan);
  return plan;
}

static GMutex plan_lock;

void
dg_model_changed (DgModel *model)
{
  g_mutex_lock (&plan_lock);
  g_clear_pointer (&model->plan, dg_plan_free);
  g_mutex_unlock (&plan_lock);
}

void
dg_model_prepare (DgModel *model)
{
  g_mutex_lock (&plan_lock);
  if (model->plan == NULL)
    model->plan = dg_plan_new (model);
  g_mutex_unlock (&plan_lock);
}

/* Largest batch run through the plan at once: bounds the scratch memory. */
#define PREDICT_CHUNK 256

/* One image through the plan, pixel-major, in one parallel region: its
 * layers are too small to be worth starting the threads for each. */
static void
predict_pixels (const DgPlan *plan, const float *image, float *probs)
{
  int n_threads = dg_get_threads ();
  long size = (plan->max_size + 15) & ~15L; /* each buffer on a cache line */
  /* The thread count may have changed since the plan was made. */
  size_t work_size = MAX (plan->pixel_work, (size_t) n_threads * plan->pixel_dense);
  float *buffer = dg_scratch (2, (size_t) 2 * size + work_size);
  float *act[2] = { buffer, buffer + size }, *work = buffer + 2 * size;

#pragma omp parallel num_threads(n_threads)
  {
    int id = omp_get_thread_num (), n = omp_get_num_threads ();
    const float *in = image;

    for (int i = 0; i < plan->n_layers; i++)
      {
        const DgPlanLayer *P = &plan->layers[i];
        float *out = act[i % 2];
        switch (P->kind)
          {
          case DG_LAYER_CONV:
            dg_pixels_conv (in, P->in_c, P->in_h, P->in_w, P->k, P->pad, P->out_h, P->out_w,
                            P->pixel_w, P->b, P->out_c, P->relu, work, out, id, n);
            break;
          case DG_LAYER_DENSE:
            dg_pixels_dense (in, P->in_c * P->in_h * P->in_w, P->pixel_w ? P->pixel_w : P->w,
                             P->b, P->out_c, P->relu, work, out, id, n);
            break;
          case DG_LAYER_POOL:
            dg_pixels_pool (in, P->in_c, P->in_h, P->in_w, out, id, n);
            break;
          case DG_LAYER_RELU:
            dg_pixels_relu (in, (long) P->in_c * P->in_h * P->in_w, out, id, n);
            break;
          default:
            g_assert_not_reached ();
          }
#pragma omp barrier
        in = out;
      }
  }
  /* Layer i wrote act[i % 2]. */
  dg_softmax_columns (plan->n_layers > 0 ? act[(plan->n_layers - 1) % 2] : image, DG_CLASSES, 1,
                      probs);
}

void
dg_model_predict (DgModel *model, int n, const float *images, float *probs)
{
  g_return_if_fail (model != NULL && n >= 0);

  dg_model_prepare (model);
  const DgPlan *plan = model->plan;

  if (n == 1 && plan->pixels)
    {
      predict_pixels (plan, images, probs);
      return;
    }
  for (int start = 0; start < n; start += PREDICT_CHUNK)
    {
      int B = MIN (PREDICT_CHUNK, n - start);
      /* Two ping-pong buffers from thread scratch slot 2: the kernels use
       * slots 0 and 1 for themselves. */
      float *buffer = dg_scratch (2, (size_t) 2 * B * plan->max_size);
      float *act[2] = { buffer, buffer + (size_t) B * plan->max_size };
      const float *in = images + (long) start * DG_IMAGE_PIXELS;
      int cur = 0;

      for (int i = 0; i < plan->n_layers; i++)
        {
          const DgPlanLayer *P = &plan->layers[i];
          float *out = act[cur];
          switch (P->kind)
            {
            case DG_LAYER_CONV:
              dg_conv_forward (in, P->in_c, B, P->in_h, P->in_w, P->k, P->pad, P->out_h, P->out_w,
                               P->w, P->kernels, P->b, P->out_c, P->relu, out);
              break;
            case DG_LAYER_DENSE:
              dg_dense_forward (in, P->in_c, B, P->in_h * P->in_w, P->w, P->b, P->out_c, P->relu,
                                out);
              break;
            case DG_LAYER_POOL:
              dg_pool_forward (in, (long) P->in_c * B, P->in_h, P->in_w, out, NULL);
              break;
            case DG_LAYER_RELU:
              {
                long size = (long) B * P->in_c * P->in_h * P->in_w;
                for (long j = 0; j < size; j++)
                  out[j] = in[j] > 0.0f ? in[j] : 0.0f;
              }
              break;
            default:
              g_assert_not_reached ();
            }
          in = out;
          cur ^= 1;
        }
      dg_softmax_columns (in, DG_CLASSES, B, probs + (long) start * DG_CLASSES);
    }
}

GPtrArray *
dg_model_activations (DgModel *model, const float *image)
{
  DgWorkspace *ws = dg_workspace_new (model, 1);
  GPtrArray *result = g_ptr_array_new_with_free_func ((GDestroyNotify) dg_activation_free);

  dg_forward (model, ws, 1, image, FALSE, 0);
  for (int i = 0; i < model->n_layers; i++)
    {
      const DgLayer *L = &model->layers[i];
      DgActivation *a = g_new0 (DgActivation, 1);
      a->layer = i;
      a->kind = L->kind;
      a->c = L->out_c, a->h = L->out_h, a->w = L->out_w;
      a->data = g_memdup2 (ws->act[i + 1], sizeof (float) * layer_out_size (L));
      g_ptr_array_add (result, a);
    }
  dg_workspace_free (ws);
  return result;
}

void
dg_activation_free (DgActivation *activation)
{
  if (activation == NULL)
    return;
  g_free (activation->data);
  g_free (activation);
}

/* ------------------------------------------------------------------ */
/* Weights files                                                       */

typedef struct
{
  const char *suffix;
  gboolean in_buffers; /* running statistics rather than parameters */
  gboolean is_bias;    /* the b / var half of the layer */
} TensorRole;

/* The tensors a layer owns, in file order. */
static int
layer_tensors (const DgLayer *L, TensorRole roles[4])
{
  switch (L->kind)
    {
    case DG_LAYER_CONV:
    case DG_LAYER_DENSE:
      roles[0] = (TensorRole){ "weight", FALSE, FALSE };
      roles[1] = (TensorRole){ "bias", FALSE, TRUE };
      return 2;
    case DG_LAYER_BN:
      roles[0] = (TensorRole){ "weight", FALSE, FALSE };
      roles[1] = (TensorRole){ "bias", FALSE, TRUE };
      roles[2] = (TensorRole){ "running_mean", TRUE, FALSE };
      roles[3] = (TensorRole){ "running_var", TRUE, TRUE };
      return 4;
    default:
      return 0;
    }
}

/* Where a tensor lives in the model, and its expected shape. */
static float *
tensor_slot (DgModel *model, const DgLayer *L, const TensorRole *role, int *rank, int64_t shape[4],
             long *count)
{
  if (role->in_buffers)
    {
      *rank = 1, shape[0] = L->out_c, *count = L->out_c;
      return model->buffers + (role->is_bias ? L->var : L->mean);
    }
  if (role->is_bias)
    {
      *rank = 1, shape[0] = L->out_c, *count = L->n_b;
      return model->params + L->b;
    }
  *count = L->n_w;
  if (L->kind == DG_LAYER_CONV)
    *rank = 4, shape[0] = L->out_c, shape[1] = L->in_c, shape[2] = shape[3] = L->k;
  else if (L->kind == DG_LAYER_DENSE)
    *rank = 2, shape[0] = L->out_c, shape[1] = (int64_t) L->in_c * L->in_h * L->in_w;
  else
    *rank = 1, shape[0] = L->out_c;
  return model->params + L->w;
}

static char *
shape_string (int rank, const int64_t *shape)
{
  GString *s = g_string_new ("(");
  for (int i = 0; i < rank; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append_c (s, ')');
  return g_string_free (s, FALSE);
}

static DgModel *
model_from_tensor_file (DgTensorFile *file, GError **error)
{
  const char *arch = dg_tensor_file_get_metadata (file, "arch");
  g_autoptr (GHashTable) used = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (DgModel) model = NULL;
  GError *arch_error = NULL;
  GHashTableIter iter;
  gpointer key, value;

  if (arch == NULL)
    {
      g_set_error (error, DG_MODEL_ERROR, DG_MODEL_ERROR_WEIGHTS,
                   "weights file has no architecture (__metadata__ key “arch”)");
      return NULL;
    }
  model = dg_model_new (arch, &arch_error);
  if (model == NULL)
    {
      g_set_error (error, DG_MODEL_ERROR, DG_MODEL_ERROR_ARCH, "weights file architecture: %s",
                   arch_error->message);
      g_error_free (arch_error);
      return NULL;
    }

  for (int i = 0; i < model->n_layers; i++)
    {
      const DgLayer *L = &model->layers[i];
      TensorRole roles[4];
      int n_roles = layer_tensors (L, roles);

      for (int r = 0; r < n_roles; r++)
        {
          g_autofree char *name = g_strdup_printf ("layers.%d.%s", i, roles[r].suffix);
          const DgTensor *t = dg_tensor_file_lookup (file, name);
          int64_t shape[4];
          int rank;
          long count;
          float *slot = tensor_slot (model, L, &roles[r], &rank, shape, &count);

          if (t == NULL)
            {
              g_set_error (error, DG_MODEL_ERROR, DG_MODEL_ERROR_WEIGHTS,
                           "weights file lacks tensor %s (layer %d, %s)", name, i,
                           layer_kind_name (L->kind));
              return NULL;
            }
          if (t->rank != rank || memcmp (t->shape, shape, sizeof (int64_t) * rank) != 0)
            {
              g_autofree char *want = shape_string (rank, shape);
              g_autofree char *have = shape_string (t->rank, t->shape);
              g_set_error (error, DG_MODEL_ERROR, DG_MODEL_ERROR_WEIGHTS,
                           "tensor %s has shape %s, the architecture needs %s", name, have, want);
              return NULL;
            }
          for (long j = 0; j < count; j++)
            if (!isfinite (t->data[j])
                || (roles[r].in_buffers && roles[r].is_bias && t->data[j] < 0))
              {
                g_set_error (error, DG_MODEL_ERROR, DG_MODEL_ERROR_WEIGHTS,
                             "tensor %s holds an invalid value at element %ld", name, j);
                return NULL;
              }
          memcpy (slot, t->data, sizeof (float) * count);
          g_hash_table_add (used, t->name);
        }
    }

  for (guint j = 0; j < file->tensors->len; j++)
    {
      const DgTensor *t = g_ptr_array_index (file->tensors, j);
      if (!g_hash_table_contains (used, t->name))
        {
          g_set_error (error, DG_MODEL_ERROR, DG_MODEL_ERROR_WEIGHTS,
                       "weights file has tensor %s, which the architecture “%s” does not use",
                       t->name, arch);
          return NULL;
        }
    }

  g_hash_table_iter_init (&iter, file->metadata);
  while (g_hash_table_iter_next (&iter, &key, &value))
    dg_model_set_metadata (model, key, value);
  return g_steal_pointer (&model);
}

DgModel *
dg_model_load_from_data (const guint8 *bytes, gsize length, GError **error)
{
  g_autoptr (DgTensorFile) file = dg_tensor_file_load_from_data (bytes, length, error);
  if (file == NULL)
    return NULL;
  return model_from_tensor_file (file, error);
}

DgModel *
dg_model_load (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  g_autoptr (DgTensorFile) file = dg_tensor_file_load (path, error);
  if (file == NULL)
    return NULL;
  GError *inner = NULL;
  DgModel *model = model_from_tensor_file (file, &inner);
  if (model == NULL)
    g_propagate_prefixed_error (error, inner, "%s: ", path);
  return model;
}

gboolean
dg_model_save (DgModel *model, const char *path, GError **error)
{
  g_autoptr (DgTensorFile) file = dg_tensor_file_new ();
  GHashTableIter iter;
  gpointer key, value;

  g_return_val_if_fail (model != NULL && path != NULL, FALSE);

  for (int i = 0; i < model->n_layers; i++)
    {
      const DgLayer *L = &model->layers[i];
      TensorRole roles[4];
      int n_roles = layer_tensors (L, roles);
      for (int r = 0; r < n_roles; r++)
        {
          g_autofree char *name = g_strdup_printf ("layers.%d.%s", i, roles[r].suffix);
          int64_t shape[4];
          int rank;
          long count;
          float *slot = tensor_slot (model, L, &roles[r], &rank, shape, &count);
          dg_tensor_file_add (file, name, rank, shape, slot);
        }
    }
  g_hash_table_iter_init (&iter, model->metadata);
  while (g_hash_table_iter_next (&iter, &key, &value))
    dg_tensor_file_set_metadata (file, key, value);
  dg_tensor_file_set_metadata (file, "arch", model->arch);
  dg_tensor_file_set_metadata (file, "format", "digits-cnn-1");
  return dg_tensor_file_save (file, path, error);
}

/* @name in data/weights: $@env, the source tree's (when run from a build
 * directory), the installed one, the source tree's. */
static char *
find_weights (const char *name, const char *env_name, GError **error)
{
  const char *env = g_getenv (env_name);
  g_autofree char *source = g_build_filename (DIGITS_SOURCE_DIR, "data", "weights", name, NULL);
  g_autofree char *installed = g_build_filename (DIGITS_PKGDATADIR, "weights", name, NULL);
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  gboolean in_build_tree = exe != NULL && g_str_has_prefix (exe, DIGITS_BUILD_ROOT);

  if (env != NULL && *env != '\0')
    return g_strdup (env);
  if (in_build_tree && g_file_test (source, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&source);
  if (g_file_test (installed, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&installed);
  if (g_file_test (source, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&source);
  g_set_error (error, DG_MODEL_ERROR, DG_MODEL_ERROR_NOT_FOUND,
               "no weights file found: looked for %s and %s (set %s or use --weights)", installed,
               source, env_name);
  return NULL;
}

char *
dg_model_find_default_weights (GError **error)
{
  return find_weights (DG_WEIGHTS_DIGIT, "DIGITS_WEIGHTS", error);
}

char *
dg_model_find_strings_weights (GError **error)
{
  return find_weights (DG_WEIGHTS_STRINGS, "DIGITS_STRINGS_WEIGHTS", error);
}

char *
dg_model_find_pairs_weights (GError **error)
{
  return find_weights (DG_WEIGHTS_PAIRS, "DIGITS_PAIRS_WEIGHTS", error);
}

char *
dg_model_find_scan_weights (GError **error)
{
  return find_weights (DG_WEIGHTS_SCAN, "DIGITS_SCAN_WEIGHTS", error);
}
