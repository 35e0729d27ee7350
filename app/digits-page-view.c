/* digits-page-view.c: a page of several digits, each boxed and tagged with
 * what it was read as, one of them selected.
 *
 * Boxes and tags are drawn in the accent colour with a light halo, and the
 * tags are filled, so they read over white paper, a grey scan or a dark
 * photo alike; a digit read with little confidence is tagged in the warning
 * colour.  The selected box is thicker and tinted.  Marks the engine left
 * out (commas, dashes, currency signs) are only shaded faintly: they were
 * seen, and they are not digits.
 */
#include "config.h"

#include "digits-page-view.h"

#define SHEET_INSET    8.0  /* widget pixels around the sheet, as the canvas leaves */
#define SHEET_RADIUS   10.0 /* widget pixels, the paper's corners */
#define BOX_PAD        3.0  /* widget pixels between a digit's ink and its box */
#define BOX_WIDTH      1.5  /* widget pixels, a box's line */
#define SELECTED_WIDTH 3.5  /* widget pixels, the selected box's line */
#define SELECTED_SCALE 1.25 /* the selected tag's text, to the others' */
#define TAG_PAD_X      5.0  /* widget pixels around a tag's digit */
#define TAG_PAD_Y      1.0
#define TAG_SHARE      0.5  /* a tag is at most this part of its box's height... */
#define TAG_MIN_SCALE  0.7  /* ...unless its text would be smaller than this */
#define TAG_REACH      48.0 /* widget pixels: no tag is larger, nor further from its box */

typedef struct
{
  DgBox box;       /* image pixels */
  int digit;       /* 0 .. 9 */
  gboolean unsure; /* its probability is under the caller's threshold */
} PageDigit;

struct _DigitsPageView
{
  GtkWidget parent_instance;

  GdkPaintable *page;  /* what is shown, or NULL */
  int page_width;      /* image pixels, what the boxes are measured in */
  int page_height;
  GArray *digits;      /* PageDigit, reading order */
  GArray *symbols;     /* DgBox, image pixels: marks on a line that are not digits */
  int selected;        /* index into digits, -1 when empty */
};

