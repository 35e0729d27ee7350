/* dg-model.h: the CNN — architecture, parameters, forward and backward.
 *
 * A model is a stack of layers described by an architecture string, e.g.
 *
 *   conv32k3,bn,relu,pool,dense128,relu,dropout0.3,dense10
 *
 * Input is always one 28x28 grey image with ink = 1.0, paper = 0.0 (MNIST's
 * polarity, values in [0, 1]); the last layer's ten outputs go through a
 * softmax.  Layer tokens:
 *
 *   conv<OUT>k<K>[v]   2-D convolution, OUT channels, odd KxK kernel, stride 1,
 *                      "same" zero padding, or "valid" with the trailing v
 *   bn                 batch norm over channels (must follow conv or dense;
 *                      folded into it for inference), eps 1e-5, momentum 0.1
 *   relu               max (0, x)
 *   pool               2x2 max pool, stride 2
 *   dense<OUT>         fully connected; flattens (C, H, W) in that order first
 *   dropout<P>         zero a fraction P of the inputs while training
 *
 * Tensors in the weights file are named "layers.<i>.<what>" with <i> the
 * token's 0-based index: conv weight (OUT, IN, K, K) and bias (OUT); dense
 * weight (OUT, IN) and bias (OUT); bn weight (gamma), bias (beta),
 * running_mean and running_var, each (C).  These are PyTorch's layouts.
 *
 * Activations inside the engine are channel-major: a batch of B images with
 * C channels of H x W is stored (C, B, H*W), so a convolution over the whole
 * batch is one matrix product per block of columns.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define DG_MODEL_ERROR (dg_model_error_quark ())

typedef enum
{
  DG_MODEL_ERROR_ARCH,    /* architecture string malformed or inconsistent */
  DG_MODEL_ERROR_WEIGHTS, /* weights file disagrees with the architecture */
  DG_MODEL_ERROR_NOT_FOUND,
} DgModelError;

#define DG_IMAGE_SIDE   28
#define DG_IMAGE_PIXELS (DG_IMAGE_SIDE * DG_IMAGE_SIDE)
#define DG_CLASSES      10
#define DG_LABEL_NONE   255 /* a training label: not one digit (dg_loss) */
/* A digit whose top probability is under this is called unsure: by
 * `digits-cli recognize` ("unsure: N") and by the window ("Not sure"). */
#define DG_UNSURE_BELOW 0.6
#define DG_MAX_LAYERS   64

typedef enum
{
  DG_LAYER_CONV,
  DG_LAYER_BN,
  DG_LAYER_RELU,
  DG_LAYER_POOL,
  DG_LAYER_DENSE,
  DG_LAYER_DROPOUT,
} DgLayerKind;

typedef struct
{
  DgLayerKind kind;
  int in_c, in_h, in_w;    /* input shape: channels, rows, columns */
  int out_c, out_h, out_w; /* output shape (dense: out_c features, 1 x 1) */
  int k;                   /* conv: kernel side (odd) */
  int pad;                 /* conv: zero padding on each side, (k-1)/2 or 0 */
  float p;                 /* dropout: probability of zeroing */

  /* Offsets into DgModel.params (and .grads); -1 where the layer has none. */
  long w;            /* conv (out_c, in_c, k, k); dense (out_c, in_c*in_h*in_w); bn gamma (c) */
  long b;            /* conv/dense bias (out_c); bn beta (c) */
  long n_w, n_b;     /* element counts */
  /* Offsets into DgModel.buffers (bn only). */
  long mean, var;    /* running mean and variance (c) */
} DgLayer;

typedef struct _DgPlan DgPlan;

typedef struct
{
  char *arch;       /* the architecture string, as given */
  int n_layers;
  DgLayer layers[DG_MAX_LAYERS];

  float *params;    /* (n_params) every learnable value, layer after layer */
  float *grads;     /* (n_params) gradients, same layout; NULL until training */
  long n_params;
  float *buffers;   /* (n_buffers) batch-norm running statistics */
  long n_buffers;

  GHashTable *metadata; /* char * -> char *, provenance from the weights file */
  DgPlan *plan;         /* folded inference network; built lazily, dropped on change */
} DgModel;

/* One layer's output for one image, for the classroom view. */
typedef struct
{
  int layer;        /* index into DgModel.layers */
  DgLayerKind kind;
  int c, h, w;      /* shape */
  float *data;      /* (c, h, w), owned */
} DgActivation;

GQuark dg_model_error_quark (void);

DgModel *dg_model_new (const char *arch, GError **error);
void dg_model_free (DgModel *model);
DgModel *dg_model_copy (const DgModel *model);

/* He-normal weights, zero biases, bn gamma 1 / beta 0 / mean 0 / var 1. */
void dg_model_init (DgModel *model, guint64 seed);

