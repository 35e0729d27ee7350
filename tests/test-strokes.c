/* test-strokes.c: the stroke-file parser, on good and hostile files. */
#include "dg-strokes.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static void
test_valid (void)
{
  const char *json = "{\"width\": 280, \"height\": 200.5, \"strokes\": ["
                     "[[10, 20], [30.5, 40, 0.5]],"
                     "[],"
                     "[[1, 2]]]}";
  g_autoptr (GError) error = NULL;
  g_autoptr (DgDrawing) d = dg_drawing_parse (json, strlen (json), &error);

  g_assert_no_error (error);
  g_assert_cmpfloat (d->width, ==, 280);
  g_assert_cmpfloat (d->height, ==, 200.5);
  g_assert_cmpuint (d->strokes->len, ==, 3);
  g_assert_cmpuint (d->points->len, ==, 3);
  const DgStroke *s0 = &g_array_index (d->strokes, DgStroke, 0);
  const DgStroke *s2 = &g_array_index (d->strokes, DgStroke, 2);
  g_assert_cmpint (s0->n_points, ==, 2);
  g_assert_cmpfloat (s0->points[1].x, ==, 30.5f);
  g_assert_cmpfloat (s0->points[1].pressure, ==, 0.5f);
  g_assert_cmpfloat (s0->points[0].pressure, <, 0.0f); /* none given */
  g_assert_cmpint (g_array_index (d->strokes, DgStroke, 1).n_points, ==, 0);
  g_assert_cmpfloat (s2->points[0].y, ==, 2.0f);
}

static void
test_errors (void)
{
  const struct
  {
    const char *json;
    int code;
    const char *fragment;
  } cases[] = {
    { "", DG_STROKES_ERROR_SYNTAX, "not valid JSON" },
    { "{\"width\": 10", DG_STROKES_ERROR_SYNTAX, "not valid JSON" },
    { "[1, 2]", DG_STROKES_ERROR_SYNTAX, "expected an object" },
    { "{\"height\": 10, \"strokes\": []}", DG_STROKES_ERROR_SYNTAX, "“width” must be a positive number" },
    { "{\"width\": -5, \"height\": 10, \"strokes\": []}", DG_STROKES_ERROR_SYNTAX, "“width”" },
    { "{\"width\": \"wide\", \"height\": 10, \"strokes\": []}", DG_STROKES_ERROR_SYNTAX, "“width”" },
    { "{\"width\": 1e9, \"height\": 10, \"strokes\": []}", DG_STROKES_ERROR_LIMIT, "over the limit" },
    { "{\"width\": 10, \"height\": 10}", DG_STROKES_ERROR_SYNTAX, "“strokes” must be an array" },
    { "{\"width\": 10, \"height\": 10, \"strokes\": [5]}", DG_STROKES_ERROR_SYNTAX, "stroke 0 is not an array" },
    { "{\"width\": 10, \"height\": 10, \"strokes\": [[[1]]]}", DG_STROKES_ERROR_SYNTAX, "stroke 0, point 0 has 1 numbers" },
    { "{\"width\": 10, \"height\": 10, \"strokes\": [[[1, 2], [1, \"x\"]]]}", DG_STROKES_ERROR_SYNTAX, "stroke 0, point 1 holds" },
    { "{\"width\": 10, \"height\": 10, \"strokes\": [[[1, 2, 7]]]}", DG_STROKES_ERROR_SYNTAX, "pressure 7 is outside" },
    { "{\"width\": 10, \"height\": 10, \"strokes\": [[[1, 2]], [[1, 2, 3, 4]]]}", DG_STROKES_ERROR_SYNTAX, "stroke 1, point 0 has 4" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (DgDrawing) d = dg_drawing_parse (cases[i].json, strlen (cases[i].json), &error);
      g_assert_null (d);
      g_assert_error (error, DG_STROKES_ERROR, cases[i].code);
      if (strstr (error->message, cases[i].fragment) == NULL)
        g_error ("case %u: “%s” lacks “%s”", i, error->message, cases[i].fragment);
    }
}

/* Too many strokes or points is refused, not allocated. */
static void
test_limits (void)
{
  g_autoptr (GString) many_strokes = g_string_new ("{\"width\": 10, \"height\": 10, \"strokes\": [");
  g_autoptr (GString) many_points = g_string_new ("{\"width\": 10, \"height\": 10, \"strokes\": [[");
  g_autoptr (GError) e1 = NULL, e2 = NULL;

  for (int i = 0; i <= DG_MAX_STROKES; i++)
    g_string_append (many_strokes, i ? ",[]" : "[]");
  g_string_append (many_strokes, "]}");
  g_autoptr (DgDrawing) d1 = dg_drawing_parse (many_strokes->str, many_strokes->len, &e1);
  g_assert_error (e1, DG_STROKES_ERROR, DG_STROKES_ERROR_LIMIT);
  g_assert_null (d1);

  for (int i = 0; i <= DG_MAX_POINTS; i++)
    g_string_append (many_points, i ? ",[1,2]" : "[1,2]");
  g_string_append (many_points, "]]}");
  g_autoptr (DgDrawing) d2 = dg_drawing_parse (many_points->str, many_points->len, &e2);
  g_assert_error (e2, DG_STROKES_ERROR, DG_STROKES_ERROR_LIMIT);
  g_assert_null (d2);

  /* One fewer of each is allowed: the limits are the numbers in the header. */
  g_string_truncate (many_strokes, many_strokes->len - 2 - 3);
  g_string_append (many_strokes, "]}");
  g_autoptr (DgDrawing) d3 = dg_drawing_parse (many_strokes->str, many_strokes->len, NULL);
  g_assert_nonnull (d3);
  g_assert_cmpuint (d3->strokes->len, ==, DG_MAX_STROKES);
  g_string_truncate (many_points, many_points->len - 3 - 6);
  g_string_append (many_points, "]]}");
  g_autoptr (DgDrawing) d4 = dg_drawing_parse (many_points->str, many_points->len, NULL);
  g_assert_nonnull (d4);
  g_assert_cmpuint (d4->points->len, ==, DG_MAX_POINTS);
}

/* A file over the byte limit (64 MB) is refused from its size, unread: the
 * test file is sparse, so it costs no disk and no time. */
static void
test_file_too_large (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-strokes-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "huge.json", NULL);

  g_assert_true (g_file_set_contents (path, "{\"width\": 10, ", -1, NULL));
  g_assert_cmpint (truncate (path, 64 * 1024 * 1024 + 1), ==, 0);
  gint64 start = g_get_monotonic_time ();
  g_autoptr (DgDrawing) drawing = dg_drawing_load (path, &error);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC / 4);
  g_assert_null (drawing);
  g_assert_error (error, DG_STROKES_ERROR, DG_STROKES_ERROR_LIMIT);
  g_unlink (path);
  g_rmdir (dir);
}

/* No bytes at all, even without a buffer, is a syntax error (found by
 * replaying the fuzz corpus: json-glib refused the NULL buffer). */
static void
test_no_data (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DgDrawing) drawing = dg_drawing_parse (NULL, 0, &error);

  g_assert_null (drawing);
  g_assert_error (error, DG_STROKES_ERROR, DG_STROKES_ERROR_SYNTAX);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/strokes/valid", test_valid);
  g_test_add_func ("/strokes/errors", test_errors);
  g_test_add_func ("/strokes/limits", test_limits);
  g_test_add_func ("/strokes/limits/file-size", test_file_too_large);
  g_test_add_func ("/strokes/no-data", test_no_data);
  return g_test_run ();
}