G_DEFINE_FINAL_TYPE (DigitsPageView, digits_page_view, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_SELECTED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* --- Geometry --- */

/* Where the page is drawn, widget pixels, and how many widget pixels an
 * image pixel is.  FALSE when there is nothing to draw. */
static gboolean
get_image_rect (DigitsPageView *self, graphene_rect_t *image, double *scale)
{
  double width = gtk_widget_get_width (GTK_WIDGET (self));
  double height = gtk_widget_get_height (GTK_WIDGET (self));
  double room_x = width - 2 * SHEET_INSET, room_y = height - 2 * SHEET_INSET;

  if (self->page_width <= 0 || self->page_height <= 0 || room_x < 1 || room_y < 1)
    return FALSE;
  *scale = MIN (room_x / self->page_width, room_y / self->page_height);
  graphene_rect_init (image, (float) ((width - self->page_width * *scale) / 2),
                      (float) ((height - self->page_height * *scale) / 2),
                      (float) (self->page_width * *scale), (float) (self->page_height * *scale));
  return TRUE;
}

/* The sheet under the page: the page's rectangle grown to cover the
 * drawing paper beneath (the largest centred square), so no paper shows
 * around a wide or a tall page. */
static void
get_sheet_rect (DigitsPageView *self, const graphene_rect_t *image, graphene_rect_t *sheet)
{
  double width = gtk_widget_get_width (GTK_WIDGET (self));
  double height = gtk_widget_get_height (GTK_WIDGET (self));
  double side = MAX (1.0, MIN (width, height) - 2 * SHEET_INSET);
  graphene_rect_t paper = GRAPHENE_RECT_INIT ((float) ((width - side) / 2),
                                              (float) ((height - side) / 2), (float) side,
                                              (float) side);

  graphene_rect_union (image, &paper, sheet);
}

/* @box (image pixels) on the widget, with room between it and the ink. */
static void
box_to_widget (const graphene_rect_t *image, double scale, const DgBox *box,
               graphene_rect_t *rect)
{
  graphene_rect_init (rect, (float) (image->origin.x + box->x * scale - BOX_PAD),
                      (float) (image->origin.y + box->y * scale - BOX_PAD),
                      (float) (box->width * scale + 2 * BOX_PAD),
                      (float) (box->height * scale + 2 * BOX_PAD));
}

/* Whether @rect overlaps the box of any digit but @index. */
static gboolean
covers_other_box (DigitsPageView *self, guint index, const graphene_rect_t *image, double scale,
                  const graphene_rect_t *rect)
{
  for (guint i = 0; i < self->digits->len; i++)
    {
      graphene_rect_t box_rect;

      if (i == index)
        continue;
      box_to_widget (image, scale, &g_array_index (self->digits, PageDigit, i).box, &box_rect);
      if (graphene_rect_intersection (rect, &box_rect, NULL))
        return TRUE;
    }
  return FALSE;
}

/* Whether @rect overlaps any of the @n tags in @placed. */
static gboolean
covers_placed_tag (const graphene_rect_t *placed, guint n, const graphene_rect_t *rect)
{
  for (guint i = 0; i < n; i++)
    if (graphene_rect_intersection (rect, &placed[i], NULL))
      return TRUE;
  return FALSE;
}

/* Digit @index's tag: its text laid out, and where it goes (@tag).  It sits
 * on the box's top-left corner, outside the box so it hides none of the
 * digit's ink; under the box when above is another digit (a line of text
 * close above), a tag already placed (@placed, the @index digits before it:
 * a narrow 1 beside a 9) or the sheet's edge; on the box's own corner when
 * both are taken.  Small digits get a smaller tag, down to TAG_MIN_SCALE. */
static PangoLayout *
layout_tag (DigitsPageView *self, guint index, const graphene_rect_t *image, double scale,
            const graphene_rect_t *sheet, const graphene_rect_t *placed, graphene_rect_t *tag)
{
  const PageDigit *digit = &g_array_index (self->digits, PageDigit, index);
  char text[2] = { (char) ('0' + digit->digit), '\0' };
  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  PangoAttrList *attrs = pango_attr_list_new ();
  graphene_rect_t box_rect, above, below;
  int text_width, text_height;
  double text_scale;

  box_to_widget (image, scale, &digit->box, &box_rect);
  pango_layout_get_pixel_size (layout, &text_width, &text_height);
  text_scale = CLAMP (TAG_SHARE * box_rect.size.height / (text_height + 2 * TAG_PAD_Y),
                      TAG_MIN_SCALE, 1.0);
  if ((int) index == self->selected)
    text_scale *= SELECTED_SCALE;

  pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
  pango_attr_list_insert (attrs, pango_attr_font_features_new ("tnum=1"));
  pango_attr_list_insert (attrs, pango_attr_scale_new (text_scale));
  pango_layout_set_attributes (layout, attrs);
  pango_attr_list_unref (attrs);
  pango_layout_get_pixel_size (layout, &text_width, &text_height);

  graphene_rect_init (&above, box_rect.origin.x, box_rect.origin.y - text_height - 2 * TAG_PAD_Y,
                      (float) (text_width + 2 * TAG_PAD_X), (float) (text_height + 2 * TAG_PAD_Y));
  below = above;
  below.origin.y = box_rect.origin.y + box_rect.size.height;
  if (above.origin.y >= sheet->origin.y
      && !covers_other_box (self, index, image, scale, &above)
      && !covers_placed_tag (placed, index, &above))
    *tag = above;
  else if (below.origin.y + below.size.height <= sheet->origin.y + sheet->size.height
           && !covers_other_box (self, index, image, scale, &below)
           && !covers_placed_tag (placed, index, &below))
    *tag = below;
  else
    graphene_rect_init (tag, box_rect.origin.x, box_rect.origin.y, above.size.width,
                        above.size.height);
  return layout;
}

/* Every digit's tag, in reading order, each placed clear of the ones
 * before it: their rectangles (freed by the caller) and, unless @layouts
 * is NULL, their text laid out in a new array in *@layouts (the caller
 * unrefs each and frees it). */
static graphene_rect_t *
place_tags (DigitsPageView *self, const graphene_rect_t *image, double scale,
            PangoLayout ***layouts)
{
  graphene_rect_t sheet;
  graphene_rect_t *tags = g_new (graphene_rect_t, self->digits->len);

  get_sheet_rect (self, image, &sheet);
  if (layouts != NULL)
    *layouts = g_new (PangoLayout *, self->digits->len);
  for (guint i = 0; i < self->digits->len; i++)
    {
      PangoLayout *layout = layout_tag (self, i, image, scale, &sheet, tags, &tags[i]);

      if (layouts != NULL)
        (*layouts)[i] = layout;
      else
        g_object_unref (layout);
    }
  return tags;
}

/* The digit whose box (or tag) holds the point, the nearest one's centre
 * when boxes overlap; -1 for none. */
static int
digit_at (DigitsPageView *self, double x, double y)
{
  graphene_rect_t image;
  graphene_point_t point = GRAPHENE_POINT_INIT ((float) x, (float) y);
  g_autofree graphene_rect_t *tags = NULL;
  double scale, best_distance = G_MAXDOUBLE;
  gboolean near_any = FALSE;
  int best = -1;

  if (!get_image_rect (self, &image, &scale))
    return -1;

  /* This runs on every pointer motion: the tags are placed only when the
   * pointer is near a box, since no tag reaches further. */
  for (guint i = 0; i < self->digits->len && !near_any; i++)
    {
      graphene_rect_t box_rect, near;

      box_to_widget (&image, scale, &g_array_index (self->digits, PageDigit, i).box, &box_rect);
      graphene_rect_inset_r (&box_rect, -TAG_REACH, -TAG_REACH, &near);
      near_any = graphene_rect_contains_point (&near, &point);
    }
  if (!near_any)
    return -1;
  tags = place_tags (self, &image, scale, NULL);

  for (guint i = 0; i < self->digits->len; i++)
    {
      const PageDigit *digit = &g_array_index (self->digits, PageDigit, i);
      graphene_rect_t box_rect;
      graphene_point_t centre;
      double distance;

      box_to_widget (&image, scale, &digit->box, &box_rect);
      if (!graphene_rect_contains_point (&box_rect, &point)
          && !graphene_rect_contains_point (&tags[i], &point))
        continue;
      graphene_rect_get_center (&box_rect, &centre);
      distance = graphene_point_distance (&centre, &point, NULL, NULL);
      if (distance < best_distance)
        {
          best_distance = distance;
          best = (int) i;
        }
    }
  return best;
}

/* --- Drawing --- */

static void
lookup_color (GtkWidget *widget, const char *name, const char *fallback, GdkRGBA *color)
{
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  if (!gtk_style_context_lookup_color (gtk_widget_get_style_context (widget), name, color))
    gdk_rgba_parse (color, fallback);
  G_GNUC_END_IGNORE_DEPRECATIONS
}

static void
append_frame (GtkSnapshot *snapshot, const graphene_rect_t *rect, float radius, float width,
              const GdkRGBA *color)
{
  const float widths[4] = { width, width, width, width };
  const GdkRGBA colors[4] = { *color, *color, *color, *color };
  GskRoundedRect rounded;

  gsk_rounded_rect_init_from_rect (&rounded, rect, radius);
  gtk_snapshot_append_border (snapshot, &rounded, widths, colors);
}

static void
append_sheet (DigitsPageView *self, GtkSnapshot *snapshot, const graphene_rect_t *sheet,
              const graphene_rect_t *image)
{
  const GdkRGBA white = { 1, 1, 1, 1 };
  const GdkRGBA shadow = { 0, 0, 0, 0.18f };
  const GdkRGBA edge = { 0, 0, 0, 0.12f };
  GskRoundedRect rounded;

  gsk_rounded_rect_init_from_rect (&rounded, sheet, SHEET_RADIUS);
  gtk_snapshot_append_outset_shadow (snapshot, &rounded, &shadow, 0, 1, 0, 6);
  gtk_snapshot_push_rounded_clip (snapshot, &rounded);
  gtk_snapshot_append_color (snapshot, &white, sheet);
  if (self->page != NULL)
    {
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &image->origin);
      gdk_paintable_snapshot (self->page, snapshot, image->size.width, image->size.height);
      gtk_snapshot_restore (snapshot);
    }
  gtk_snapshot_pop (snapshot);
  append_frame (snapshot, sheet, SHEET_RADIUS, 1, &edge);
}

