/* dg-safetensors.c: the safetensors weights-file format, read and written.
 *
 * Loading checks everything before it allocates anything a file asks for:
 * the length field and the JSON first, then each header entry against the
 * data section (parse_entry), then the entries together, which must tile
 * the data section exactly (check_coverage).  Only then are floats copied.
 */
#include "dg-safetensors.h"

#include <json-glib/json-glib.h>
#include <stdarg.h>
#include <string.h>

G_DEFINE_QUARK (dg-safetensors-error-quark, dg_safetensors_error)

#define METADATA_KEY "__metadata__"

/* One header entry, checked but not yet copied out of the file. */
typedef struct
{
  const char *name;                       /* borrowed from the parsed JSON */
  int rank;
  int64_t shape[DG_SAFETENSORS_MAX_RANK];
  guint64 begin;                          /* bytes, from the start of the data section */
  guint64 end;                            /* one past the last byte */
} Entry;

static void
tensor_free (DgTensor *tensor)
{
  g_free (tensor->name);
  g_free (tensor->data);
  g_free (tensor);
}

DgTensorFile *
dg_tensor_file_new (void)
{
  DgTensorFile *file = g_new0 (DgTensorFile, 1);

  file->tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) tensor_free);
  file->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return file;
}

void
dg_tensor_file_free (DgTensorFile *file)
{
  if (file == NULL)
    return;
  g_ptr_array_unref (file->tensors);
  g_hash_table_unref (file->metadata);
  g_free (file);
}

/* Product of @shape, or FALSE if it or its size in bytes overflows. */
static gboolean
count_elements (int rank, const int64_t *shape, guint64 *n_elements)
{
  guint64 n = 1, n_bytes;

  for (int i = 0; i < rank; i++)
    if (!g_uint64_checked_mul (&n, n, (guint64) shape[i]))
      return FALSE;
  if (!g_uint64_checked_mul (&n_bytes, n, sizeof (float)) || n_bytes > G_MAXSIZE)
    return FALSE;
  *n_elements = n;
  return TRUE;
}

/* Appends a tensor whose data is allocated but not yet filled. */
static DgTensor *
append_tensor (DgTensorFile *file, const char *name, int rank, const int64_t *shape,
               size_t n_elements)
{
  DgTensor *tensor = g_new0 (DgTensor, 1);

  tensor->name = g_strdup (name);
  tensor->rank = rank;
  for (int i = 0; i < rank; i++)
    tensor->shape[i] = shape[i];
  tensor->n_elements = n_elements;
  tensor->data = g_new (float, n_elements);
  g_ptr_array_add (file->tensors, tensor);
  return tensor;
}

DgTensor *
dg_tensor_file_add (DgTensorFile *file, const char *name, int rank, const int64_t *shape,
                    const float *data)
{
  guint64 n_elements = 1;

  g_return_val_if_fail (file != NULL, NULL);
  g_return_val_if_fail (name != NULL && *name != '\0' && g_utf8_validate (name, -1, NULL), NULL);
  g_return_val_if_fail (strcmp (name, METADATA_KEY) != 0, NULL);
  g_return_val_if_fail (dg_tensor_file_lookup (file, name) == NULL, NULL);
  g_return_val_if_fail (rank >= 0 && rank <= DG_SAFETENSORS_MAX_RANK, NULL);
  g_return_val_if_fail (rank == 0 || shape != NULL, NULL);
  for (int i = 0; i < rank; i++)
    g_return_val_if_fail (shape[i] >= 0, NULL);
  g_return_val_if_fail (count_elements (rank, shape, &n_elements), NULL);
  g_return_val_if_fail (data != NULL || n_elements == 0, NULL);

  DgTensor *tensor = append_tensor (file, name, rank, shape, n_elements);
  if (n_elements > 0)
    memcpy (tensor->data, data, n_elements * sizeof (float));
  return tensor;
}

