/* dg-train.h: training — optimisers, schedule, the loop, evaluation. */
#pragma once

#include "dg-augment.h"
#include "dg-idx.h"
#include "dg-model.h"

G_BEGIN_DECLS

typedef enum
{
  DG_OPTIMIZER_ADAM, /* AdamW: Adam with decoupled weight decay */
  DG_OPTIMIZER_SGD,  /* SGD with (Nesterov-free) momentum and L2 weight decay */
} DgOptimizer;

typedef struct
{
  const guint8 *pixels; /* (n, 28, 28), ink 255 on 0 */
  const guint8 *labels; /* (n) */
  int n;
} DgDataset;

typedef struct
{
  int epochs;
  int batch;            /* images per step */
  int val_size;         /* images held out of the training set for model selection */
  int max_train;        /* use at most this many training images (0: all) */
  guint64 seed;         /* everything random but the split derives from it */
  guint64 split_seed;   /* which images are held out (1): the same for every
                         * model, so that models trained with other seeds can
                         * be compared and combined on images none learnt from */
  DgOptimizer optimizer;
  double lr;            /* peak learning rate */
  double momentum;      /* SGD */
  double weight_decay;
  double warmup;        /* epochs of linear warm-up before the cosine decay */
  gboolean augment;
  DgAugment distort;
  const DgDataset *extra; /* more training images, every epoch, never held out
                           * (labels 0 .. 9 or DG_LABEL_NONE), or NULL */
} DgTrainConfig;

typedef struct
{
  int epoch;            /* 1-based */
  int epochs;
  double loss;          /* mean training cross-entropy this epoch */
  double train_accuracy;
  double val_accuracy;  /* on the held-out split */
  double images_per_s;  /* training throughput this epoch */
  double lr;            /* learning rate at the end of the epoch */
  gboolean best;        /* best validation accuracy so far: the model kept */
} DgEpochReport;

typedef void (*DgEpochCallback) (const DgEpochReport *report, gpointer user_data);

void dg_train_config_defaults (DgTrainConfig *config);

/* @order (n) = 0 .. n - 1 in the order dg_train splits a training set of
 * @n images with @split_seed: the last val_size of them are held out. */
void dg_train_split_order (int n, guint64 split_seed, int *order);

/* Keeps of @images and @labels (a training set, as loaded) the split
 * dg_train makes with its defaults (dg_train_config_defaults): the
 * held-out validation items in their split order, or with @validation
 * FALSE the rest, what a model trained with the defaults learnt from. */
void dg_train_keep_split (DgIdx *images, DgIdx *labels, gboolean validation);

/* Trains @model (already initialised) on @data minus a validation split of
 * config->val_size images chosen by config->split_seed.  On return the model holds
 * the parameters of the epoch with the best validation accuracy, which is
 * stored in *best_val_accuracy. */
void dg_train (DgModel *model, const DgDataset *data, const DgTrainConfig *config,
               DgEpochCallback callback, gpointer user_data, double *best_val_accuracy);

/* Accuracy of @model on @data (or on the images listed in @indices, if not
 * NULL, @n of them); fills @confusion (10 x 10, [truth][predicted]) if not
 * NULL, and @probs (n, 10) if not NULL.  The images go through
 * dg_model_predict @batch at a time (0: a default; 1 takes the path of a
 * drawn digit). */
double dg_evaluate (DgModel *model, const DgDataset *data, const int *indices, int n, int batch,
                    int *confusion, float *probs);

/* Bytes -> floats in [0, 1]. */
void dg_pixels_to_floats (const guint8 *pixels, long n, float *out);

G_END_DECLS