typedef struct
{
  GdkRGBA accent, accent_fg, warning, warning_fg, halo;
} Palette;

static void
append_box (GtkSnapshot *snapshot, const graphene_rect_t *box_rect, gboolean selected,
            const GdkRGBA *color, const GdkRGBA *halo)
{
  float width = selected ? SELECTED_WIDTH : BOX_WIDTH;
  GdkRGBA line = *color;
  graphene_rect_t outer;

  /* A light line on each side of the coloured one keeps it visible on
   * dark ink and dark paper. */
  graphene_rect_inset_r (box_rect, -1, -1, &outer);
  append_frame (snapshot, &outer, 4, width + 2, halo);
  if (selected)
    {
      GdkRGBA tint = *color;
      tint.alpha = 0.22f;
      gtk_snapshot_append_color (snapshot, &tint, box_rect);
    }
  else
    line.alpha *= 0.8f;
  append_frame (snapshot, box_rect, 3, width, &line);
}

static void
append_tag (DigitsPageView *self, GtkSnapshot *snapshot, guint index, PangoLayout *layout,
            const graphene_rect_t *tag, const Palette *palette)
{
  const PageDigit *digit = &g_array_index (self->digits, PageDigit, index);
  gboolean selected = (int) index == self->selected;
  const GdkRGBA *fill = digit->unsure ? &palette->warning : &palette->accent;
  const GdkRGBA *ink = digit->unsure ? &palette->warning_fg : &palette->accent_fg;
  GskRoundedRect rounded;

  gsk_rounded_rect_init_from_rect (&rounded, tag, 4);
  if (!selected)
    gtk_snapshot_push_opacity (snapshot, 0.8);
  gtk_snapshot_push_rounded_clip (snapshot, &rounded);
  gtk_snapshot_append_color (snapshot, fill, tag);
  gtk_snapshot_pop (snapshot);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot,
                          &GRAPHENE_POINT_INIT (tag->origin.x + TAG_PAD_X,
                                                tag->origin.y + TAG_PAD_Y));
  gtk_snapshot_append_layout (snapshot, layout, ink);
  gtk_snapshot_restore (snapshot);
  if (!selected)
    gtk_snapshot_pop (snapshot);
}

