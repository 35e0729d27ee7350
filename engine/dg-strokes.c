/* dg-strokes.c: parse a stroke file, trusting nothing in it. */
#include "dg-strokes.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>

G_DEFINE_QUARK (dg-strokes-error-quark, dg_strokes_error)

/* Stroke files are small; anything bigger is not one. */
#define MAX_FILE_BYTES (64 * 1024 * 1024)

void
dg_drawing_free (DgDrawing *drawing)
{
  if (drawing == NULL)
    return;
  g_clear_pointer (&drawing->points, g_array_unref);
  g_clear_pointer (&drawing->strokes, g_array_unref);
  g_free (drawing);
}

static gboolean
number_of (JsonNode *node, double *value)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  GType type = json_node_get_value_type (node);
  if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE)
    return FALSE;
  *value = json_node_get_double (node);
  return isfinite (*value);
}

static gboolean
fail (GError **error, int code, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
fail (GError **error, int code, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, DG_STROKES_ERROR, code, message);
  return FALSE;
}

static gboolean
read_canvas (JsonObject *root, DgDrawing *drawing, GError **error)
{
  const char *names[2] = { "width", "height" };
  double *sizes[2] = { &drawing->width, &drawing->height };

  for (int i = 0; i < 2; i++)
    {
      JsonNode *node = json_object_get_member (root, names[i]);
      if (!number_of (node, sizes[i]) || *sizes[i] <= 0)
        return fail (error, DG_STROKES_ERROR_SYNTAX,
                     "stroke file: “%s” must be a positive number", names[i]);
      if (*sizes[i] > DG_STROKES_MAX_CANVAS)
        return fail (error, DG_STROKES_ERROR_LIMIT,
                     "stroke file: canvas %s %.0f is over the limit of %.0f pixels", names[i],
                     *sizes[i], DG_STROKES_MAX_CANVAS);
    }
  return TRUE;
}

static gboolean
read_point (JsonNode *node, int stroke, int index, DgPoint *point, GError **error)
{
  JsonArray *xyp;
  double v[3] = { 0, 0, -1 };
  guint n;

  if (!JSON_NODE_HOLDS_ARRAY (node))
    return fail (error, DG_STROKES_ERROR_SYNTAX,
                 "stroke file: stroke %d, point %d is not an array [x, y] or [x, y, pressure]",
                 stroke, index);
  xyp = json_node_get_array (node);
  n = json_array_get_length (xyp);
  if (n != 2 && n != 3)
    return fail (error, DG_STROKES_ERROR_SYNTAX,
                 "stroke file: stroke %d, point %d has %u numbers, expected 2 or 3", stroke,
                 index, n);
  for (guint i = 0; i < n; i++)
    if (!number_of (json_array_get_element (xyp, i), &v[i]) || fabs (v[i]) > 1e7)
      return fail (error, DG_STROKES_ERROR_SYNTAX,
                   "stroke file: stroke %d, point %d holds something that is not a finite number",
                   stroke, index);
  if (n == 3 && (v[2] < 0.0 || v[2] > 1.0))
    return fail (error, DG_STROKES_ERROR_SYNTAX,
                 "stroke file: stroke %d, point %d: pressure %g is outside [0, 1]", stroke, index,
                 v[2]);
  *point = (DgPoint) { (float) v[0], (float) v[1], (float) v[2] };
  return TRUE;
}