const DgTensor *
dg_tensor_file_lookup (const DgTensorFile *file, const char *name)
{
  g_return_val_if_fail (file != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  /* A model has tens of tensors; a hash table would cost more than it saves. */
  for (guint i = 0; i < file->tensors->len; i++)
    {
      const DgTensor *tensor = g_ptr_array_index (file->tensors, i);
      if (strcmp (tensor->name, name) == 0)
        return tensor;
    }
  return NULL;
}

void
dg_tensor_file_set_metadata (DgTensorFile *file, const char *key, const char *value)
{
  g_return_if_fail (file != NULL);
  g_return_if_fail (key != NULL && g_utf8_validate (key, -1, NULL));
  g_return_if_fail (value != NULL && g_utf8_validate (value, -1, NULL));

  g_hash_table_replace (file->metadata, g_strdup (key), g_strdup (value));
}

const char *
dg_tensor_file_get_metadata (const DgTensorFile *file, const char *key)
{
  g_return_val_if_fail (file != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);

  return g_hash_table_lookup (file->metadata, key);
}

/* Copies @n floats between host order and the file's little-endian order;
 * the conversion is its own inverse, so reading and writing share it.
 * Bits are moved as integers so that NaN payloads survive. */
static void
copy_floats_le (void *dest, const void *src, size_t n)
{
  if (n == 0)
    return;
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  memcpy (dest, src, n * sizeof (float));
#else
  for (size_t i = 0; i < n; i++)
    {
      guint32 bits;
      memcpy (&bits, (const guint8 *) src + 4 * i, 4);
      bits = GUINT32_SWAP_LE_BE (bits);
      memcpy ((guint8 *) dest + 4 * i, &bits, 4);
    }
#endif
}

static char *
format_shape (int rank, const int64_t *shape)
{
  GString *text = g_string_new ("[");

  for (int i = 0; i < rank; i++)
    g_string_append_printf (text, "%s%" G_GINT64_FORMAT, i > 0 ? ", " : "", (gint64) shape[i]);
  g_string_append_c (text, ']');
  return g_string_free (text, FALSE);
}

/* g_set_error that returns FALSE, so that each check reads as one line. */
static gboolean G_GNUC_PRINTF (3, 4)
fail (GError **error, DgSafetensorsError code, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (DG_SAFETENSORS_ERROR, code, format, args));
  va_end (args);
  return FALSE;
}

/* A JSON number that is a non-negative integer; 4.0 and -1 are not. */
static gboolean
node_get_uint (JsonNode *node, guint64 *value)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64
      || json_node_get_int (node) < 0)
    return FALSE;
  *value = (guint64) json_node_get_int (node);
  return TRUE;
}

static gboolean
node_is_string (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
}

/* Checks one tensor's header entry on its own, against a data section of
 * @data_len bytes.  How the tensors fit together is check_coverage's job. */