static void
digits_page_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  DigitsPageView *self = DIGITS_PAGE_VIEW (widget);
  graphene_rect_t image, sheet, box_rect;
  g_autofree graphene_rect_t *tags = NULL;
  g_autofree PangoLayout **layouts = NULL;
  double scale;
  Palette palette;
  const GdkRGBA mark = { 0.5f, 0.5f, 0.5f, 0.22f };

  if (!get_image_rect (self, &image, &scale))
    return;
  get_sheet_rect (self, &image, &sheet);
  append_sheet (self, snapshot, &sheet, &image);

  lookup_color (widget, "accent_bg_color", "#3584e4", &palette.accent);
  lookup_color (widget, "accent_fg_color", "#ffffff", &palette.accent_fg);
  lookup_color (widget, "warning_bg_color", "#e5a50a", &palette.warning);
  lookup_color (widget, "warning_fg_color", "rgba(0,0,0,0.8)", &palette.warning_fg);
  palette.halo = (GdkRGBA) { 1, 1, 1, 0.75f };

  for (guint i = 0; i < self->symbols->len; i++)
    {
      box_to_widget (&image, scale, &g_array_index (self->symbols, DgBox, i), &box_rect);
      gtk_snapshot_append_color (snapshot, &mark, &box_rect);
    }

  /* The selected box last, so its line is whole where boxes overlap; the
   * tags over every box. */
  for (guint pass = 0; pass < 2; pass++)
    for (guint i = 0; i < self->digits->len; i++)
      {
        const PageDigit *digit = &g_array_index (self->digits, PageDigit, i);
        gboolean selected = (int) i == self->selected;

        if (selected != (pass == 1))
          continue;
        box_to_widget (&image, scale, &digit->box, &box_rect);
        append_box (snapshot, &box_rect, selected,
                    digit->unsure ? &palette.warning : &palette.accent, &palette.halo);
      }
  tags = place_tags (self, &image, scale, &layouts);
  for (guint pass = 0; pass < 2; pass++)
    for (guint i = 0; i < self->digits->len; i++)
      if (((int) i == self->selected) == (pass == 1))
        append_tag (self, snapshot, i, layouts[i], &tags[i], &palette);
  for (guint i = 0; i < self->digits->len; i++)
    g_object_unref (layouts[i]);

  /* The focus ring around the sheet, where the eye already is. */
  if (gtk_widget_has_visible_focus (widget))
    {
      graphene_rect_t ring;
      GdkRGBA color;

      lookup_color (widget, "accent_color", "#1c71d8", &color);
      color.alpha = 0.5f;
      graphene_rect_inset_r (&sheet, -4, -4, &ring);
      append_frame (snapshot, &ring, SHEET_RADIUS + 4, 2, &color);
    }
}

