/* test-safetensors.c: round trips, atomic saves, and one test per way a
 * weights file can be malformed.  Malformed files are built in memory. */
#include "dg-safetensors.h"

#include <glib/gstdio.h>
#include <string.h>

/* A weights file: @claimed_len in the length field, then @json as the
 * header (single quotes standing for double, for legibility), then
 * @data_len zero bytes of tensor data. */
static GBytes *
make_file_claiming (guint64 claimed_len, const char *json, gsize json_len, gsize data_len)
{
  GByteArray *bytes = g_byte_array_new ();
  guint64 claimed_le = GUINT64_TO_LE (claimed_len);
  g_autofree char *header = g_memdup2 (json, json_len);

  for (gsize i = 0; i < json_len; i++)
    if (header[i] == '\'')
      header[i] = '"';
  g_byte_array_append (bytes, (const guint8 *) &claimed_le, sizeof claimed_le);
  g_byte_array_append (bytes, (const guint8 *) header, json_len);
  g_byte_array_set_size (bytes, bytes->len + data_len);
  memset (bytes->data + bytes->len - data_len, 0, data_len);
  return g_byte_array_free_to_bytes (bytes);
}

static GBytes *
make_file (const char *json, gsize data_len)
{
  return make_file_claiming (strlen (json), json, strlen (json), data_len);
}

static DgTensorFile *
load_bytes (GBytes *bytes, GError **error)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);

  return dg_tensor_file_load_from_data (data, size, error);
}

/* Loading @bytes fails with @code, and the message names @tensor (if not
 * NULL) and @detail, so that a person could find the problem. */
static void
assert_load_fails (GBytes *bytes, int code, const char *tensor, const char *detail)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DgTensorFile) file = load_bytes (bytes, &error);

  g_assert_null (file);
  g_assert_error (error, DG_SAFETENSORS_ERROR, code);
  g_test_message ("error: %s", error->message);
  /* Messages reach the window's labels, which take only UTF-8. */
  if (!g_utf8_validate (error->message, -1, NULL))
    g_test_fail_printf ("error message is not valid UTF-8");
  if (tensor != NULL && strstr (error->message, tensor) == NULL)
    g_test_fail_printf ("error “%s” does not name tensor “%s”", error->message, tensor);
  if (strstr (error->message, detail) == NULL)
    g_test_fail_printf ("error “%s” does not mention “%s”", error->message, detail);
}

typedef struct
{
  const char *path;
  const char *json;   /* the header, ' for " */
  gsize data_len;     /* bytes of data after the header */
  int code;           /* DgSafetensorsError expected */
  const char *tensor; /* the message must name it, if not NULL */
  const char *detail; /* the message must contain it */
} MalformedCase;

#define F32 "'dtype': 'F32', "

