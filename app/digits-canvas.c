/* digits-canvas.c: the drawing paper — strokes in, "changed" out. */
#include "config.h"

#include "digits-canvas.h"

#include <glib/gi18n.h>
#include <math.h>

#define PAPER_INSET  8.0  /* widget pixels around the paper, for its shadow */
#define PAPER_RADIUS 10.0 /* widget pixels */
#define MIN_STEP     0.75 /* paper units: closer points add nothing but work */

typedef enum
{
  EDIT_ADD_STROKE, /* strokes holds the one stroke that was added */
  EDIT_CLEAR,      /* strokes holds what the paper held before */
} EditKind;

/* One step of the undo history. */
typedef struct
{
  EditKind kind;
  GPtrArray *strokes; /* GArray of DgPoint, shared with the drawing */
} Edit;

struct _DigitsCanvas
{
  GtkWidget parent_instance;

  GPtrArray *strokes;    /* GArray of DgPoint, in drawing order */
  GArray *stroke_views;  /* DgStroke, rebuilt by digits_canvas_get_strokes */
  GArray *current;       /* the stroke under the pointer (last of strokes), or NULL */
  guint n_points;        /* over all strokes, kept under DG_MAX_POINTS */
  GPtrArray *undo_stack; /* Edit, oldest first */
  GPtrArray *redo_stack; /* Edit, most recently undone last */

  double pen_width; /* paper units */

  GtkGesture *drag;   /* mouse and touch */
  GtkGesture *stylus; /* pens, with pressure */
  double drag_start_x, drag_start_y; /* widget pixels */
};

G_DEFINE_FINAL_TYPE (DigitsCanvas, digits_canvas, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_PEN_WIDTH,
  N_PROPS
};

enum
{
  CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static Edit *
edit_new (EditKind kind, GPtrArray *strokes)
{
  Edit *edit = g_new0 (Edit, 1);

  edit->kind = kind;
  edit->strokes = strokes;
  return edit;
}

static void
edit_free (gpointer data)
{
  Edit *edit = data;

  g_ptr_array_unref (edit->strokes);
  g_free (edit);
}

static GPtrArray *
stroke_list_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
}

static void
recount_points (DigitsCanvas *self)
{
  self->n_points = 0;
  for (guint i = 0; i < self->strokes->len; i++)
    self->n_points += ((GArray *) g_ptr_array_index (self->strokes, i))->len;
}

static void
emit_changed (DigitsCanvas *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[CHANGED], 0);
}

/* The paper: the largest square that fits, centred, in widget pixels. */
static void
get_paper (DigitsCanvas *self, graphene_rect_t *paper)
{
  double width = gtk_widget_get_width (GTK_WIDGET (self));
  double height = gtk_widget_get_height (GTK_WIDGET (self));
  double side = MAX (1.0, MIN (width, height) - 2 * PAPER_INSET);

  graphene_rect_init (paper, (width - side) / 2, (height - side) / 2, side, side);
}

static DgPoint
widget_to_paper (DigitsCanvas *self, double x, double y, double pressure)
{
  graphene_rect_t paper;
  double scale;

  get_paper (self, &paper);
  scale = DIGITS_CANVAS_PAPER_SIZE / paper.size.width;
  return (DgPoint) {
    .x = (float) ((x - paper.origin.x) * scale),
    .y = (float) ((y - paper.origin.y) * scale),
    .pressure = (float) pressure,
  };
}

static void
begin_stroke (DigitsCanvas *self, double x, double y, double pressure)
{
  DgPoint point = widget_to_paper (self, x, y, pressure);
  GArray *stroke;
  GPtrArray *added;

  if (self->strokes->len >= DG_MAX_STROKES || self->n_points >= DG_MAX_POINTS)
    return;

  stroke = g_array_new (FALSE, FALSE, sizeof (DgPoint));
  g_ptr_array_add (self->strokes, stroke);
  self->current = stroke;

  added = stroke_list_new ();
  g_ptr_array_add (added, g_array_ref (stroke));
  g_ptr_array_add (self->undo_stack, edit_new (EDIT_ADD_STROKE, added));
  g_ptr_array_set_size (self->redo_stack, 0);

  gtk_widget_grab_focus (GTK_WIDGET (self));
  g_array_append_val (stroke, point);
  self->n_points++;
  emit_changed (self);
}

