/* dg-strokes.h: stroke files — a drawing saved as JSON.
 *
 *   {"width": W, "height": H, "strokes": [[[x, y], [x, y, pressure], ...], ...]}
 *
 * x and y are canvas pixels (0 <= x <= W, 0 <= y <= H, but points off the
 * canvas are kept: a stroke may leave it); pressure, where given, is in
 * [0, 1].  Limits on strokes and points come from dg-preprocess.h.
 */
#pragma once

#include "dg-preprocess.h"

#include <glib.h>

G_BEGIN_DECLS

#define DG_STROKES_ERROR (dg_strokes_error_quark ())

typedef enum
{
  DG_STROKES_ERROR_SYNTAX, /* not JSON, or not the shape above */
  DG_STROKES_ERROR_LIMIT,  /* too many strokes or points, canvas too large */
} DgStrokesError;

#define DG_STROKES_MAX_CANVAS 100000.0 /* canvas pixels per side */

typedef struct
{
  double width, height; /* canvas size, pixels */
  GArray *points;       /* DgPoint, every stroke's points one after another */
  GArray *strokes;      /* DgStroke, pointing into points */
} DgDrawing;

GQuark dg_strokes_error_quark (void);

DgDrawing *dg_drawing_parse (const char *json, gsize length, GError **error);
DgDrawing *dg_drawing_load (const char *path, GError **error);
void dg_drawing_free (DgDrawing *drawing);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DgDrawing, dg_drawing_free)

G_END_DECLS