static const MalformedCase malformed_cases[] = {
  { "json/not-well-formed", "{'w': ", 0, DG_SAFETENSORS_ERROR_HEADER, NULL, "not valid JSON" },
  { "json/not-object", "[1, 2]", 0, DG_SAFETENSORS_ERROR_HEADER, NULL, "not a JSON object" },
  { "json/blank", "        ", 0, DG_SAFETENSORS_ERROR_HEADER, NULL, "not a JSON object" },
  { "json/not-utf8", "{'\xff': 1}", 0, DG_SAFETENSORS_ERROR_HEADER, NULL, "UTF-8" },
  { "entry/not-object", "{'conv1.weight': [0, 4]}", 0, DG_SAFETENSORS_ERROR_HEADER,
    "conv1.weight", "not a JSON object" },
  { "entry/no-dtype", "{'fc.bias': {'shape': [1], 'data_offsets': [0, 4]}}", 4,
    DG_SAFETENSORS_ERROR_HEADER, "fc.bias", "dtype" },
  { "entry/no-shape", "{'fc.bias': {" F32 "'data_offsets': [0, 4]}}", 4,
    DG_SAFETENSORS_ERROR_HEADER, "fc.bias", "shape" },
  { "entry/no-data-offsets", "{'fc.bias': {" F32 "'shape': [1]}}", 4,
    DG_SAFETENSORS_ERROR_HEADER, "fc.bias", "data_offsets" },
  { "entry/dtype-number", "{'fc.bias': {'dtype': 32, 'shape': [1], 'data_offsets': [0, 4]}}", 4,
    DG_SAFETENSORS_ERROR_HEADER, "fc.bias", "dtype" },
  { "entry/shape-number", "{'fc.bias': {" F32 "'shape': 1, 'data_offsets': [0, 4]}}", 4,
    DG_SAFETENSORS_ERROR_HEADER, "fc.bias", "shape" },
  { "entry/shape-float", "{'fc.bias': {" F32 "'shape': [1.0], 'data_offsets': [0, 4]}}", 4,
    DG_SAFETENSORS_ERROR_HEADER, "fc.bias", "shape" },
  { "entry/shape-string", "{'fc.bias': {" F32 "'shape': ['1'], 'data_offsets': [0, 4]}}", 4,
    DG_SAFETENSORS_ERROR_HEADER, "fc.bias", "shape" },
  { "entry/shape-bool", "{'fc.bias': {" F32 "'shape': [true], 'data_offsets': [0, 4]}}", 4,
    DG_SAFETENSORS_ERROR_HEADER, "fc.bias", "shape" },
  { "entry/offsets-float", "{'fc.bias': {" F32 "'shape': [1], 'data_offsets': [0, 4.0]}}", 4,
    DG_SAFETENSORS_ERROR_HEADER, "fc.bias", "data_offsets" },
  { "entry/offsets-three", "{'fc.bias': {" F32 "'shape': [1], 'data_offsets': [0, 4, 8]}}", 8,
    DG_SAFETENSORS_ERROR_HEADER, "fc.bias", "data_offsets" },
  { "entry/offsets-string", "{'fc.bias': {" F32 "'shape': [1], 'data_offsets': '0-4'}}", 4,
    DG_SAFETENSORS_ERROR_HEADER, "fc.bias", "data_offsets" },
  { "entry/offsets-negative", "{'fc.bias': {" F32 "'shape': [1], 'data_offsets': [-4, 0]}}", 4,
    DG_SAFETENSORS_ERROR_HEADER, "fc.bias", "data_offsets" },
  { "entry/offsets-u64-max",
    "{'fc.bias': {" F32 "'shape': [1], 'data_offsets': [0, 18446744073709551615]}}", 4,
    DG_SAFETENSORS_ERROR_HEADER, "fc.bias", "data_offsets" },
  { "dtype/f16", "{'conv1.weight': {'dtype': 'F16', 'shape': [2], 'data_offsets': [0, 4]}}", 4,
    DG_SAFETENSORS_ERROR_DTYPE, "conv1.weight", "F16" },
  { "dtype/bf16", "{'conv1.weight': {'dtype': 'BF16', 'shape': [2], 'data_offsets': [0, 4]}}",
    4, DG_SAFETENSORS_ERROR_DTYPE, "conv1.weight", "BF16" },
  { "dtype/i64", "{'steps': {'dtype': 'I64', 'shape': [], 'data_offsets': [0, 8]}}", 8,
    DG_SAFETENSORS_ERROR_DTYPE, "steps", "I64" },
  { "dtype/lowercase", "{'fc.bias': {'dtype': 'f32', 'shape': [1], 'data_offsets': [0, 4]}}", 4,
    DG_SAFETENSORS_ERROR_DTYPE, "fc.bias", "f32" },
  { "shape/rank-5", "{'fc.bias': {" F32 "'shape': [1, 1, 1, 1, 1], 'data_offsets': [0, 4]}}", 4,
    DG_SAFETENSORS_ERROR_LIMIT, "fc.bias", "5 dimensions" },
  { "shape/negative", "{'fc.bias': {" F32 "'shape': [4, -1], 'data_offsets': [0, 4]}}", 4,
    DG_SAFETENSORS_ERROR_HEADER, "fc.bias", "dimension 1" },
  { "shape/count-overflow",
    "{'fc.bias': {" F32 "'shape': [4294967296, 4294967296, 2], 'data_offsets': [0, 0]}}", 0,
    DG_SAFETENSORS_ERROR_HEADER, "fc.bias", "too many elements" },
  { "shape/bytes-overflow",
    "{'fc.bias': {" F32 "'shape': [4611686018427387904], 'data_offsets': [0, 0]}}", 0,
    DG_SAFETENSORS_ERROR_HEADER, "fc.bias", "too many elements" },
  { "shape/disagrees", "{'fc.weight': {" F32 "'shape': [2, 3], 'data_offsets': [0, 20]}}", 20,
    DG_SAFETENSORS_ERROR_OFFSETS, "fc.weight", "needs 24 bytes" },
  { "offsets/end-before-begin", "{'fc.bias': {" F32 "'shape': [1], 'data_offsets': [8, 4]}}", 8,
    DG_SAFETENSORS_ERROR_OFFSETS, "fc.bias", "end before" },
  { "offsets/past-end", "{'conv1.weight': {" F32 "'shape': [4], 'data_offsets': [0, 16]}}", 8,
    DG_SAFETENSORS_ERROR_TRUNCATED, "conv1.weight", "the data section has 8" },
  { "offsets/far-past-end",
    "{'fc.bias': {" F32 "'shape': [1], "
    "'data_offsets': [9223372036854775800, 9223372036854775804]}}", 0,
    DG_SAFETENSORS_ERROR_TRUNCATED, "fc.bias", "offset 9223372036854775800" },
  { "offsets/overlap",
    "{'a': {" F32 "'shape': [2], 'data_offsets': [0, 8]}, "
    "'b': {" F32 "'shape': [2], 'data_offsets': [4, 12]}}", 12,
    DG_SAFETENSORS_ERROR_OFFSETS, "“a” and “b”", "overlap" },
  { "offsets/same-bytes",
    "{'a': {" F32 "'shape': [1], 'data_offsets': [0, 4]}, "
    "'b': {" F32 "'shape': [1], 'data_offsets': [0, 4]}}", 4,
    DG_SAFETENSORS_ERROR_OFFSETS, "“a” and “b”", "overlap" },
  { "offsets/gap",
    "{'a': {" F32 "'shape': [1], 'data_offsets': [0, 4]}, "
    "'b': {" F32 "'shape': [1], 'data_offsets': [8, 12]}}", 12,
    DG_SAFETENSORS_ERROR_OFFSETS, "b", "gap of 4 unused bytes at offset 4" },
  { "offsets/not-from-zero", "{'a': {" F32 "'shape': [1], 'data_offsets': [4, 8]}}", 8,
    DG_SAFETENSORS_ERROR_OFFSETS, "a", "gap of 4 unused bytes at offset 0" },
  { "offsets/left-over", "{'a': {" F32 "'shape': [1], 'data_offsets': [0, 4]}}", 8,
    DG_SAFETENSORS_ERROR_OFFSETS, NULL, "4 bytes left over" },
  { "offsets/data-without-tensors", "{}", 4, DG_SAFETENSORS_ERROR_OFFSETS, NULL,
    "4 bytes left over" },
  { "metadata/not-object", "{'__metadata__': 'pt'}", 0, DG_SAFETENSORS_ERROR_HEADER, NULL,
    "__metadata__" },
  { "metadata/number", "{'__metadata__': {'format': 'pt', 'epochs': 12}}", 0,
    DG_SAFETENSORS_ERROR_HEADER, NULL, "“epochs” is not a string" },
  { "metadata/null", "{'__metadata__': {'note': null}}", 0, DG_SAFETENSORS_ERROR_HEADER, NULL,
    "“note” is not a string" },
  { "name/duplicate",
    "{'fc.bias': {" F32 "'shape': [1], 'data_offsets': [0, 4]}, "
    "'fc.bias': {" F32 "'shape': [1], 'data_offsets': [4, 8]}}", 8,
    DG_SAFETENSORS_ERROR_HEADER, "fc.bias", "twice" },
  { "name/empty", "{'': {" F32 "'shape': [1], 'data_offsets': [0, 4]}}", 4,
    DG_SAFETENSORS_ERROR_HEADER, NULL, "empty name" },
  /* The header is valid UTF-8, but a JSON escape can still spell a lone
   * surrogate, which json-glib decodes to invalid UTF-8 (found by fuzzing). */
  { "utf8/metadata-value", "{'__metadata__': {'arch': 'dense10\\ud800x'}}", 0,
    DG_SAFETENSORS_ERROR_HEADER, NULL, "metadata “arch” is not valid UTF-8" },
  { "utf8/metadata-key", "{'__metadata__': {'\\udfffk': 'x'}}", 0,
    DG_SAFETENSORS_ERROR_HEADER, NULL, "metadata key is not valid UTF-8" },
  { "utf8/name", "{'fc\\ud800x': {" F32 "'shape': [1], 'data_offsets': [0, 4]}}", 4,
    DG_SAFETENSORS_ERROR_HEADER, NULL, "name is not valid UTF-8" },
  { "utf8/bad-escape-quoted", "{'__metadat\\20000'arch': 1}", 0, DG_SAFETENSORS_ERROR_HEADER,
    NULL, "not valid JSON" },
};