static gboolean
parse_entry (const char *name, JsonNode *node, gsize data_len, Entry *entry, GError **error)
{
  static const char fields[][16] = { "dtype", "shape", "data_offsets" };
  guint64 n_elements;

  entry->name = name;
  if (*name == '\0')
    return fail (error, DG_SAFETENSORS_ERROR_HEADER,
                 "weights header has a tensor with an empty name");
  /* As for metadata: a JSON escape may spell invalid UTF-8. */
  if (!g_utf8_validate (name, -1, NULL))
    return fail (error, DG_SAFETENSORS_ERROR_HEADER,
                 "weights header has a tensor whose name is not valid UTF-8");
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, DG_SAFETENSORS_ERROR_HEADER,
                 "tensor “%s”: its weights header entry is not a JSON object", name);
  JsonObject *object = json_node_get_object (node);
  for (gsize i = 0; i < G_N_ELEMENTS (fields); i++)
    if (!json_object_has_member (object, fields[i]))
      return fail (error, DG_SAFETENSORS_ERROR_HEADER,
                   "tensor “%s” has no “%s” in the weights header", name, fields[i]);

  JsonNode *dtype = json_object_get_member (object, "dtype");
  if (!node_is_string (dtype))
    return fail (error, DG_SAFETENSORS_ERROR_HEADER, "tensor “%s”: “dtype” is not a string", name);
  if (strcmp (json_node_get_string (dtype), "F32") != 0)
    return fail (error, DG_SAFETENSORS_ERROR_DTYPE,
                 "tensor “%s” has dtype %s; only F32 weights are supported", name,
                 json_node_get_string (dtype));

  JsonNode *shape = json_object_get_member (object, "shape");
  if (!JSON_NODE_HOLDS_ARRAY (shape))
    return fail (error, DG_SAFETENSORS_ERROR_HEADER, "tensor “%s”: “shape” is not an array", name);
  JsonArray *dims = json_node_get_array (shape);
  if (json_array_get_length (dims) > DG_SAFETENSORS_MAX_RANK)
    return fail (error, DG_SAFETENSORS_ERROR_LIMIT,
                 "tensor “%s” has %u dimensions, over the limit of %d", name,
                 json_array_get_length (dims), DG_SAFETENSORS_MAX_RANK);
  entry->rank = (int) json_array_get_length (dims);
  for (int i = 0; i < entry->rank; i++)
    {
      guint64 dim;
      if (!node_get_uint (json_array_get_element (dims, i), &dim))
        return fail (error, DG_SAFETENSORS_ERROR_HEADER,
                     "tensor “%s”: dimension %d of “shape” is not a non-negative integer",
                     name, i);
      entry->shape[i] = (int64_t) dim;
    }
  g_autofree char *shape_text = format_shape (entry->rank, entry->shape);
  if (!count_elements (entry->rank, entry->shape, &n_elements))
    return fail (error, DG_SAFETENSORS_ERROR_HEADER,
                 "tensor “%s”: shape %s has too many elements", name, shape_text);

  JsonNode *offsets = json_object_get_member (object, "data_offsets");
  JsonArray *pair = JSON_NODE_HOLDS_ARRAY (offsets) ? json_node_get_array (offsets) : NULL;
  if (pair == NULL || json_array_get_length (pair) != 2
      || !node_get_uint (json_array_get_element (pair, 0), &entry->begin)
      || !node_get_uint (json_array_get_element (pair, 1), &entry->end))
    return fail (error, DG_SAFETENSORS_ERROR_HEADER,
                 "tensor “%s”: “data_offsets” is not a pair of non-negative integers", name);
  if (entry->end < entry->begin)
    return fail (error, DG_SAFETENSORS_ERROR_OFFSETS,
                 "tensor “%s”: data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                 "] end before they begin", name, entry->begin, entry->end);
  /* count_elements has checked that this cannot overflow. */
  guint64 n_bytes = n_elements * sizeof (float);
  if (entry->end - entry->begin != n_bytes)
    return fail (error, DG_SAFETENSORS_ERROR_OFFSETS,
                 "tensor “%s”: shape %s needs %" G_GUINT64_FORMAT " bytes but data_offsets "
                 "span %" G_GUINT64_FORMAT, name, shape_text, n_bytes, entry->end - entry->begin);
  if (entry->end > data_len)
    return fail (error, DG_SAFETENSORS_ERROR_TRUNCATED,
                 "weights file truncated: tensor “%s” needs %" G_GUINT64_FORMAT " bytes at "
                 "offset %" G_GUINT64_FORMAT ", the data section has %" G_GSIZE_FORMAT,
                 name, n_bytes, entry->begin, data_len);
  return TRUE;
}

/* Ties on begin put empty tensors first, so that [16, 16) then [16, 40)
 * reads as contiguous rather than as an overlap. */