static void
extend_stroke (DigitsCanvas *self, double x, double y, double pressure)
{
  DgPoint point;
  const DgPoint *last;

  if (self->current == NULL || self->n_points >= DG_MAX_POINTS)
    return;

  point = widget_to_paper (self, x, y, pressure);
  last = &g_array_index (self->current, DgPoint, self->current->len - 1);
  if (fabsf (point.x - last->x) < MIN_STEP && fabsf (point.y - last->y) < MIN_STEP)
    return;

  g_array_append_val (self->current, point);
  self->n_points++;
  emit_changed (self);
}

static void
end_stroke (DigitsCanvas *self)
{
  self->current = NULL;
}

static void
on_drag_begin (GtkGestureDrag *gesture, double start_x, double start_y, DigitsCanvas *self)
{
  GdkEvent *event = gtk_event_controller_get_current_event (GTK_EVENT_CONTROLLER (gesture));
  GdkDeviceTool *tool = event != NULL ? gdk_event_get_device_tool (event) : NULL;

  /* A pen is the stylus gesture's, which knows its pressure. */
  if (tool != NULL && gdk_device_tool_get_tool_type (tool) != GDK_DEVICE_TOOL_TYPE_MOUSE
      && gdk_device_tool_get_tool_type (tool) != GDK_DEVICE_TOOL_TYPE_UNKNOWN)
    {
      gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_DENIED);
      return;
    }

  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  self->drag_start_x = start_x;
  self->drag_start_y = start_y;
  begin_stroke (self, start_x, start_y, -1.0);
}

static void
on_drag_update (GtkGestureDrag *gesture, double offset_x, double offset_y, DigitsCanvas *self)
{
  extend_stroke (self, self->drag_start_x + offset_x, self->drag_start_y + offset_y, -1.0);
}

static void
on_drag_end (GtkGestureDrag *gesture, double offset_x, double offset_y, DigitsCanvas *self)
{
  end_stroke (self);
}

static double
stylus_pressure (GtkGestureStylus *gesture)
{
  double pressure;

  if (!gtk_gesture_stylus_get_axis (gesture, GDK_AXIS_PRESSURE, &pressure))
    return -1.0;
  return CLAMP (pressure, 0.0, 1.0);
}

static void
on_stylus_down (GtkGestureStylus *gesture, double x, double y, DigitsCanvas *self)
{
  begin_stroke (self, x, y, stylus_pressure (gesture));
}

static void
on_stylus_motion (GtkGestureStylus *gesture, double x, double y, DigitsCanvas *self)
{
  extend_stroke (self, x, y, stylus_pressure (gesture));
}

static void
on_stylus_up (GtkGestureStylus *gesture, double x, double y, DigitsCanvas *self)
{
  end_stroke (self);
}

/* How much wider than the pen a point's pressure makes the line; the
 * engine's rule (dg_render_strokes), so what is seen is what is read. */
static double
pressure_factor (float pressure)
{
  return pressure < 0 ? 1.0 : 0.5 + pressure;
}

