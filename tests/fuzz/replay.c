/* replay.c: runs a fuzz target over files, without libFuzzer.
 *
 *   replay-TARGET DIR_OR_FILE...
 *
 * Every regular file in each directory (not recursing) is one input, fed
 * to the target's LLVMFuzzerTestOneInput in name order.  A directory that
 * does not exist is skipped: a target may have no regressions yet.  A crash, a
 * sanitizer report or an assertion fails the test; so does finding no
 * input at all, which would mean the corpus went missing.
 */
#include "fuzz.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static gboolean
replay_file (const char *path, int *n_inputs)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr (GError) error = NULL;

  if (!g_file_get_contents (path, &contents, &length, &error))
    {
      fprintf (stderr, "replay: %s\n", error->message);
      return FALSE;
    }
  printf ("%s (%zu bytes)\n", path, (size_t) length);
  fflush (stdout); /* so that a crash shows which input it was */
  /* A copy of exactly @length bytes, so that ASan sees a read past the end. */
  g_autofree guint8 *input = g_memdup2 (contents, length);
  LLVMFuzzerTestOneInput (input, length);
  (*n_inputs)++;
  return TRUE;
}

int
main (int argc, char **argv)
{
  int n_inputs = 0;
  gboolean ok = TRUE;

  LLVMFuzzerInitialize (&argc, &argv);
  for (int i = 1; i < argc; i++)
    {
      if (!g_file_test (argv[i], G_FILE_TEST_EXISTS))
        continue;
      if (!g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        {
          ok &= replay_file (argv[i], &n_inputs);
          continue;
        }
      g_autoptr (GError) error = NULL;
      g_autoptr (GDir) dir = g_dir_open (argv[i], 0, &error);
      if (dir == NULL)
        {
          fprintf (stderr, "replay: %s\n", error->message);
          ok = FALSE;
          continue;
        }
      g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
      for (const char *name; (name = g_dir_read_name (dir)) != NULL;)
        {
          char *path = g_build_filename (argv[i], name, NULL);
          if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add (paths, path);
          else
            g_free (path);
        }
      g_ptr_array_sort (paths, compare_names);
      for (guint j = 0; j < paths->len; j++)
        ok &= replay_file (g_ptr_array_index (paths, j), &n_inputs);
    }
  printf ("replayed %d inputs\n", n_inputs);
  if (n_inputs == 0)
    {
      fprintf (stderr, "replay: no inputs found\n");
      return 1;
    }
  return ok ? 0 : 1;
}
