/* digits-preview.c: the network's input drawn large, its pixels left visible.
 *
 * White ink on black, the way MNIST and the network see a digit, so a
 * classroom can compare it with the training images.
 */
#include "config.h"

#include "digits-preview.h"

#include <glib/gi18n.h>
#include <string.h>

#include "dg-model.h"

struct _DigitsPreview
{
  GtkWidget parent_instance;

  float input[DG_IMAGE_PIXELS]; /* (28, 28) ink 1.0 on 0.0 */
  gboolean has_input;
};

G_DEFINE_FINAL_TYPE (DigitsPreview, digits_preview, GTK_TYPE_WIDGET)

static void
digits_preview_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  DigitsPreview *self = DIGITS_PREVIEW (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  /* Whole pixels per square, so every square has the same size and a grid. */
  int cell = MAX (1, MIN (width, height) / DG_IMAGE_SIDE);
  int side = cell * DG_IMAGE_SIDE;
  int gap = cell >= 4 ? 1 : 0;
  float x0 = (float) ((width - side) / 2);
  float y0 = (float) ((height - side) / 2);
  const GdkRGBA grid = { 0.16f, 0.16f, 0.18f, 1.0f };
  GskRoundedRect frame;

  /* Empty, it is a faint grid waiting for a digit. */
  if (!self->has_input)
    gtk_snapshot_push_opacity (snapshot, 0.35);
  gsk_rounded_rect_init_from_rect (&frame, &GRAPHENE_RECT_INIT (x0, y0, side, side), 6);
  gtk_snapshot_push_rounded_clip (snapshot, &frame);
  gtk_snapshot_append_color (snapshot, &grid, &frame.bounds);

  for (int y = 0; y < DG_IMAGE_SIDE; y++)
    for (int x = 0; x < DG_IMAGE_SIDE; x++)
      {
        float v = self->has_input ? CLAMP (self->input[y * DG_IMAGE_SIDE + x], 0.0f, 1.0f) : 0.0f;
        GdkRGBA color = { v, v, v, 1.0f };

        gtk_snapshot_append_color (snapshot, &color,
                                   &GRAPHENE_RECT_INIT (x0 + x * cell, y0 + y * cell,
                                                        cell - gap, cell - gap));
      }
  gtk_snapshot_pop (snapshot);
  if (!self->has_input)
    gtk_snapshot_pop (snapshot);
}

static void
digits_preview_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                        int *minimum, int *natural, int *minimum_baseline,
                        int *natural_baseline)
{
  *minimum = DG_IMAGE_SIDE * 3;
  *natural = DG_IMAGE_SIDE * 5;
}

static void
digits_preview_class_init (DigitsPreviewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  widget_class->snapshot = digits_preview_snapshot;
  widget_class->measure = digits_preview_measure;

  gtk_widget_class_set_css_name (widget_class, "digits-preview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
digits_preview_init (DigitsPreview *self)
{
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("What the network saw"),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  _("The 28 by 28 pixel picture the network reads"),
                                  -1);
}

GtkWidget *
digits_preview_new (void)
{
  return g_object_new (DIGITS_TYPE_PREVIEW, NULL);
}

void
digits_preview_set_input (DigitsPreview *self, const float *input)
{
  g_return_if_fail (DIGITS_IS_PREVIEW (self));

  self->has_input = input != NULL;
  if (input != NULL)
    memcpy (self->input, input, sizeof self->input);
  else
    memset (self->input, 0, sizeof self->input);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const float *
digits_preview_get_input (DigitsPreview *self)
{
  g_return_val_if_fail (DIGITS_IS_PREVIEW (self), NULL);

  return self->has_input ? self->input : NULL;
}