static void
test_malformed (gconstpointer data)
{
  const MalformedCase *c = data;
  g_autoptr(GBytes) bytes = make_file (c->json, c->data_len);

  assert_load_fails (bytes, c->code, c->tensor, c->detail);
}

static void
test_empty_file (void)
{
  g_autoptr(GBytes) bytes = g_bytes_new (NULL, 0);

  assert_load_fails (bytes, DG_SAFETENSORS_ERROR_TRUNCATED, NULL, "empty");
}

static void
test_short_file (void)
{
  static const guint8 five[] = { 2, 0, 0, 0, 0 };
  g_autoptr(GBytes) bytes = g_bytes_new_static (five, sizeof five);

  assert_load_fails (bytes, DG_SAFETENSORS_ERROR_TRUNCATED, NULL, "only 5 bytes");
}

static void
test_header_zero (void)
{
  g_autoptr(GBytes) bytes = make_file_claiming (0, "{}", 2, 6);

  assert_load_fails (bytes, DG_SAFETENSORS_ERROR_HEADER, NULL, "length is 0");
}

static void
test_header_past_end (void)
{
  g_autoptr(GBytes) bytes = make_file_claiming (100, "{}", 2, 0);

  assert_load_fails (bytes, DG_SAFETENSORS_ERROR_TRUNCATED, NULL, "header length is 100");
}

