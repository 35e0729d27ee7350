/* digits-canvas.h: the sheet of paper a person draws a digit on.
 *
 * The canvas records strokes from a mouse, a touchscreen or a pen (with its
 * pressure) and emits "changed" whenever the drawing changes.  Points are kept
 * in paper units: the paper is a square DIGITS_CANVAS_PAPER_SIZE units across,
 * (0, 0) at its top-left corner, drawn as large as the widget allows, so the
 * drawing survives a resized window unchanged.
 */
#pragma once

#include <gtk/gtk.h>

#include "dg-preprocess.h"

G_BEGIN_DECLS

#define DIGITS_CANVAS_PAPER_SIZE 280.0 /* paper units per side */

#define DIGITS_TYPE_CANVAS (digits_canvas_get_type ())

G_DECLARE_FINAL_TYPE (DigitsCanvas, digits_canvas, DIGITS, CANVAS, GtkWidget)

GtkWidget *digits_canvas_new (void);

/* Adds one finished stroke, as if it had been drawn; @points in paper units. */
void digits_canvas_add_stroke (DigitsCanvas *self, const DgPoint *points, int n_points);
/* The drawing as the engine takes it: (n_strokes) views into the canvas's own
 * storage, valid until the drawing next changes. */
const DgStroke *digits_canvas_get_strokes (DigitsCanvas *self, int *n_strokes);
gboolean digits_canvas_is_empty (DigitsCanvas *self);

/* Clear is undoable; undo and redo step one stroke (or one clear) at a time. */
void digits_canvas_clear (DigitsCanvas *self);
gboolean digits_canvas_undo (DigitsCanvas *self);
gboolean digits_canvas_redo (DigitsCanvas *self);
gboolean digits_canvas_can_undo (DigitsCanvas *self);
gboolean digits_canvas_can_redo (DigitsCanvas *self);

double digits_canvas_get_pen_width (DigitsCanvas *self);
void digits_canvas_set_pen_width (DigitsCanvas *self, double pen_width);

/* The drawing as a PNG, @side pixels square: dark ink on white paper. */
GBytes *digits_canvas_render_png (DigitsCanvas *self, int side, GError **error);

G_END_DECLS