/* Load and validate a weights file; the architecture comes from its
 * "__metadata__" key "arch".  Every disagreement is a GError. */
DgModel *dg_model_load (const char *path, GError **error);
DgModel *dg_model_load_from_data (const guint8 *bytes, gsize length, GError **error);
/* Writes atomically.  Keys of model->metadata are stored as provenance. */
gboolean dg_model_save (DgModel *model, const char *path, GError **error);

void dg_model_set_metadata (DgModel *model, const char *key, const char *value);
const char *dg_model_get_metadata (const DgModel *model, const char *key);

/* The shipped models, in data/weights.  The digit model reads one digit:
 * a drawing, an image of one digit, the MNIST test set.  The strings model
 * is the digit model trained further on what segmentation shows the
 * network in pages of many digits (tests/make-strings --candidates):
 * digits as cut from their neighbours, labelled, and pairs, pieces and
 * signs labelled DG_LABEL_NONE, so that its top probability says whether a
 * candidate is one whole digit.  dg_read_digits reads with it. */
#define DG_WEIGHTS_DIGIT   "mnist-cnn.safetensors"
#define DG_WEIGHTS_STRINGS "mnist-strings.safetensors"
/* The pair model reads two overlapping digits, stretched together into the
 * field (dg_preprocess_pair): the left one, and from the image mirrored the
 * right one; one digit alone, or anything else, it is unsure of. */
#define DG_WEIGHTS_PAIRS   "mnist-pairs.safetensors"
/* The scan model is the digit model's recipe with a share of the distorted
 * images blurred too (train --blur), as a scan or a photo softens small
 * writing, and another seed; dg_read_digits asks it and the digit model
 * for a second opinion.  With it, scanned 6s whose loop the scan closed,
 * which the digit model alone read 0, were read 6. */
#define DG_WEIGHTS_SCAN    "mnist-scan.safetensors"

/* The digit model's weights: $DIGITS_WEIGHTS, the source tree's
 * data/weights (when run from a build directory), then the installed data
 * dir.  Newly allocated path, or NULL with an error listing where it
 * looked. */
char *dg_model_find_default_weights (GError **error);
/* The strings model's, the same way ($DIGITS_STRINGS_WEIGHTS first). */
char *dg_model_find_strings_weights (GError **error);
/* The pair model's ($DIGITS_PAIRS_WEIGHTS first). */
char *dg_model_find_pairs_weights (GError **error);
/* The scan model's ($DIGITS_SCAN_WEIGHTS first). */
char *dg_model_find_scan_weights (GError **error);

/* Call after changing params/buffers by hand so the inference plan is rebuilt. */
void dg_model_changed (DgModel *model);

/* Inference.  @images (n, 28, 28), ink 1.0 on 0.0; @probs (n, 10).
 * Uses the folded plan (batch norm merged into its conv/dense).  Safe to call
 * from several threads at once on one model once the plan exists
 * (dg_model_prepare); otherwise call from one thread. */
void dg_model_prepare (DgModel *model);
void dg_model_predict (DgModel *model, int n, const float *images, float *probs);
/* Every layer's output for one image (eval mode, unfolded), in layer order. */
GPtrArray *dg_model_activations (DgModel *model, const float *image);
void dg_activation_free (DgActivation *activation);

long dg_model_param_count (const DgModel *model);
int dg_argmax (const float *values, int n);

/* Threads the engine's own parallel loops may use; 0 = all cores. */
void dg_set_threads (int n_threads);
int dg_get_threads (void);

/* --- Training interface (used by dg-train.c and the gradient tests) --- */

typedef struct _DgWorkspace DgWorkspace;

DgWorkspace *dg_workspace_new (const DgModel *model, int batch);
void dg_workspace_free (DgWorkspace *ws);

/* Forward a batch of @n <= batch images.  @training: batch statistics for
 * bn (and running averages updated), dropout active with masks drawn from
 * @dropout_seed.  Returns the (n, 10) probabilities, owned by @ws. */
const float *dg_forward (DgModel *model, DgWorkspace *ws, int n, const float *images,
                         gboolean training, guint64 dropout_seed);
/* Logits (10, n) channel-major, before the softmax, from the last forward. */
const float *dg_workspace_logits (DgWorkspace *ws);
/* Mean cross-entropy of the last forward against @labels (0 .. 9, or
 * DG_LABEL_NONE: an image that is not one digit, whose target is the
 * uniform distribution, so that the network learns to be unsure of what is
 * not a digit). */
double dg_loss (DgModel *model, DgWorkspace *ws, const guint8 *labels);
/* Accumulates d(loss)/d(params) of that loss, at the last forward, into
 * model->grads (which it allocates). */
void dg_backward (DgModel *model, DgWorkspace *ws, const guint8 *labels);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DgModel, dg_model_free)

G_END_DECLS