/* Ink in paper units onto @cr, which the caller has scaled to the paper. */
static void
draw_ink (DigitsCanvas *self, cairo_t *cr)
{
  cairo_set_source_rgb (cr, 0x24 / 255.0, 0x1f / 255.0, 0x31 / 255.0);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);

  for (guint s = 0; s < self->strokes->len; s++)
    {
      GArray *stroke = g_ptr_array_index (self->strokes, s);
      const DgPoint *points = (const DgPoint *) (gpointer) stroke->data;
      gboolean has_pressure = FALSE;

      if (stroke->len == 0)
        continue;
      for (guint i = 0; i < stroke->len; i++)
        has_pressure |= points[i].pressure >= 0;

      if (stroke->len == 1)
        {
          cairo_arc (cr, points[0].x, points[0].y,
                     self->pen_width * pressure_factor (points[0].pressure) / 2, 0, 2 * G_PI);
          cairo_fill (cr);
        }
      else if (!has_pressure)
        {
          cairo_set_line_width (cr, self->pen_width);
          cairo_move_to (cr, points[0].x, points[0].y);
          for (guint i = 1; i < stroke->len; i++)
            cairo_line_to (cr, points[i].x, points[i].y);
          cairo_stroke (cr);
        }
      else
        {
          /* Each segment as wide as the pressure at its ends. */
          for (guint i = 1; i < stroke->len; i++)
            {
              double factor = (pressure_factor (points[i - 1].pressure)
                               + pressure_factor (points[i].pressure)) / 2;
              cairo_set_line_width (cr, self->pen_width * factor);
              cairo_move_to (cr, points[i - 1].x, points[i - 1].y);
              cairo_line_to (cr, points[i].x, points[i].y);
              cairo_stroke (cr);
            }
        }
    }
}

static void
digits_canvas_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  DigitsCanvas *self = DIGITS_CANVAS (widget);
  const GdkRGBA white = { 1, 1, 1, 1 };
  const GdkRGBA shadow = { 0, 0, 0, 0.18 };
  const GdkRGBA edge = { 0, 0, 0, 0.12 };
  const float edge_widths[4] = { 1, 1, 1, 1 };
  const GdkRGBA edge_colors[4] = { edge, edge, edge, edge };
  graphene_rect_t paper;
  GskRoundedRect rounded;

  get_paper (self, &paper);
  gsk_rounded_rect_init_from_rect (&rounded, &paper, PAPER_RADIUS);

  gtk_snapshot_append_outset_shadow (snapshot, &rounded, &shadow, 0, 1, 0, 6);
  gtk_snapshot_push_rounded_clip (snapshot, &rounded);
  gtk_snapshot_append_color (snapshot, &white, &paper);
  if (self->strokes->len > 0)
    {
      cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &paper);
      double scale = paper.size.width / DIGITS_CANVAS_PAPER_SIZE;

      cairo_translate (cr, paper.origin.x, paper.origin.y);
      cairo_scale (cr, scale, scale);
      draw_ink (self, cr);
      cairo_destroy (cr);
    }
  gtk_snapshot_pop (snapshot);
  gtk_snapshot_append_border (snapshot, &rounded, edge_widths, edge_colors);
}

static void
digits_canvas_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                       int *natural, int *minimum_baseline, int *natural_baseline)
{
  /* The paper is never smaller than 280 pixels: big enough to write on. */
  *minimum = (int) (DIGITS_CANVAS_PAPER_SIZE + 2 * PAPER_INSET);
  *natural = 440;
}