DgDrawing *
dg_drawing_parse (const char *json, gsize length, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (DgDrawing) drawing = g_new0 (DgDrawing, 1);
  GError *parse_error = NULL;
  JsonNode *root;
  JsonNode *strokes_node;
  JsonArray *strokes;
  guint n_strokes;

  g_return_val_if_fail (json != NULL || length == 0, NULL);

  drawing->points = g_array_new (FALSE, FALSE, sizeof (DgPoint));
  drawing->strokes = g_array_new (FALSE, FALSE, sizeof (DgStroke));
  if (length > MAX_FILE_BYTES)
    {
      fail (error, DG_STROKES_ERROR_LIMIT, "stroke file: %" G_GSIZE_FORMAT " bytes is over the limit of %d",
            length, MAX_FILE_BYTES);
      return NULL;
    }
  /* json-glib parses an empty document to no root at all (and refuses a
   * NULL one): say what is wrong with it. */
  if (length == 0)
    {
      fail (error, DG_STROKES_ERROR_SYNTAX, "stroke file is not valid JSON: it is empty");
      return NULL;
    }
  if (!json_parser_load_from_data (parser, json, (gssize) length, &parse_error))
    {
      /* json-glib quotes the offending bytes, valid UTF-8 or not. */
      g_autofree char *reason = g_utf8_make_valid (parse_error->message, -1);
      fail (error, DG_STROKES_ERROR_SYNTAX, "stroke file is not valid JSON: %s", reason);
      g_error_free (parse_error);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      fail (error, DG_STROKES_ERROR_SYNTAX,
            "stroke file: expected an object {\"width\": W, \"height\": H, \"strokes\": [...]}");
      return NULL;
    }
  if (!read_canvas (json_node_get_object (root), drawing, error))
    return NULL;

  strokes_node = json_object_get_member (json_node_get_object (root), "strokes");
  if (strokes_node == NULL || !JSON_NODE_HOLDS_ARRAY (strokes_node))
    {
      fail (error, DG_STROKES_ERROR_SYNTAX, "stroke file: “strokes” must be an array of strokes");
      return NULL;
    }
  strokes = json_node_get_array (strokes_node);
  n_strokes = json_array_get_length (strokes);
  if (n_strokes > DG_MAX_STROKES)
    {
      fail (error, DG_STROKES_ERROR_LIMIT, "stroke file: %u strokes is over the limit of %d",
            n_strokes, DG_MAX_STROKES);
      return NULL;
    }

  for (guint s = 0; s < n_strokes; s++)
    {
      JsonNode *stroke_node = json_array_get_element (strokes, s);
      JsonArray *points;
      guint n_points;

      if (!JSON_NODE_HOLDS_ARRAY (stroke_node))
        {
          fail (error, DG_STROKES_ERROR_SYNTAX, "stroke file: stroke %u is not an array of points", s);
          return NULL;
        }
      points = json_node_get_array (stroke_node);
      n_points = json_array_get_length (points);
      if (drawing->points->len + (guint64) n_points > DG_MAX_POINTS)
        {
          fail (error, DG_STROKES_ERROR_LIMIT, "stroke file: more than %d points in all",
                DG_MAX_POINTS);
          return NULL;
        }
      for (guint p = 0; p < n_points; p++)
        {
          DgPoint point;
          if (!read_point (json_array_get_element (points, p), (int) s, (int) p, &point, error))
            return NULL;
          g_array_append_val (drawing->points, point);
        }
      DgStroke stroke = { NULL, (int) n_points };
      g_array_append_val (drawing->strokes, stroke);
    }

  /* The points array no longer grows: point the strokes into it. */
  for (guint s = 0, first = 0; s < drawing->strokes->len; s++)
    {
      DgStroke *stroke = &g_array_index (drawing->strokes, DgStroke, s);
      stroke->points = stroke->n_points > 0 ? &g_array_index (drawing->points, DgPoint, first) : NULL;
      first += stroke->n_points;
    }
  return g_steal_pointer (&drawing);
}

DgDrawing *
dg_drawing_load (const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  gsize length;
  GError *inner = NULL;
  DgDrawing *drawing;
  GStatBuf st;

  /* Refuse a huge file before reading it. */
  if (g_stat (path, &st) == 0 && st.st_size > MAX_FILE_BYTES)
    {
      fail (error, DG_STROKES_ERROR_LIMIT, "stroke file: %lld bytes is over the limit of %d",
            (long long) st.st_size, MAX_FILE_BYTES);
      return NULL;
    }
  if (!g_file_get_contents (path, &contents, &length, error))
    return NULL;
  drawing = dg_drawing_parse (contents, length, &inner);
  if (drawing == NULL)
    g_propagate_error (error, inner);
  return drawing;
}