static int
compare_entries (gconstpointer a, gconstpointer b)
{
  const Entry *x = a, *y = b;

  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

/* The tensors, sorted by offset, must cover the data section exactly:
 * overlaps would alias weights, and gaps or a tail mean the header and
 * the data disagree, so the file is not what it claims to be. */
static gboolean
check_coverage (GArray *entries, gsize data_len, GError **error)
{
  guint64 cursor = 0;

  g_array_sort (entries, compare_entries);
  for (guint i = 0; i < entries->len; i++)
    {
      const Entry *entry = &g_array_index (entries, Entry, i);
      if (entry->begin < cursor)
        return fail (error, DG_SAFETENSORS_ERROR_OFFSETS,
                     "tensors “%s” and “%s” overlap in the weights data",
                     g_array_index (entries, Entry, i - 1).name, entry->name);
      if (entry->begin > cursor)
        return fail (error, DG_SAFETENSORS_ERROR_OFFSETS,
                     "weights data has a gap of %" G_GUINT64_FORMAT " unused bytes at offset %"
                     G_GUINT64_FORMAT ", before tensor “%s”", entry->begin - cursor, cursor,
                     entry->name);
      cursor = entry->end;
    }
  if (cursor != data_len)
    return fail (error, DG_SAFETENSORS_ERROR_OFFSETS,
                 "weights data has %" G_GUINT64_FORMAT " bytes left over: the data section "
                 "is %" G_GSIZE_FORMAT " bytes, the tensors cover %" G_GUINT64_FORMAT,
                 data_len - cursor, data_len, cursor);
  return TRUE;
}

static gboolean
parse_metadata (JsonNode *node, GHashTable *metadata, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, DG_SAFETENSORS_ERROR_HEADER,
                 "weights header: “" METADATA_KEY "” is not a JSON object");
  JsonObject *object = json_node_get_object (node);
  g_autoptr(GList) keys = json_object_get_members (object);
  for (GList *l = keys; l != NULL; l = l->next)
    {
      JsonNode *value = json_object_get_member (object, l->data);
      /* The header is UTF-8, but JSON escapes may still spell a lone
       * surrogate ("\ud800"), which json-glib passes on as invalid UTF-8. */
      if (!g_utf8_validate (l->data, -1, NULL))
        return fail (error, DG_SAFETENSORS_ERROR_HEADER,
                     "weights header: a metadata key is not valid UTF-8");
      if (!node_is_string (value))
        return fail (error, DG_SAFETENSORS_ERROR_HEADER,
                     "weights header: metadata “%s” is not a string", (char *) l->data);
      if (!g_utf8_validate (json_node_get_string (value), -1, NULL))
        return fail (error, DG_SAFETENSORS_ERROR_HEADER,
                     "weights header: metadata “%s” is not valid UTF-8", (char *) l->data);
      g_hash_table_replace (metadata, g_strdup (l->data), g_strdup (json_node_get_string (value)));
    }
  return TRUE;
}

/* json-glib keeps only one of two members with the same name, so a
 * repeated tensor name is caught while parsing: the parser reports every
 * member of the top-level object (depth 1) as it goes. */
typedef struct
{
  int depth;
  GHashTable *seen;
  char *duplicate; /* the first name seen twice, or NULL */
} NameScan;

static void
on_object_start (JsonParser *parser, NameScan *scan)
{
  scan->depth++;
}

static void
on_object_end (JsonParser *parser, JsonObject *object, NameScan *scan)
{
  scan->depth--;
}

static void
on_object_member (JsonParser *parser, JsonObject *object, const char *name, NameScan *scan)
{
  if (scan->depth == 1 && scan->duplicate == NULL
      && !g_hash_table_add (scan->seen, g_strdup (name)))
    scan->duplicate = g_strdup (name);
}