static void
digits_canvas_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DigitsCanvas *self = DIGITS_CANVAS (object);

  switch (prop_id)
    {
    case PROP_PEN_WIDTH:
      g_value_set_double (value, self->pen_width);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
digits_canvas_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  DigitsCanvas *self = DIGITS_CANVAS (object);

  switch (prop_id)
    {
    case PROP_PEN_WIDTH:
      digits_canvas_set_pen_width (self, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
digits_canvas_dispose (GObject *object)
{
  DigitsCanvas *self = DIGITS_CANVAS (object);

  self->current = NULL;
  g_clear_pointer (&self->strokes, g_ptr_array_unref);
  g_clear_pointer (&self->stroke_views, g_array_unref);
  g_clear_pointer (&self->undo_stack, g_ptr_array_unref);
  g_clear_pointer (&self->redo_stack, g_ptr_array_unref);

  G_OBJECT_CLASS (digits_canvas_parent_class)->dispose (object);
}

static void
digits_canvas_class_init (DigitsCanvasClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = digits_canvas_dispose;
  object_class->get_property = digits_canvas_get_property;
  object_class->set_property = digits_canvas_set_property;

  widget_class->snapshot = digits_canvas_snapshot;
  widget_class->measure = digits_canvas_measure;

  properties[PROP_PEN_WIDTH] = g_param_spec_double (
      "pen-width", NULL, NULL, 1.0, 60.0, 16.0,
      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * DigitsCanvas::changed:
   *
   * The drawing changed: a stroke began or grew, or undo, redo or clear.
   */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_css_name (widget_class, "digits-canvas");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
digits_canvas_init (DigitsCanvas *self)
{
  GtkWidget *widget = GTK_WIDGET (self);

  self->strokes = stroke_list_new ();
  self->stroke_views = g_array_new (FALSE, FALSE, sizeof (DgStroke));
  self->undo_stack = g_ptr_array_new_with_free_func (edit_free);
  self->redo_stack = g_ptr_array_new_with_free_func (edit_free);
  self->pen_width = 16.0;

  self->drag = gtk_gesture_drag_new ();
  g_signal_connect (self->drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (self->drag, "drag-update", G_CALLBACK (on_drag_update), self);
  g_signal_connect (self->drag, "drag-end", G_CALLBACK (on_drag_end), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (self->drag));

  self->stylus = gtk_gesture_stylus_new ();
  g_signal_connect (self->stylus, "down", G_CALLBACK (on_stylus_down), self);
  g_signal_connect (self->stylus, "motion", G_CALLBACK (on_stylus_motion), self);
  g_signal_connect (self->stylus, "up", G_CALLBACK (on_stylus_up), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (self->stylus));

  gtk_widget_set_focusable (widget, TRUE);
  gtk_widget_set_cursor_from_name (widget, "crosshair");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Drawing paper"),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  _("Draw a digit here with the mouse, a finger or a pen"),
                                  -1);
}

GtkWidget *
digits_canvas_new (void)
{
  return g_object_new (DIGITS_TYPE_CANVAS, NULL);
}

void
digits_canvas_add_stroke (DigitsCanvas *self, const DgPoint *points, int n_points)
{
  g_return_if_fail (DIGITS_IS_CANVAS (self));
  g_return_if_fail (points != NULL || n_points == 0);
  g_return_if_fail (n_points >= 0);

  end_stroke (self);
  if (n_points == 0 || self->strokes->len >= DG_MAX_STROKES
      || self->n_points + (guint) n_points > DG_MAX_POINTS)
    return;

  GArray *stroke = g_array_sized_new (FALSE, FALSE, sizeof (DgPoint), n_points);
  GPtrArray *added = stroke_list_new ();

  g_array_append_vals (stroke, points, n_points);
  g_ptr_array_add (self->strokes, stroke);
  self->n_points += n_points;
  g_ptr_array_add (added, g_array_ref (stroke));
  g_ptr_array_add (self->undo_stack, edit_new (EDIT_ADD_STROKE, added));
  g_ptr_array_set_size (self->redo_stack, 0);
  emit_changed (self);
}

const DgStroke *
digits_canvas_get_strokes (DigitsCanvas *self, int *n_strokes)
{
  g_return_val_if_fail (DIGITS_IS_CANVAS (self), NULL);
  g_return_val_if_fail (n_strokes != NULL, NULL);

  g_array_set_size (self->stroke_views, 0);
  for (guint i = 0; i < self->strokes->len; i++)
    {
      GArray *stroke = g_ptr_array_index (self->strokes, i);
      DgStroke view = { (const DgPoint *) (gpointer) stroke->data, (int) stroke->len };
      g_array_append_val (self->stroke_views, view);
    }
  *n_strokes = (int) self->stroke_views->len;
  return (const DgStroke *) (gpointer) self->stroke_views->data;
}

gboolean
digits_canvas_is_empty (DigitsCanvas *self)
{
  g_return_val_if_fail (DIGITS_IS_CANVAS (self), TRUE);

  return self->strokes->len == 0;
}

void
digits_canvas_clear (DigitsCanvas *self)
{
  g_return_if_fail (DIGITS_IS_CANVAS (self));

  end_stroke (self);
  if (self->strokes->len == 0)
    return;

  g_ptr_array_add (self->undo_stack, edit_new (EDIT_CLEAR, g_steal_pointer (&self->strokes)));
  g_ptr_array_set_size (self->redo_stack, 0);
  self->strokes = stroke_list_new ();
  self->n_points = 0;
  emit_changed (self);
}

gboolean
digits_canvas_can_undo (DigitsCanvas *self)
{
  g_return_val_if_fail (DIGITS_IS_CANVAS (self), FALSE);

  return self->undo_stack->len > 0;
}

gboolean
digits_canvas_can_redo (DigitsCanvas *self)
{
  g_return_val_if_fail (DIGITS_IS_CANVAS (self), FALSE);

  return self->redo_stack->len > 0;
}

gboolean
digits_canvas_undo (DigitsCanvas *self)
{
  Edit *edit;

  g_return_val_if_fail (DIGITS_IS_CANVAS (self), FALSE);

  end_stroke (self);
  if (self->undo_stack->len == 0)
    return FALSE;

  edit = g_ptr_array_steal_index (self->undo_stack, self->undo_stack->len - 1);
  if (edit->kind == EDIT_ADD_STROKE)
    {
      /* Edits undo in order, so the stroke is the last one drawn. */
      g_assert (self->strokes->len > 0);
      g_ptr_array_set_size (self->strokes, self->strokes->len - 1);
    }
  else
    {
      GPtrArray *cleared = edit->strokes;

      edit->strokes = g_steal_pointer (&self->strokes);
      self->strokes = cleared;
    }
  g_ptr_array_add (self->redo_stack, edit);
  recount_points (self);
  emit_changed (self);
  return TRUE;
}

gboolean
digits_canvas_redo (DigitsCanvas *self)
{
  Edit *edit;

  g_return_val_if_fail (DIGITS_IS_CANVAS (self), FALSE);

  end_stroke (self);
  if (self->redo_stack->len == 0)
    return FALSE;

  edit = g_ptr_array_steal_index (self->redo_stack, self->redo_stack->len - 1);
  if (edit->kind == EDIT_ADD_STROKE)
    {
      g_ptr_array_add (self->strokes, g_array_ref (g_ptr_array_index (edit->strokes, 0)));
    }
  else
    {
      GPtrArray *restored = edit->strokes;

      edit->strokes = g_steal_pointer (&self->strokes);
      self->strokes = restored;
    }
  g_ptr_array_add (self->undo_stack, edit);
  recount_points (self);
  emit_changed (self);
  return TRUE;
}

double
digits_canvas_get_pen_width (DigitsCanvas *self)
{
  g_return_val_if_fail (DIGITS_IS_CANVAS (self), 0.0);

  return self->pen_width;
}

void
digits_canvas_set_pen_width (DigitsCanvas *self, double pen_width)
{
  g_return_if_fail (DIGITS_IS_CANVAS (self));

  if (pen_width == self->pen_width)
    return;
  self->pen_width = pen_width;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PEN_WIDTH]);
}

static cairo_status_t
append_to_byte_array (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

GBytes *
digits_canvas_render_png (DigitsCanvas *self, int side, GError **error)
{
  g_autoptr (GByteArray) png = g_byte_array_new ();
  cairo_surface_t *surface;
  cairo_status_t status;
  cairo_t *cr;

  g_return_val_if_fail (DIGITS_IS_CANVAS (self), NULL);
  g_return_val_if_fail (side > 0 && side <= 8192, NULL);

  surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, side, side);
  cr = cairo_create (surface);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_scale (cr, side / DIGITS_CANVAS_PAPER_SIZE, side / DIGITS_CANVAS_PAPER_SIZE);
  draw_ink (self, cr);
  cairo_destroy (cr);

  status = cairo_surface_write_to_png_stream (surface, append_to_byte_array, png);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Could not make a PNG image: %s"),
                   cairo_status_to_string (status));
      return NULL;
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&png));
}