/* Claims like these must be refused before any allocation; ASan would
 * report an attempt to allocate 2^64 bytes. */
static void
test_header_over_limit (void)
{
  g_autoptr(GBytes) just_over = make_file_claiming (DG_SAFETENSORS_MAX_HEADER + 1, "{}", 2, 0);
  g_autoptr(GBytes) huge = make_file_claiming (G_MAXUINT64, "{}", 2, 0);

  assert_load_fails (just_over, DG_SAFETENSORS_ERROR_LIMIT, NULL, "16777217");
  assert_load_fails (huge, DG_SAFETENSORS_ERROR_LIMIT, NULL, "18446744073709551615");
}

static void
test_header_nul (void)
{
  static const char json[] = "{}\0     ";
  g_autoptr(GBytes) bytes = make_file_claiming (sizeof json - 1, json, sizeof json - 1, 0);

  assert_load_fails (bytes, DG_SAFETENSORS_ERROR_HEADER, NULL, "UTF-8");
}

/* @n_tensors tensors of one float each, laid end to end. */
static GBytes *
make_many_tensors (int n_tensors)
{
  g_autoptr(GString) json = g_string_new ("{");

  for (int i = 0; i < n_tensors; i++)
    g_string_append_printf (json, "%s't%d': {" F32 "'shape': [1], 'data_offsets': [%d, %d]}",
                            i > 0 ? ", " : "", i, 4 * i, 4 * i + 4);
  g_string_append_c (json, '}');
  return make_file (json->str, 4 * (gsize) n_tensors);
}