/* Fills the empty @file from @bytes, or fails leaving it partly filled. */
static gboolean
parse_file (const guint8 *bytes, gsize length, DgTensorFile *file, GError **error)
{
  guint64 header_len;

  if (length == 0)
    return fail (error, DG_SAFETENSORS_ERROR_TRUNCATED, "weights file is empty");
  if (length < sizeof header_len)
    return fail (error, DG_SAFETENSORS_ERROR_TRUNCATED,
                 "weights file is only %" G_GSIZE_FORMAT " bytes, too short for the 8-byte "
                 "header length", length);
  memcpy (&header_len, bytes, sizeof header_len);
  header_len = GUINT64_FROM_LE (header_len);
  if (header_len == 0)
    return fail (error, DG_SAFETENSORS_ERROR_HEADER,
                 "weights header length is 0; a header holds at least “{}”");
  if (header_len > DG_SAFETENSORS_MAX_HEADER)
    return fail (error, DG_SAFETENSORS_ERROR_LIMIT,
                 "weights header length %" G_GUINT64_FORMAT " is over the limit of %u bytes",
                 header_len, DG_SAFETENSORS_MAX_HEADER);
  if (header_len > length - sizeof header_len)
    return fail (error, DG_SAFETENSORS_ERROR_TRUNCATED,
                 "weights file truncated: the header length is %" G_GUINT64_FORMAT " bytes, "
                 "the file has %" G_GSIZE_FORMAT " after the length field",
                 header_len, length - sizeof header_len);
  const char *header = (const char *) bytes + sizeof header_len;
  const guint8 *data = bytes + sizeof header_len + header_len;
  gsize data_len = length - sizeof header_len - header_len;

  /* Also refuses NUL bytes, which would end the JSON text early. */
  if (!g_utf8_validate (header, (gssize) header_len, NULL))
    return fail (error, DG_SAFETENSORS_ERROR_HEADER, "weights header is not valid UTF-8 text");

  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  NameScan scan = { 0, seen, NULL };
  g_autoptr(GError) json_error = NULL;
  g_signal_connect (parser, "object-start", G_CALLBACK (on_object_start), &scan);
  g_signal_connect (parser, "object-end", G_CALLBACK (on_object_end), &scan);
  g_signal_connect (parser, "object-member", G_CALLBACK (on_object_member), &scan);
  gboolean parsed = json_parser_load_from_data (parser, header, (gssize) header_len, &json_error);
  g_autofree char *duplicate = scan.duplicate;
  if (!parsed)
    {
      /* json-glib quotes the offending bytes, valid UTF-8 or not. */
      g_autofree char *reason = g_utf8_make_valid (json_error->message, -1);
      return fail (error, DG_SAFETENSORS_ERROR_HEADER, "weights header is not valid JSON: %s",
                   reason);
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return fail (error, DG_SAFETENSORS_ERROR_HEADER, "weights header is not a JSON object");
  if (duplicate != NULL)
    {
      g_autofree char *shown = g_utf8_make_valid (duplicate, -1);
      return fail (error, DG_SAFETENSORS_ERROR_HEADER, "weights header names “%s” twice", shown);
    }

  JsonObject *object = json_node_get_object (root);
  JsonNode *metadata = json_object_get_member (object, METADATA_KEY);
  guint n_tensors = json_object_get_size (object) - (metadata != NULL);
  if (n_tensors > DG_SAFETENSORS_MAX_TENSORS)
    return fail (error, DG_SAFETENSORS_ERROR_LIMIT,
                 "weights file holds %u tensors, over the limit of %d", n_tensors,
                 DG_SAFETENSORS_MAX_TENSORS);
  if (metadata != NULL && !parse_metadata (metadata, file->metadata, error))
    return FALSE;

  g_autoptr(GArray) entries = g_array_sized_new (FALSE, FALSE, sizeof (Entry), n_tensors);
  g_autoptr(GList) names = json_object_get_members (object);
  for (GList *l = names; l != NULL; l = l->next)
    {
      Entry entry = { 0 };
      if (strcmp (l->data, METADATA_KEY) == 0)
        continue;
      if (!parse_entry (l->data, json_object_get_member (object, l->data), data_len, &entry,
                        error))
        return FALSE;
      g_array_append_val (entries, entry);
    }
  if (!check_coverage (entries, data_len, error))
    return FALSE;

  /* Everything is checked; the sizes below are bounded by the file's. */
  for (guint i = 0; i < entries->len; i++)
    {
      const Entry *entry = &g_array_index (entries, Entry, i);
      size_t n_elements = (size_t) ((entry->end - entry->begin) / sizeof (float));
      DgTensor *tensor = append_tensor (file, entry->name, entry->rank, entry->shape, n_elements);
      copy_floats_le (tensor->data, data + entry->begin, n_elements);
    }
  return TRUE;
}

DgTensorFile *
dg_tensor_file_load_from_data (const guint8 *bytes, gsize length, GError **error)
{
  g_return_val_if_fail (bytes != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr(DgTensorFile) file = dg_tensor_file_new ();
  if (!parse_file (bytes, length, file, error))
    return NULL;
  return g_steal_pointer (&file);
}

DgTensorFile *
dg_tensor_file_load (const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* GLib's message already names the file and the reason. */
  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      g_set_error_literal (error, DG_SAFETENSORS_ERROR, DG_SAFETENSORS_ERROR_IO,
                           local_error->message);
      return NULL;
    }
  DgTensorFile *file = dg_tensor_file_load_from_data ((const guint8 *) contents, length, error);
  if (file == NULL)
    {
      g_autofree char *display = g_filename_display_name (path);
      g_prefix_error (error, "%s: ", display);
    }
  return file;
}

GBytes *
dg_tensor_file_serialize (const DgTensorFile *file)
{
  g_return_val_if_fail (file != NULL, NULL);

  g_autoptr(JsonBuilder) builder = json_builder_new ();
  json_builder_begin_object (builder);
  if (g_hash_table_size (file->metadata) > 0)
    {
      /* Sorted, so that the same weights always give the same bytes. */
      g_autoptr(GList) keys = g_list_sort (g_hash_table_get_keys (file->metadata),
                                           (GCompareFunc) strcmp);
      json_builder_set_member_name (builder, METADATA_KEY);
      json_builder_begin_object (builder);
      for (GList *l = keys; l != NULL; l = l->next)
        {
          json_builder_set_member_name (builder, l->data);
          json_builder_add_string_value (builder, g_hash_table_lookup (file->metadata, l->data));
        }
      json_builder_end_object (builder);
    }
  guint64 data_len = 0;
  for (guint i = 0; i < file->tensors->len; i++)
    {
      const DgTensor *tensor = g_ptr_array_index (file->tensors, i);
      guint64 n_elements, n_bytes = (guint64) tensor->n_elements * sizeof (float);
      /* The struct is public; a shape edited behind our back would make a
       * file that the loader refuses. */
      g_return_val_if_fail (count_elements (tensor->rank, tensor->shape, &n_elements)
                            && n_elements == tensor->n_elements, NULL);
      json_builder_set_member_name (builder, tensor->name);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "dtype");
      json_builder_add_string_value (builder, "F32");
      json_builder_set_member_name (builder, "shape");
      json_builder_begin_array (builder);
      for (int d = 0; d < tensor->rank; d++)
        json_builder_add_int_value (builder, tensor->shape[d]);
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "data_offsets");
      json_builder_begin_array (builder);
      json_builder_add_int_value (builder, (gint64) data_len);
      json_builder_add_int_value (builder, (gint64) (data_len + n_bytes));
      json_builder_end_array (builder);
      json_builder_end_object (builder);
      data_len += n_bytes;
    }
  json_builder_end_object (builder);

  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  gsize json_len;
  json_generator_set_root (generator, root);
  g_autofree char *json = json_generator_to_data (generator, &json_len);

  /* Spaces pad the header so the data starts 8-byte aligned in the file,
   * as the format recommends for readers that map it. */
  guint64 header_len = (json_len + 7) & ~(guint64) 7;
  gsize total = sizeof header_len + header_len + data_len;
  guint8 *bytes = g_malloc (total);
  guint64 header_len_le = GUINT64_TO_LE (header_len);
  memcpy (bytes, &header_len_le, sizeof header_len_le);
  memcpy (bytes + sizeof header_len, json, json_len);
  memset (bytes + sizeof header_len + json_len, ' ', header_len - json_len);
  guint8 *data = bytes + sizeof header_len + header_len;
  for (guint i = 0; i < file->tensors->len; i++)
    {
      const DgTensor *tensor = g_ptr_array_index (file->tensors, i);
      copy_floats_le (data, tensor->data, tensor->n_elements);
      data += tensor->n_elements * sizeof (float);
    }
  return g_bytes_new_take (bytes, total);
}

gboolean
dg_tensor_file_save (const DgTensorFile *file, const char *path, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  gsize size;

  g_return_val_if_fail (file != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autoptr(GBytes) bytes = dg_tensor_file_serialize (file);
  const char *contents = g_bytes_get_data (bytes, &size);
  /* CONSISTENT writes a temporary file and renames it over @path; DURABLE
   * adds the fsync that makes the rename safe across a crash. */
  if (!g_file_set_contents_full (path, contents, (gssize) size,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0666, &local_error))
    {
      g_autofree char *display = g_filename_display_name (path);
      g_set_error (error, DG_SAFETENSORS_ERROR, DG_SAFETENSORS_ERROR_IO,
                   "cannot save weights to %s: %s", display, local_error->message);
      return FALSE;
    }
  return TRUE;
}
