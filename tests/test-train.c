/* test-train.c: optimisers, augmentation, determinism, a short real
 * training run, and the accuracy of the shipped weights. */
#include "dg-idx.h"
#include "dg-train.h"

#include <glib/gstdio.h>

#include <math.h>
#include <string.h>

static DgIdx *mnist_images, *mnist_labels;

static void
require_mnist (void)
{
  g_autoptr (GError) error = NULL;
  const char *dir = g_getenv ("DIGITS_MNIST_DIR");

  if (mnist_images != NULL)
    return;
  if (dir == NULL)
    g_error ("DIGITS_MNIST_DIR is not set: run the tests through tools/test, which fetches MNIST");
  if (!dg_mnist_load (dir, "train", &mnist_images, &mnist_labels, &error))
    g_error ("%s", error->message);
}

/* A zero-strength distortion is the identity; a real one moves ink but
 * keeps roughly the same amount of it, and is a pure function of
 * (seed, index). */
static void
test_augment (void)
{
  DgAugment none = { 0 }, some;
  float src[DG_IMAGE_PIXELS] = { 0 }, a[DG_IMAGE_PIXELS], b[DG_IMAGE_PIXELS], c[DG_IMAGE_PIXELS];
  double ink_src = 0, ink_a = 0;

  /* a 10x10 square of ink in the middle */
  for (int y = 9; y < 19; y++)
    for (int x = 9; x < 19; x++)
      src[y * 28 + x] = 1.0f;
  dg_augment_image (&none, 1, 1, src, a);
  for (int j = 0; j < DG_IMAGE_PIXELS; j++)
    g_assert_cmpfloat_with_epsilon (a[j], src[j], 1e-5);

  dg_augment_defaults (&some);
  some.thickness = 0.0f;
  dg_augment_image (&some, 1, 5, src, a);
  dg_augment_image (&some, 1, 5, src, b);
  dg_augment_image (&some, 1, 6, src, c);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
  g_assert_true (memcmp (a, c, sizeof a) != 0);
  for (int j = 0; j < DG_IMAGE_PIXELS; j++)
    ink_src += src[j], ink_a += a[j];
  /* scale is at most 12% per axis: area within (0.88^2 * 0.94, 1.12^2 * 1.06) */
  g_assert_cmpfloat (ink_a, >, 0.6 * ink_src);
  g_assert_cmpfloat (ink_a, <, 1.5 * ink_src);
}

/* A pure shift by (+2, 0) moves every column two to the right. */
static void
test_augment_shift (void)
{
  float src[DG_IMAGE_PIXELS] = { 0 }, dst[DG_IMAGE_PIXELS];
  DgAugment only_shift = { .shift = 2.0f };
  gboolean moved = FALSE;

  for (int y = 5; y < 20; y++)
    src[y * 28 + 14] = 1.0f;
  for (guint64 index = 0; index < 50 && !moved; index++)
    {
      dg_augment_image (&only_shift, 3, index, src, dst);
      /* the ink stays one column wide or spreads over two when the shift
       * is fractional; its centre of mass moves by less than 2 px */
      double mass = 0, cx = 0;
      for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++)
          mass += dst[y * 28 + x], cx += x * dst[y * 28 + x];
      g_assert_cmpfloat (fabs (cx / mass - 14.0), <=, 2.0 + 1e-4);
      moved = fabs (cx / mass - 14.0) > 0.5;
    }
  g_assert_true (moved);
}

static double
train_and_score (const char *arch, DgOptimizer optimizer, int threads, guint64 seed,
                 DgModel **out_model)
{
  g_autoptr (GError) error = NULL;
  DgModel *model = dg_model_new (arch, &error);
  DgTrainConfig config;
  double val_acc = 0.0;

  require_mnist ();
  g_assert_no_error (error);
  dg_set_threads (threads);
  dg_model_init (model, seed);
  dg_train_config_defaults (&config);
  /* Small enough for a unit test, enough to learn: 3 x 4,000 clean images. */
  config.epochs = 3;
  config.max_train = 4000;
  config.val_size = 1000;
  config.warmup = 0.5;
  config.augment = FALSE;
  config.seed = seed;
  config.optimizer = optimizer;
  if (optimizer == DG_OPTIMIZER_SGD)
    config.lr = 0.05;
  DgDataset data = { mnist_images->data, mnist_labels->data, mnist_images->n };
  dg_train (model, &data, &config, NULL, NULL, &val_acc);
  *out_model = model;
  return val_acc;
}