static void
test_too_many_tensors (void)
{
  g_autoptr(GBytes) at_limit = make_many_tensors (DG_SAFETENSORS_MAX_TENSORS);
  g_autoptr(GBytes) over_limit = make_many_tensors (DG_SAFETENSORS_MAX_TENSORS + 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(DgTensorFile) file = load_bytes (at_limit, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (file->tensors->len, ==, DG_SAFETENSORS_MAX_TENSORS);
  assert_load_fails (over_limit, DG_SAFETENSORS_ERROR_LIMIT, NULL, "1025 tensors");
}

/* A file as another writer might make it: keys sorted by name but data
 * in another order, an unpadded header, a scalar, and metadata. */
static void
test_foreign_file (void)
{
  static const char json[] =
    "{'__metadata__': {'format': 'pt'}, "
    "'a': {'dtype': 'F32', 'shape': [2], 'data_offsets': [4, 12]}, "
    "'b': {'dtype': 'F32', 'shape': [], 'data_offsets': [0, 4]}}   ";
  static const guint32 values[] = { 0x3fc00000 /* 1.5 */, 0xc0000000 /* -2 */,
                                    0x40500000 /* 3.25 */ };
  g_autoptr(GByteArray) bytes = g_bytes_unref_to_array (make_file (json, 0));
  g_autoptr(GError) error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (values); i++)
    {
      guint32 le = GUINT32_TO_LE (values[i]);
      g_byte_array_append (bytes, (const guint8 *) &le, sizeof le);
    }
  g_autoptr(DgTensorFile) file = dg_tensor_file_load_from_data (bytes->data, bytes->len, &error);
  g_assert_no_error (error);

  /* File order is data order. */
  g_assert_cmpuint (file->tensors->len, ==, 2);
  const DgTensor *b = g_ptr_array_index (file->tensors, 0);
  const DgTensor *a = g_ptr_array_index (file->tensors, 1);
  g_assert_cmpstr (b->name, ==, "b");
  g_assert_cmpint (b->rank, ==, 0);
  g_assert_cmpuint (b->n_elements, ==, 1);
  g_assert_cmpfloat (b->data[0], ==, 1.5f);
  g_assert_cmpstr (a->name, ==, "a");
  g_assert_cmpint (a->rank, ==, 1);
  g_assert_cmpint (a->shape[0], ==, 2);
  g_assert_cmpfloat (a->data[0], ==, -2.0f);
  g_assert_cmpfloat (a->data[1], ==, 3.25f);
  g_assert_true (dg_tensor_file_lookup (file, "a") == a);
  g_assert_null (dg_tensor_file_lookup (file, "c"));
  g_assert_cmpstr (dg_tensor_file_get_metadata (file, "format"), ==, "pt");
}

static void
assert_files_equal (const DgTensorFile *expected, const DgTensorFile *actual)
{
  g_assert_cmpuint (actual->tensors->len, ==, expected->tensors->len);
  for (guint i = 0; i < expected->tensors->len; i++)
    {
      const DgTensor *e = g_ptr_array_index (expected->tensors, i);
      const DgTensor *a = g_ptr_array_index (actual->tensors, i);
      g_assert_cmpstr (a->name, ==, e->name);
      g_assert_cmpint (a->rank, ==, e->rank);
      for (int d = 0; d < e->rank; d++)
        g_assert_cmpint (a->shape[d], ==, e->shape[d]);
      g_assert_cmpuint (a->n_elements, ==, e->n_elements);
      if (e->n_elements > 0)
        g_assert_cmpmem (a->data, a->n_elements * sizeof (float), e->data,
                         e->n_elements * sizeof (float));
    }

  GHashTableIter iter;
  const char *key, *value;
  g_assert_cmpuint (g_hash_table_size (actual->metadata), ==,
                    g_hash_table_size (expected->metadata));
  g_hash_table_iter_init (&iter, expected->metadata);
  while (g_hash_table_iter_next (&iter, (gpointer *) &key, (gpointer *) &value))
    g_assert_cmpstr (dg_tensor_file_get_metadata (actual, key), ==, value);
}

/* Bit patterns a float conversion anywhere on the way would disturb. */
static const guint32 special_bits[] = {
  0x7fc00001, /* quiet NaN with a payload */
  0x7f800001, /* signalling NaN */
  0xffc00000, /* negative NaN */
  0x7f800000, /* +inf */
  0xff800000, /* -inf */
  0x00000001, /* smallest denormal */
  0x807fffff, /* largest negative denormal */
  0x80000000, /* -0 */
  0x7f7fffff, /* FLT_MAX */
};

static DgTensorFile *
make_sample_file (void)
{
  DgTensorFile *file = dg_tensor_file_new ();
  float specials[G_N_ELEMENTS (special_bits)], conv[2 * 1 * 3 * 3], bias[2] = { 0.5f, -0.25f };
  float scale = 3.0f;

  memcpy (specials, special_bits, sizeof specials);
  for (gsize i = 0; i < G_N_ELEMENTS (conv); i++)
    conv[i] = 0.1f * (float) i - 0.7f;
  dg_tensor_file_add (file, "specials", 2, (const int64_t[]) { 3, 3 }, specials);
  dg_tensor_file_add (file, "conv1.weight", 4, (const int64_t[]) { 2, 1, 3, 3 }, conv);
  dg_tensor_file_add (file, "empty", 2, (const int64_t[]) { 0, 3 }, NULL);
  dg_tensor_file_add (file, "conv1.bias", 1, (const int64_t[]) { 2 }, bias);
  dg_tensor_file_add (file, "scale", 0, NULL, &scale);
  dg_tensor_file_set_metadata (file, "epochs", "12");
  dg_tensor_file_set_metadata (file, "note", "quotes \" and\nnewlines, ünïcödé");
  dg_tensor_file_set_metadata (file, "arch", "lenet");
  return file;
}

static void
test_roundtrip (void)
{
  g_autoptr(DgTensorFile) file = make_sample_file ();
  g_autoptr(GBytes) bytes = dg_tensor_file_serialize (file);
  g_autoptr(GError) error = NULL;
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  guint64 header_len;

  /* The layout itself, not just that we can read our own output. */
  memcpy (&header_len, data, sizeof header_len);
  header_len = GUINT64_FROM_LE (header_len);
  g_assert_cmpuint (header_len % 8, ==, 0);
  g_assert_true (data[8 + header_len - 1] == ' ' || data[8 + header_len - 1] == '}');
  g_assert_cmpuint (size, ==, 8 + header_len + (9 + 18 + 0 + 2 + 1) * sizeof (float));
  for (gsize i = 0; i < G_N_ELEMENTS (special_bits); i++)
    {
      guint32 le;
      memcpy (&le, data + 8 + header_len + 4 * i, sizeof le);
      g_assert_cmphex (GUINT32_FROM_LE (le), ==, special_bits[i]);
    }

  g_autoptr(DgTensorFile) loaded = load_bytes (bytes, &error);
  g_assert_no_error (error);
  assert_files_equal (file, loaded);
  g_assert_cmpint (dg_tensor_file_lookup (loaded, "empty")->shape[1], ==, 3);
  g_assert_cmpuint (dg_tensor_file_lookup (loaded, "scale")->n_elements, ==, 1);
  g_assert_cmpstr (dg_tensor_file_get_metadata (loaded, "arch"), ==, "lenet");
}

static void
test_roundtrip_nothing (void)
{
  g_autoptr(DgTensorFile) file = dg_tensor_file_new ();
  g_autoptr(GBytes) bytes = dg_tensor_file_serialize (file);
  g_autoptr(GError) error = NULL;
  g_autoptr(DgTensorFile) loaded = load_bytes (bytes, &error);

  g_assert_no_error (error);
  assert_files_equal (file, loaded);
}

/* Removes @dir and the files in it. */
static void
remove_dir (const char *dir)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (dir);
}

