/* dg-safetensors.h: the safetensors weights-file format, read and written.
 *
 * A file is a little-endian u64 header length N, N bytes of JSON, then raw
 * little-endian tensor bytes.  The JSON maps each tensor name to
 * {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]} (offsets
 * relative to the first byte after the header) and may hold a
 * "__metadata__" object of string -> string.
 *
 * This module knows nothing of models: it reads and writes named F32
 * tensors and string metadata, and trusts nothing it reads.  Matching the
 * tensors against an architecture is dg-model.c's job.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define DG_SAFETENSORS_ERROR (dg_safetensors_error_quark ())

typedef enum
{
  DG_SAFETENSORS_ERROR_IO,        /* cannot open, read or write the file */
  DG_SAFETENSORS_ERROR_TRUNCATED, /* file shorter than its header says */
  DG_SAFETENSORS_ERROR_HEADER,    /* header length, JSON or field malformed */
  DG_SAFETENSORS_ERROR_DTYPE,     /* a tensor that is not F32 */
  DG_SAFETENSORS_ERROR_OFFSETS,   /* offsets outside the data, overlapping, gaps */
  DG_SAFETENSORS_ERROR_LIMIT,     /* header, tensor count or rank over a limit */
} DgSafetensorsError;

/* Limits on what a file may claim, checked before anything is allocated. */
#define DG_SAFETENSORS_MAX_HEADER  (16u * 1024 * 1024) /* bytes of JSON */
#define DG_SAFETENSORS_MAX_TENSORS 1024
#define DG_SAFETENSORS_MAX_RANK    4

typedef struct
{
  char *name;
  int rank;                               /* number of dimensions, 0..4 */
  int64_t shape[DG_SAFETENSORS_MAX_RANK]; /* dims, outermost first */
  size_t n_elements;                      /* product of shape (1 for rank 0) */
  float *data;                            /* (n_elements), host byte order, owned */
} DgTensor;

typedef struct
{
  GPtrArray *tensors;   /* DgTensor *, in the order added or in file order */
  GHashTable *metadata; /* char * -> char *, the "__metadata__" object */
} DgTensorFile;

GQuark dg_safetensors_error_quark (void);

DgTensorFile *dg_tensor_file_new (void);
void dg_tensor_file_free (DgTensorFile *file);

/* Copies @data (n_elements floats).  Returns the new tensor, owned by @file. */
DgTensor *dg_tensor_file_add (DgTensorFile *file,
                              const char *name,
                              int rank,
                              const int64_t *shape,
                              const float *data);
const DgTensor *dg_tensor_file_lookup (const DgTensorFile *file, const char *name);

void dg_tensor_file_set_metadata (DgTensorFile *file, const char *key, const char *value);
const char *dg_tensor_file_get_metadata (const DgTensorFile *file, const char *key);

/* Parse a whole file held in memory.  Every malformed input is a GError
 * naming the problem (and the tensor, where there is one); never a crash. */
DgTensorFile *dg_tensor_file_load_from_data (const guint8 *bytes, gsize length, GError **error);
DgTensorFile *dg_tensor_file_load (const char *path, GError **error);

/* Serialise to memory (tensors laid out in the order they were added). */
GBytes *dg_tensor_file_serialize (const DgTensorFile *file);
/* Write atomically: a temporary file renamed into place, so an interrupted
 * write leaves any old file intact. */
gboolean dg_tensor_file_save (const DgTensorFile *file, const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DgTensorFile, dg_tensor_file_free)

G_END_DECLS