#define SMALL_ARCH "conv8k3,bn,relu,pool,conv16k3,bn,relu,pool,dense32,relu,dropout0.2,dense10"

/* A short real run learns: far above chance (10%) on held-out images. */
static void
test_train_adam (void)
{
  g_autoptr (DgModel) model = NULL;
  double acc = train_and_score (SMALL_ARCH, DG_OPTIMIZER_ADAM, 2, 1, &model);
  g_test_message ("adam: validation accuracy %.4f", acc);
  g_assert_cmpfloat (acc, >, 0.85);
}

static void
test_train_sgd (void)
{
  g_autoptr (DgModel) model = NULL;
  double acc = train_and_score (SMALL_ARCH, DG_OPTIMIZER_SGD, 2, 1, &model);
  g_test_message ("sgd: validation accuracy %.4f", acc);
  g_assert_cmpfloat (acc, >, 0.85);
}

/* One thread, one seed: the same model bit for bit. */
static void
test_train_deterministic (void)
{
  g_autoptr (DgModel) a = NULL, b = NULL, c = NULL;
  train_and_score (SMALL_ARCH, DG_OPTIMIZER_ADAM, 1, 7, &a);
  train_and_score (SMALL_ARCH, DG_OPTIMIZER_ADAM, 1, 7, &b);
  train_and_score (SMALL_ARCH, DG_OPTIMIZER_ADAM, 1, 8, &c);
  g_assert_cmpmem (a->params, a->n_params * 4, b->params, b->n_params * 4);
  g_assert_cmpmem (a->buffers, a->n_buffers * 4, b->buffers, b->n_buffers * 4);
  g_assert_true (memcmp (a->params, c->params, a->n_params * 4) != 0);
}

/* The weights in data/weights meet the accuracy the project promises, on
 * the real MNIST test set. */
static void
test_shipped_accuracy (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (TEST_SOURCE_DIR, "..", "data", "weights",
                                            "mnist-cnn.safetensors", NULL);
  g_autoptr (DgModel) model = dg_model_load (path, &error);
  g_autoptr (DgIdx) images = NULL, labels = NULL;
  const char *dir = g_getenv ("DIGITS_MNIST_DIR");
  struct stat st;

  g_assert_no_error (error);
  g_assert_nonnull (dir);
  g_assert_true (dg_mnist_load (dir, "t10k", &images, &labels, &error));
  g_assert_no_error (error);
  dg_set_threads (2);
  DgDataset test = { images->data, labels->data, images->n };
  double acc = dg_evaluate (model, &test, NULL, test.n, NULL, NULL);
  g_test_message ("shipped model: %.2f%% on the MNIST test set", 100 * acc);
  g_assert_cmpfloat (acc, >=, 0.9960);
  /* ... and fits the size budget */
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_size, <=, 2 * 1000 * 1000);
  g_assert_nonnull (dg_model_get_metadata (model, "command"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/train/augment/basics", test_augment);
  g_test_add_func ("/train/augment/shift", test_augment_shift);
  g_test_add_func ("/train/adam", test_train_adam);
  g_test_add_func ("/train/sgd", test_train_sgd);
  g_test_add_func ("/train/deterministic", test_train_deterministic);
  g_test_add_func ("/shipped/accuracy", test_shipped_accuracy);
  int status = g_test_run ();
  g_clear_pointer (&mnist_images, dg_idx_free);
  g_clear_pointer (&mnist_labels, dg_idx_free);
  return status;
}