static void
test_save_load (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-safetensors-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
  g_autoptr(DgTensorFile) file = make_sample_file ();

  g_assert_true (dg_tensor_file_save (file, path, &error));
  g_assert_no_error (error);
  g_autoptr(DgTensorFile) loaded = dg_tensor_file_load (path, &error);
  g_assert_no_error (error);
  assert_files_equal (file, loaded);
  remove_dir (dir);
}

static void
test_save_replaces (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-safetensors-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
  g_autoptr(DgTensorFile) first = make_sample_file ();
  g_autoptr(DgTensorFile) second = dg_tensor_file_new ();
  const float weight = 42.0f;

  dg_tensor_file_add (second, "w", 1, (const int64_t[]) { 1 }, &weight);
  g_assert_true (dg_tensor_file_save (first, path, &error));
  g_assert_true (dg_tensor_file_save (second, path, &error));
  g_assert_no_error (error);
  g_autoptr(DgTensorFile) loaded = dg_tensor_file_load (path, &error);
  g_assert_no_error (error);
  assert_files_equal (second, loaded);

  /* No temporary file is left beside it. */
  g_autoptr(GDir) listing = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_dir_read_name (listing), ==, "model.safetensors");
  g_assert_null (g_dir_read_name (listing));
  remove_dir (dir);
}