static void
digits_page_view_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                          int *minimum, int *natural, int *minimum_baseline,
                          int *natural_baseline)
{
  /* It lies over the paper, which sets the size. */
  *minimum = 0;
  *natural = 0;
}

static gboolean
digits_page_view_contains (GtkWidget *widget, double x, double y)
{
  return digit_at (DIGITS_PAGE_VIEW (widget), x, y) >= 0;
}

static void
digits_page_view_state_flags_changed (GtkWidget *widget, GtkStateFlags previous)
{
  /* The focus ring is drawn here, not by CSS. */
  if ((gtk_widget_get_state_flags (widget) ^ previous) & GTK_STATE_FLAG_FOCUS_VISIBLE)
    gtk_widget_queue_draw (widget);
  GTK_WIDGET_CLASS (digits_page_view_parent_class)->state_flags_changed (widget, previous);
}

/* --- Input --- */

static void
on_click_pressed (GtkGestureClick *gesture, int n_press, double x, double y,
                  DigitsPageView *self)
{
  int index = digit_at (self, x, y);

  if (index < 0)
    return;
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  gtk_widget_grab_focus (GTK_WIDGET (self));
  digits_page_view_set_selected (self, index);
}

static void
select_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  DigitsPageView *self = DIGITS_PAGE_VIEW (widget);
  int last = (int) self->digits->len - 1;

  if (last < 0)
    return;
  if (g_str_equal (action_name, "page.first-digit"))
    digits_page_view_set_selected (self, 0);
  else if (g_str_equal (action_name, "page.last-digit"))
    digits_page_view_set_selected (self, last);
  else if (g_str_equal (action_name, "page.next-digit"))
    digits_page_view_set_selected (self, MIN (self->selected + 1, last));
  else
    digits_page_view_set_selected (self, MAX (self->selected - 1, 0));
}

/* --- GObject --- */

static void
digits_page_view_dispose (GObject *object)
{
  DigitsPageView *self = DIGITS_PAGE_VIEW (object);

  g_clear_object (&self->page);

  G_OBJECT_CLASS (digits_page_view_parent_class)->dispose (object);
}

static void
digits_page_view_finalize (GObject *object)
{
  DigitsPageView *self = DIGITS_PAGE_VIEW (object);

  g_array_unref (self->digits);
  g_array_unref (self->symbols);

  G_OBJECT_CLASS (digits_page_view_parent_class)->finalize (object);
}

