/* digits-chart.c: ten horizontal bars, one per digit, the likeliest highlighted. */
#include "config.h"

#include "digits-chart.h"

#include <glib/gi18n.h>
#include <string.h>

#include "dg-model.h"

#define LABEL_WIDTH 28.0 /* pixels for the digit at the left of each row */
#define VALUE_WIDTH 60.0 /* pixels for the percentage at the right */
#define BAR_HEIGHT  10.0 /* pixels */

struct _DigitsChart
{
  GtkWidget parent_instance;

  float probs[DG_CLASSES]; /* (10) what the bars show */
  gboolean has_probs;
  int top; /* highlighted digit, -1 when empty */
};

G_DEFINE_FINAL_TYPE (DigitsChart, digits_chart, GTK_TYPE_WIDGET)

static char *
format_percent (double probability)
{
  /* Translators: a probability as a percentage, e.g. "97 %"; use your
   * language's convention for spacing and the percent sign. */
  return g_strdup_printf (_ ("%.0f\u00a0%%"), probability * 100.0);
}

static void
get_colors (GtkWidget *widget, GdkRGBA *fg, GdkRGBA *accent_bg, GdkRGBA *accent_fg)
{
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  GtkStyleContext *style = gtk_widget_get_style_context (widget);

  gtk_style_context_get_color (style, fg);
  if (!gtk_style_context_lookup_color (style, "accent_bg_color", accent_bg))
    gdk_rgba_parse (accent_bg, "#3584e4");
  if (!gtk_style_context_lookup_color (style, "accent_color", accent_fg))
    gdk_rgba_parse (accent_fg, "#1c71d8");
  G_GNUC_END_IGNORE_DEPRECATIONS
}

static void
append_text (GtkWidget *widget, GtkSnapshot *snapshot, const char *text, gboolean bold,
             double x, double width, double centre_y, float xalign, const GdkRGBA *color)
{
  g_autoptr (PangoLayout) layout = gtk_widget_create_pango_layout (widget, text);
  PangoAttrList *attrs = pango_attr_list_new ();
  int text_width, text_height;

  pango_attr_list_insert (attrs, pango_attr_font_features_new ("tnum=1"));
  if (bold)
    pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
  pango_layout_set_attributes (layout, attrs);
  pango_attr_list_unref (attrs);
  pango_layout_get_pixel_size (layout, &text_width, &text_height);

  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot,
                          &GRAPHENE_POINT_INIT ((float) (x + (width - text_width) * xalign),
                                                (float) (centre_y - text_height / 2.0)));
  gtk_snapshot_append_layout (snapshot, layout, color);
  gtk_snapshot_restore (snapshot);
}

static void
digits_chart_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  DigitsChart *self = DIGITS_CHART (widget);
  double width = gtk_widget_get_width (widget);
  double row_height = gtk_widget_get_height (widget) / (double) DG_CLASSES;
  double bar_x = LABEL_WIDTH + 8;
  double bar_width = MAX (1.0, width - bar_x - VALUE_WIDTH - 8);
  GdkRGBA fg, accent_bg, accent_fg, track, bar;

  get_colors (widget, &fg, &accent_bg, &accent_fg);
  track = fg;
  track.alpha *= 0.1f;
  bar = fg;
  bar.alpha *= 0.45f;

  for (int digit = 0; digit < DG_CLASSES; digit++)
    {
      gboolean is_top = digit == self->top;
      double centre_y = (digit + 0.5) * row_height;
      graphene_rect_t track_rect, bar_rect;
      GskRoundedRect rounded;
      char label[2] = { (char) ('0' + digit), '\0' };

      append_text (widget, snapshot, label, is_top, 0, LABEL_WIDTH, centre_y, 1.0f,
                   is_top ? &accent_fg : &fg);

      graphene_rect_init (&track_rect, (float) bar_x, (float) (centre_y - BAR_HEIGHT / 2),
                          (float) bar_width, (float) BAR_HEIGHT);
      gsk_rounded_rect_init_from_rect (&rounded, &track_rect, BAR_HEIGHT / 2);
      gtk_snapshot_push_rounded_clip (snapshot, &rounded);
      gtk_snapshot_append_color (snapshot, &track, &track_rect);
      if (self->has_probs)
        {
          bar_rect = track_rect;
          bar_rect.size.width = (float) (bar_width * CLAMP (self->probs[digit], 0.0f, 1.0f));
          gtk_snapshot_append_color (snapshot, is_top ? &accent_bg : &bar, &bar_rect);
        }
      gtk_snapshot_pop (snapshot);

      if (self->has_probs)
        {
          g_autofree char *value = format_percent (self->probs[digit]);
          append_text (widget, snapshot, value, is_top, width - VALUE_WIDTH, VALUE_WIDTH,
                       centre_y, 1.0f, is_top ? &accent_fg : &fg);
        }
    }
}

static void
digits_chart_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                      int *natural, int *minimum_baseline, int *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 200;
      *natural = 300;
    }
  else
    {
      *minimum = DG_CLASSES * 20;
      *natural = DG_CLASSES * 26;
    }
}

static void
update_accessible (DigitsChart *self)
{
  g_autoptr (GString) description = g_string_new (NULL);

  if (!self->has_probs)
    {
      gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                      _("No probabilities yet"), -1);
      return;
    }
  for (int digit = 0; digit < DG_CLASSES; digit++)
    {
      g_autofree char *value = format_percent (self->probs[digit]);

      if (description->len > 0)
        g_string_append (description, ", ");
      /* Translators: one bar of the chart read aloud: a digit and its probability. */
      g_string_append_printf (description, _("%d: %s"), digit, value);
    }
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  description->str, -1);
}

static void
digits_chart_class_init (DigitsChartClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  widget_class->snapshot = digits_chart_snapshot;
  widget_class->measure = digits_chart_measure;

  gtk_widget_class_set_css_name (widget_class, "digits-chart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
digits_chart_init (DigitsChart *self)
{
  self->top = -1;
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Probability of each digit"), -1);
  update_accessible (self);
}

GtkWidget *
digits_chart_new (void)
{
  return g_object_new (DIGITS_TYPE_CHART, NULL);
}

void
digits_chart_set_probabilities (DigitsChart *self, const float *probs)
{
  g_return_if_fail (DIGITS_IS_CHART (self));

  self->has_probs = probs != NULL;
  if (probs != NULL)
    {
      memcpy (self->probs, probs, sizeof self->probs);
      self->top = dg_argmax (self->probs, DG_CLASSES);
    }
  else
    {
      memset (self->probs, 0, sizeof self->probs);
      self->top = -1;
    }
  update_accessible (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const float *
digits_chart_get_probabilities (DigitsChart *self)
{
  g_return_val_if_fail (DIGITS_IS_CHART (self), NULL);

  return self->has_probs ? self->probs : NULL;
}

int
digits_chart_get_top (DigitsChart *self)
{
  g_return_val_if_fail (DIGITS_IS_CHART (self), -1);

  return self->top;
}