static void
test_save_missing_dir (void)
{
  g_autoptr(DgTensorFile) file = make_sample_file ();
  g_autoptr(GError) error = NULL;
  const char *path = "/nonexistent-digits-dir/model.safetensors";

  g_assert_false (dg_tensor_file_save (file, path, &error));
  g_assert_error (error, DG_SAFETENSORS_ERROR, DG_SAFETENSORS_ERROR_IO);
  g_assert_nonnull (strstr (error->message, path));
}

static void
test_load_missing (void)
{
  g_autoptr(GError) error = NULL;
  const char *path = "/nonexistent-digits-dir/model.safetensors";
  g_autoptr(DgTensorFile) file = dg_tensor_file_load (path, &error);

  g_assert_null (file);
  g_assert_error (error, DG_SAFETENSORS_ERROR, DG_SAFETENSORS_ERROR_IO);
  g_assert_nonnull (strstr (error->message, path));
}

/* Errors from a file on disk say which file. */
static void
test_load_malformed_path (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-safetensors-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "broken.safetensors", NULL);
  g_autoptr(GBytes) bytes = make_file ("{'w': {'dtype': 'F16', 'shape': [2], "
                                       "'data_offsets': [0, 4]}}", 4);

  g_file_set_contents (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  g_assert_no_error (error);
  g_autoptr(DgTensorFile) file = dg_tensor_file_load (path, &error);
  g_assert_null (file);
  g_assert_error (error, DG_SAFETENSORS_ERROR, DG_SAFETENSORS_ERROR_DTYPE);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "F16"));
  remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/safetensors/roundtrip", test_roundtrip);
  g_test_add_func ("/safetensors/roundtrip/nothing", test_roundtrip_nothing);
  g_test_add_func ("/safetensors/foreign", test_foreign_file);
  g_test_add_func ("/safetensors/save/load", test_save_load);
  g_test_add_func ("/safetensors/save/replaces", test_save_replaces);
  g_test_add_func ("/safetensors/save/missing-dir", test_save_missing_dir);
  g_test_add_func ("/safetensors/load/missing", test_load_missing);
  g_test_add_func ("/safetensors/load/malformed-path", test_load_malformed_path);
  g_test_add_func ("/safetensors/malformed/empty", test_empty_file);
  g_test_add_func ("/safetensors/malformed/short", test_short_file);
  g_test_add_func ("/safetensors/malformed/header-zero", test_header_zero);
  g_test_add_func ("/safetensors/malformed/header-past-end", test_header_past_end);
  g_test_add_func ("/safetensors/malformed/header-over-limit", test_header_over_limit);
  g_test_add_func ("/safetensors/malformed/header-nul", test_header_nul);
  g_test_add_func ("/safetensors/malformed/too-many-tensors", test_too_many_tensors);
  for (gsize i = 0; i < G_N_ELEMENTS (malformed_cases); i++)
    {
      g_autofree char *path = g_strconcat ("/safetensors/malformed/", malformed_cases[i].path,
                                           NULL);
      g_test_add_data_func (path, &malformed_cases[i], test_malformed);
    }

  return g_test_run ();
}