static void
digits_page_view_get_property (GObject *object, guint prop_id, GValue *value,
                               GParamSpec *pspec)
{
  DigitsPageView *self = DIGITS_PAGE_VIEW (object);

  switch (prop_id)
    {
    case PROP_SELECTED:
      g_value_set_int (value, self->selected);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
digits_page_view_set_property (GObject *object, guint prop_id, const GValue *value,
                               GParamSpec *pspec)
{
  DigitsPageView *self = DIGITS_PAGE_VIEW (object);

  switch (prop_id)
    {
    case PROP_SELECTED:
      digits_page_view_set_selected (self, g_value_get_int (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
digits_page_view_class_init (DigitsPageViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  /* Digits are read left to right in every language, so Right is the next
   * one in a right-to-left locale too. */
  const struct
  {
    guint keyval;
    const char *action;
  } keys[] = {
    { GDK_KEY_Right, "page.next-digit" },    { GDK_KEY_KP_Right, "page.next-digit" },
    { GDK_KEY_Left, "page.previous-digit" }, { GDK_KEY_KP_Left, "page.previous-digit" },
    { GDK_KEY_Home, "page.first-digit" },    { GDK_KEY_KP_Home, "page.first-digit" },
    { GDK_KEY_End, "page.last-digit" },      { GDK_KEY_KP_End, "page.last-digit" },
  };

  object_class->dispose = digits_page_view_dispose;
  object_class->finalize = digits_page_view_finalize;
  object_class->get_property = digits_page_view_get_property;
  object_class->set_property = digits_page_view_set_property;

  widget_class->snapshot = digits_page_view_snapshot;
  widget_class->measure = digits_page_view_measure;
  widget_class->contains = digits_page_view_contains;
  widget_class->state_flags_changed = digits_page_view_state_flags_changed;

  properties[PROP_SELECTED] = g_param_spec_int (
      "selected", NULL, NULL, -1, G_MAXINT, -1,
      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_install_action (widget_class, "page.next-digit", NULL, select_action);
  gtk_widget_class_install_action (widget_class, "page.previous-digit", NULL, select_action);
  gtk_widget_class_install_action (widget_class, "page.first-digit", NULL, select_action);
  gtk_widget_class_install_action (widget_class, "page.last-digit", NULL, select_action);
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    gtk_widget_class_add_binding_action (widget_class, keys[i].keyval, 0, keys[i].action, NULL);

  gtk_widget_class_set_css_name (widget_class, "digits-page-view");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
digits_page_view_init (DigitsPageView *self)
{
  GtkGesture *click = gtk_gesture_click_new ();

  self->digits = g_array_new (FALSE, FALSE, sizeof (PageDigit));
  self->symbols = g_array_new (FALSE, FALSE, sizeof (DgBox));
  self->selected = -1;

  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_PRIMARY);
  g_signal_connect (click, "pressed", G_CALLBACK (on_click_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));

  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "pointer");
}

GtkWidget *
digits_page_view_new (void)
{
  return g_object_new (DIGITS_TYPE_PAGE_VIEW, NULL);
}

void
digits_page_view_set_page (DigitsPageView *self, GdkPaintable *page, int width, int height,
                           const DgReading *reading, double unsure_below)
{
  g_return_if_fail (DIGITS_IS_PAGE_VIEW (self));
  g_return_if_fail (page == NULL || GDK_IS_PAINTABLE (page));
  g_return_if_fail (reading == NULL || (width > 0 && height > 0));

  g_set_object (&self->page, page);
  g_array_set_size (self->digits, 0);
  g_array_set_size (self->symbols, 0);
  self->page_width = reading != NULL ? width : 0;
  self->page_height = reading != NULL ? height : 0;
  if (reading != NULL)
    {
      for (int d = 0; d < reading->n_digits; d++)
        {
          const DgDigitReading *read = &reading->digits[d];
          PageDigit digit = { read->box, read->digit, read->probs[read->digit] < unsure_below };
          g_array_append_val (self->digits, digit);
        }
      for (int m = 0; m < reading->n_marks; m++)
        if (reading->marks[m].kind == DG_MARK_SYMBOL)
          g_array_append_val (self->symbols, reading->marks[m].box);
    }

  self->selected = self->digits->len > 0 ? 0 : -1;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED]);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

int
digits_page_view_get_n_digits (DigitsPageView *self)
{
  g_return_val_if_fail (DIGITS_IS_PAGE_VIEW (self), 0);

  return (int) self->digits->len;
}

int
digits_page_view_get_selected (DigitsPageView *self)
{
  g_return_val_if_fail (DIGITS_IS_PAGE_VIEW (self), -1);

  return self->selected;
}

void
digits_page_view_set_selected (DigitsPageView *self, int index)
{
  g_return_if_fail (DIGITS_IS_PAGE_VIEW (self));

  index = self->digits->len > 0 ? CLAMP (index, 0, (int) self->digits->len - 1) : -1;
  if (index == self->selected)
    return;
  self->selected = index;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED]);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
digits_page_view_get_digit_bounds (DigitsPageView *self, int index, graphene_rect_t *bounds)
{
  graphene_rect_t image;
  double scale;

  g_return_val_if_fail (DIGITS_IS_PAGE_VIEW (self), FALSE);
  g_return_val_if_fail (bounds != NULL, FALSE);

  if (index < 0 || index >= (int) self->digits->len || !get_image_rect (self, &image, &scale))
    return FALSE;
  box_to_widget (&image, scale, &g_array_index (self->digits, PageDigit, index).box, bounds);
  return TRUE;
}

gboolean
digits_page_view_get_tag_bounds (DigitsPageView *self, int index, graphene_rect_t *bounds)
{
  graphene_rect_t image;
  g_autofree graphene_rect_t *tags = NULL;
  double scale;

  g_return_val_if_fail (DIGITS_IS_PAGE_VIEW (self), FALSE);
  g_return_val_if_fail (bounds != NULL, FALSE);

  if (index < 0 || index >= (int) self->digits->len || !get_image_rect (self, &image, &scale))
    return FALSE;
  tags = place_tags (self, &image, scale, NULL);
  *bounds = tags[index];
  return TRUE;
}
