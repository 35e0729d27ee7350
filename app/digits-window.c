/* digits-window.c: the main window.
 *
 * Input comes from the canvas (strokes) or from an image (opened, dropped,
 * pasted); either way the engine turns it into the 28x28 the network reads,
 * and the window shows the answer, the chart of probabilities and that
 * 28x28 picture.  Strokes are read on the main loop at most every
 * PREDICT_INTERVAL_MS while the drawing changes (a prediction takes well under
 * a millisecond); images are decoded and read in a worker thread.
 *
 * An image is read digit by digit, the way digits-cli recognize reads one
 * (dg_read_digits).  One digit is shown as a drawn one is; several are a
 * page: the image with a box over each digit (DigitsPageView), the whole
 * string as the answer, and the chart and the 28x28 of the digit selected.
 */
#include "config.h"

#include "digits-window.h"

#include <glib/gi18n.h>

#include "dg-image.h"
#include "dg-preprocess.h"
#include "dg-segment.h"

#define PREDICT_INTERVAL_MS 100
#define LONG_ANSWER         6      /* digits on a line: a longer string is set smaller, */
#define LONGER_ANSWER       12     /* and smaller still */
#define MAX_DISPLAY_SIDE    2048   /* pixels: larger images are shown scaled down */
#define DRAWING_PNG_SIDE    560    /* pixels: a saved drawing, twice the paper */
#define TOAST_SETTLE_US     (G_USEC_PER_SEC / 2) /* a toast's show animation and then some */

struct _DigitsWindow
{
  AdwApplicationWindow parent_instance;

  /* Template widgets */
  AdwToastOverlay *toast_overlay;
  AdwWindowTitle *window_title;
  GtkStack *main_stack;
  AdwStatusPage *broken_page;
  DigitsCanvas *canvas;
  GtkWidget *image_frame;
  GtkPicture *picture;
  DigitsPageView *page_view;
  GtkLabel *answer_label;
  GtkLabel *detail_label;
  GtkLabel *chart_heading;
  DigitsChart *chart;
  DigitsPreview *preview;

  DgModel *model;                /* the application's; NULL if it could not load */
  DgModel *strings_model;        /* the application's, for images of several digits */
  DgModel *pairs_model;          /* the application's, for overlapping digits; or NULL */
  DgModel *scan_model;           /* the application's, reads pages' digits again; or NULL */
  guint predict_source;          /* a prediction waiting to run, or 0 */
  GCancellable *read_cancellable; /* the image being read, or NULL */
  guint pending_saves;
  gboolean showing_image;        /* an image covers the paper */
  DgReading *page;               /* the image's digits when it has several, or NULL */
  char *answer;                  /* what Copy copies: the digit or digits shown; NULL
                                  * for none or "Not sure" */
  AdwToast *toast;               /* weak: the message on screen, if any */
  gint64 toast_shown_at;         /* when it appeared, monotonic microseconds */
};

G_DEFINE_FINAL_TYPE (DigitsWindow, digits_window, ADW_TYPE_APPLICATION_WINDOW)

/* An image on its way through the worker thread. */
typedef struct
{
  char *name;            /* for messages: the file's name, or "pasted image" */
  char *path;            /* the file to read, or NULL for @pixbuf */
  GdkPixbuf *pixbuf;     /* pixels to read when there is no file */
  GdkTexture *texture;   /* what to show, when it came as a texture */
  GtkApplication *application; /* holds the model for the worker */
  DgModel *model;        /* the application's, prepared: threads may share it */
  DgModel *strings_model; /* likewise, for reading digit by digit */
  DgModel *pairs_model;   /* likewise, for overlapping digits; or NULL */
  DgModel *scan_model;    /* likewise, to read the digits again; or NULL */
  GdkPixbuf *display;    /* out: what to show, for a file */
  float input[DG_IMAGE_PIXELS]; /* out: (28, 28) for the network, one digit */
  float probs[DG_CLASSES];      /* out: (10) what it read there */
  gboolean nothing_to_read;     /* out: no ink found */
  DgReading *page;       /* out: the digits, when there are several */
  int page_width;        /* out: image pixels, what the page's boxes are in */
  int page_height;
} Reading;

static void
reading_free (gpointer data)
{
  Reading *reading = data;

  g_free (reading->name);
  g_free (reading->path);
  g_clear_object (&reading->pixbuf);
  g_clear_object (&reading->texture);
  g_clear_object (&reading->application);
  g_clear_object (&reading->display);
  g_clear_pointer (&reading->page, dg_reading_free);
  g_free (reading);
}

static char *
format_percent (double probability)
{
  /* Translators: a probability as a percentage, e.g. "97 %"; use your
   * language's convention for spacing and the percent sign. */
  return g_strdup_printf (_ ("%.0f\u00a0%%"), probability * 100.0);
}

static void
on_toast_dismissed (AdwToast *toast, DigitsWindow *self)
{
  if (self->toast == toast)
    g_clear_weak_pointer (&self->toast);
}

static void
show_toast (DigitsWindow *self, const char *text, gboolean is_error)
{
  /* Toast titles are Pango markup; a file may be called "R&D <1>.png". */
  g_autofree char *markup = g_markup_escape_text (text, -1);
  gint64 now = g_get_monotonic_time ();
  AdwToast *toast;

  /* The newest message replaces the one on screen rather than queueing
   * behind it: it is about what the person just did.  A toast still
   * sliding in is retitled instead, because libadwaita 1.2 can crash when a
   * toast is dismissed during its show animation. */
  if (self->toast != NULL && now - self->toast_shown_at < TOAST_SETTLE_US)
    {
      adw_toast_set_title (self->toast, markup);
      return;
    }
  if (self->toast != NULL)
    adw_toast_dismiss (self->toast);

  toast = adw_toast_new (markup);
  if (is_error)
    adw_toast_set_timeout (toast, 8);
  g_signal_connect_object (toast, "dismissed", G_CALLBACK (on_toast_dismissed), self, 0);
  g_set_weak_pointer (&self->toast, toast);
  self->toast_shown_at = now;
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
update_actions (DigitsWindow *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gboolean working = self->model != NULL;
  gboolean drawing = !digits_canvas_is_empty (self->canvas) && !self->showing_image;

  gtk_widget_action_set_enabled (widget, "win.open", working);
  gtk_widget_action_set_enabled (widget, "win.paste", working);
  gtk_widget_action_set_enabled (widget, "win.undo",
                                 working && digits_canvas_can_undo (self->canvas));
  gtk_widget_action_set_enabled (widget, "win.redo",
                                 working && !self->showing_image
                                     && digits_canvas_can_redo (self->canvas));
  gtk_widget_action_set_enabled (widget, "win.clear", working && (drawing || self->showing_image));
  gtk_widget_action_set_enabled (widget, "win.save", working && drawing);
  gtk_widget_action_set_enabled (widget, "win.copy", working && self->answer != NULL);
}

/* What a screen reader hears about the paper or the picture on it. */
static void
describe_input (DigitsWindow *self, const char *description)
{
  GtkAccessible *accessible = GTK_ACCESSIBLE (self->canvas);

  if (self->page != NULL)
    accessible = GTK_ACCESSIBLE (self->page_view);
  else if (self->showing_image)
    accessible = GTK_ACCESSIBLE (self->picture);
  gtk_accessible_update_property (accessible, GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description,
                                  -1);
}

/* @answer: the digit (@is_digit) or words in its place. */
static void
set_answer (DigitsWindow *self, const char *answer, const char *detail, gboolean is_digit)
{
  GtkWidget *label = GTK_WIDGET (self->answer_label);

  g_free (self->answer);
  self->answer = is_digit ? g_strdup (answer) : NULL;
  gtk_label_set_label (self->answer_label, answer);
  gtk_label_set_attributes (self->answer_label, NULL);
  gtk_label_set_label (self->detail_label, detail);
  gtk_label_set_label (self->chart_heading, _("Probability of Each Digit"));
  gtk_widget_remove_css_class (label, "several");
  gtk_widget_remove_css_class (label, "long");
  gtk_widget_remove_css_class (label, "longer");
  if (is_digit)
    gtk_widget_remove_css_class (label, "placeholder");
  else
    gtk_widget_add_css_class (label, "placeholder");
}

static void
show_empty (DigitsWindow *self)
{
  set_answer (self, _("Draw a digit"), _("or open an image of one"), FALSE);
  digits_chart_set_probabilities (self->chart, NULL);
  digits_preview_set_input (self->preview, NULL);
  describe_input (self, _("Empty. Draw a digit here with the mouse, a finger or a pen."));
  update_actions (self);
}

static void
show_nothing_to_read (DigitsWindow *self)
{
  set_answer (self, _("Not sure"), _("There is nothing to read"), FALSE);
  digits_chart_set_probabilities (self->chart, NULL);
  digits_preview_set_input (self->preview, NULL);
  describe_input (self, _("Not sure: there is nothing to read"));
  update_actions (self);
}

/* @input (28, 28) went into the network, @probs (10) came out. */
static void
show_result (DigitsWindow *self, const float *input, const float *probs)
{
  int top = dg_argmax (probs, DG_CLASSES);
  g_autofree char *percent = format_percent (probs[top]);
  g_autofree char *digit = g_strdup_printf ("%d", top);
  g_autofree char *detail = NULL;
  g_autofree char *description = NULL;

  digits_chart_set_probabilities (self->chart, probs);
  digits_preview_set_input (self->preview, input);

  if (probs[top] < DG_UNSURE_BELOW)
    {
      /* Translators: the likeliest digit and its probability, e.g. "Best guess: 4 (41 %)". */
      detail = g_strdup_printf (_("Best guess: %d (%s)"), top, percent);
      /* Translators: read aloud when the answer is uncertain,
       * e.g. "Not sure; best guess 4, 41 %". */
      description = g_strdup_printf (_("Not sure; best guess %d, %s"), top, percent);
      set_answer (self, _("Not sure"), detail, FALSE);
    }
  else
    {
      /* Translators: how sure the reader is of its answer, e.g. "Confidence: 97 %". */
      detail = g_strdup_printf (_("Confidence: %s"), percent);
      /* Translators: read aloud, e.g. "Read as 7, confidence 97 %". */
      description = g_strdup_printf (_("Read as %d, confidence %s"), top, percent);
      set_answer (self, digit, detail, TRUE);
    }
  describe_input (self, description);
  update_actions (self);
}

/* The selected digit stands out in the string: underlined, in the accent
 * colour, as its box does on the page. */
static void
mark_in_answer (DigitsWindow *self, int selected)
{
  const char *text = self->page->text;
  GtkWidget *label = GTK_WIDGET (self->answer_label);
  PangoAttrList *attrs = pango_attr_list_new ();
  PangoAttribute *attr;
  GdkRGBA accent;
  guint at;
  int seen = -1;

  /* Lines are separated by spaces; only digits count. */
  for (at = 0; text[at] != '\0'; at++)
    if (g_ascii_isdigit (text[at]) && ++seen == selected)
      break;

  attr = pango_attr_underline_new (PANGO_UNDERLINE_SINGLE);
  attr->start_index = at;
  attr->end_index = at + 1;
  pango_attr_list_insert (attrs, attr);
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  if (gtk_style_context_lookup_color (gtk_widget_get_style_context (label), "accent_color",
                                      &accent))
    {
      attr = pango_attr_foreground_new ((guint16) (accent.red * 65535),
                                        (guint16) (accent.green * 65535),
                                        (guint16) (accent.blue * 65535));
      attr->start_index = at;
      attr->end_index = at + 1;
      pango_attr_list_insert (attrs, attr);
    }
  G_GNUC_END_IGNORE_DEPRECATIONS
  gtk_label_set_attributes (self->answer_label, attrs);
  pango_attr_list_unref (attrs);
}

/* The page's selected digit: its chart, its 28x28, its place in the string. */
static void
show_page_selection (DigitsWindow *self)
{
  int selected = digits_page_view_get_selected (self->page_view);
  const DgDigitReading *digit;
  g_autofree char *heading = NULL;
  g_autofree char *percent = NULL;
  g_autofree char *description = NULL;

  if (self->page == NULL || selected < 0 || selected >= self->page->n_digits)
    return;
  digit = &self->page->digits[selected];

  digits_chart_set_probabilities (self->chart, digit->probs);
  digits_preview_set_input (self->preview, digit->input);
  /* Translators: the chart's heading when an image holds several digits,
   * e.g. "Probabilities for Digit 2 of 4". */
  heading = g_strdup_printf (_("Probabilities for Digit %d of %d"), selected + 1,
                             self->page->n_digits);
  gtk_label_set_label (self->chart_heading, heading);
  mark_in_answer (self, selected);

  percent = format_percent (digit->probs[digit->digit]);
  /* Translators: read aloud for an image of several digits, e.g.
   * "Read as 1250; digit 3 of 4 selected: 5, confidence 97 %". */
  description = g_strdup_printf (_("Read as %s; digit %d of %d selected: %d, confidence %s"),
                                 self->page->text, selected + 1, self->page->n_digits,
                                 digit->digit, percent);
  describe_input (self, description);
}

/* A page of several digits: the string as the answer; the detail names the
 * least sure digit when it is unsure (by position, as digits-cli does). */
static void
show_page (DigitsWindow *self)
{
  const DgReading *page = self->page;
  const DgDigitReading *least = &page->digits[page->least_sure];
  GtkWidget *label = GTK_WIDGET (self->answer_label);
  g_autofree char *percent = format_percent (page->confidence);
  g_autofree char *detail = NULL;
  int n_unsure = 0, longest_line = 0, line_length = 0;

  for (int d = 0; d < page->n_digits; d++)
    if (page->digits[d].probs[page->digits[d].digit] < DG_UNSURE_BELOW)
      n_unsure++;
  /* The label wraps between lines of text only, so the longest sets the size. */
  for (const char *c = page->text; *c != '\0'; c++)
    {
      line_length = *c == ' ' ? 0 : line_length + 1;
      longest_line = MAX (longest_line, line_length);
    }

  if (n_unsure == 0)
    /* Translators: for a string of digits, the probability of the least sure
     * one, e.g. "Lowest confidence: 97 %". */
    detail = g_strdup_printf (_("Lowest confidence: %s"), percent);
  else if (n_unsure == 1)
    /* Translators: the one digit of a string read with little confidence,
     * by its position, e.g. "Not sure of digit 3: best guess 4 (41 %)". */
    detail = g_strdup_printf (_("Not sure of digit %d: best guess %d (%s)"),
                              page->least_sure + 1, least->digit, percent);
  else
    /* Translators: several digits of a string read with little confidence,
     * e.g. "Not sure of 2 digits; the least sure is digit 3: best guess 4 (41 %)". */
    detail = g_strdup_printf (ngettext ("Not sure of %d digit; the least sure is digit %d: "
                                        "best guess %d (%s)",
                                        "Not sure of %d digits; the least sure is digit %d: "
                                        "best guess %d (%s)",
                                        n_unsure),
                              n_unsure, page->least_sure + 1, least->digit, percent);

  set_answer (self, page->text, detail, TRUE);
  gtk_widget_add_css_class (label, "several");
  if (longest_line > LONGER_ANSWER)
    gtk_widget_add_css_class (label, "longer");
  else if (longest_line > LONG_ANSWER)
    gtk_widget_add_css_class (label, "long");
  show_page_selection (self);
  update_actions (self);
}

static void
on_page_selection_changed (DigitsPageView *page_view, GParamSpec *pspec, DigitsWindow *self)
{
  show_page_selection (self);
}

static void
predict_drawing (DigitsWindow *self)
{
  g_autoptr (GError) error = NULL;
  float input[DG_IMAGE_PIXELS];
  float probs[DG_CLASSES];
  const DgStroke *strokes;
  int n_strokes;

  if (self->model == NULL || self->showing_image)
    return;

  strokes = digits_canvas_get_strokes (self->canvas, &n_strokes);
  if (n_strokes == 0)
    {
      show_empty (self);
      return;
    }
  if (!dg_preprocess_strokes (strokes, n_strokes, DIGITS_CANVAS_PAPER_SIZE,
                              DIGITS_CANVAS_PAPER_SIZE, input, &error))
    {
      /* The canvas keeps within the engine's limits, so this is no ink. */
      if (!g_error_matches (error, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_NOTHING_TO_READ))
        g_message ("Cannot read the drawing: %s", error->message);
      show_nothing_to_read (self);
      return;
    }
  dg_model_predict (self->model, 1, input, probs);
  show_result (self, input, probs);
}

static gboolean
on_predict_timeout (gpointer user_data)
{
  DigitsWindow *self = user_data;

  self->predict_source = 0;
  predict_drawing (self);
  return G_SOURCE_REMOVE;
}

static void
cancel_reading (DigitsWindow *self)
{
  if (self->read_cancellable != NULL)
    g_cancellable_cancel (self->read_cancellable);
  g_clear_object (&self->read_cancellable);
}

/* Takes the page of several digits off the paper, if there is one. */
static void
clear_page (DigitsWindow *self)
{
  gboolean had_focus = gtk_widget_has_focus (GTK_WIDGET (self->page_view));

  g_clear_pointer (&self->page, dg_reading_free);
  digits_page_view_set_page (self->page_view, NULL, 0, 0, NULL, DG_UNSURE_BELOW);
  gtk_widget_set_visible (GTK_WIDGET (self->page_view), FALSE);
  /* The keyboard stays on the reader rather than falling to the window. */
  if (had_focus)
    gtk_widget_grab_focus (GTK_WIDGET (self->canvas));
}

static void
leave_image (DigitsWindow *self)
{
  if (!self->showing_image)
    return;
  self->showing_image = FALSE;
  clear_page (self);
  gtk_picture_set_paintable (self->picture, NULL);
  gtk_widget_set_visible (self->image_frame, FALSE);
  adw_window_title_set_subtitle (self->window_title, NULL);
}

static void
on_canvas_changed (DigitsCanvas *canvas, DigitsWindow *self)
{
  /* Drawing on the picture starts a new drawing, and the picture goes. */
  leave_image (self);
  cancel_reading (self);
  update_actions (self);

  /* At most one prediction per interval, so the answer follows the pen. */
  if (self->predict_source == 0)
    self->predict_source = g_timeout_add (PREDICT_INTERVAL_MS, on_predict_timeout, self);
}

/* Whether an image's reading is shown as a page, each digit boxed: when it
 * holds several digits, or one beside ink left out as no digit (a "$6-", a
 * digit in a ruled box).  Read whole, that ink would be read with the digit:
 * "$6-" was read as an 8. */
static gboolean
shown_as_page (const DgReading *page)
{
  if (page->n_digits > 1)
    return TRUE;
  if (page->n_digits == 0)
    return FALSE;
  for (int m = 0; m < page->n_marks; m++)
    if (page->marks[m].kind != DG_MARK_SPECK)
      return TRUE;
  return FALSE;
}

/* Worker thread: decode, check, read.  Touches nothing but @reading (and the
 * model, which threads may share). */
static void
read_image_thread (GTask *task, gpointer source_object, gpointer task_data,
                   GCancellable *cancellable)
{
  Reading *reading = task_data;
  g_autoptr (DgGreyImage) grey = NULL;
  g_autoptr (DgReading) page = NULL;
  g_autoptr (GError) error = NULL;

  if (reading->path != NULL)
    {
      g_autoptr (GFileInfo) info = NULL;
      g_autoptr (GFile) file = g_file_new_for_path (reading->path);

      info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_SIZE, G_FILE_QUERY_INFO_NONE,
                                cancellable, &error);
      if (info == NULL)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      if (g_file_info_get_size (info) == 0)
        {
          g_task_return_new_error (task, DG_IMAGE_ERROR, DG_IMAGE_ERROR_FORMAT,
                                   _("the file is empty"));
          return;
        }

      grey = dg_grey_image_load (reading->path, &error);
      if (grey == NULL)
        {
          const char *reason;

          g_debug ("%s", error->message);
          if (g_error_matches (error, DG_IMAGE_ERROR, DG_IMAGE_ERROR_TOO_LARGE))
            reason = _("the image is too large");
          else if (g_error_matches (error, DG_IMAGE_ERROR, DG_IMAGE_ERROR_IO))
            reason = _("the file cannot be read");
          else if (gdk_pixbuf_get_file_info (reading->path, NULL, NULL) == NULL)
            reason = _("it is not an image");
          else
            reason = _("the image is damaged or incomplete");
          g_task_return_new_error (task, error->domain, error->code, "%s", reason);
          return;
        }

      /* What to show: the same file, at most MAX_DISPLAY_SIDE across. */
      if (grey->width > MAX_DISPLAY_SIDE || grey->height > MAX_DISPLAY_SIDE)
        reading->display = gdk_pixbuf_new_from_file_at_scale (reading->path, MAX_DISPLAY_SIDE,
                                                              MAX_DISPLAY_SIDE, TRUE, NULL);
      else
        reading->display = gdk_pixbuf_new_from_file (reading->path, NULL);
      if (reading->display != NULL)
        {
          GdkPixbuf *oriented = gdk_pixbuf_apply_embedded_orientation (reading->display);
          g_object_unref (reading->display);
          reading->display = oriented;
        }
    }
  else
    {
      grey = dg_grey_image_from_pixbuf (reading->pixbuf);
    }

  if (g_task_return_error_if_cancelled (task))
    return;

  /* Digit by digit, as digits-cli recognize reads an image: ruled lines and
   * marks left out, touching digits cut apart. */
  page = dg_read_digits (reading->strings_model, reading->model, reading->scan_model,
                         reading->pairs_model, grey->grey, grey->width, grey->height, grey->width,
                         &error);
  if (page != NULL && shown_as_page (page))
    {
      reading->page = g_steal_pointer (&page);
      reading->page_width = grey->width;
      reading->page_height = grey->height;
      g_task_return_boolean (task, TRUE);
      return;
    }

  /* One digit alone (or ink no part of which reads as one) is read whole, as
   * digits-cli recognize --single does: a digit whose parts came apart
   * (a 5's detached bar) is then still one digit, and a scribble still gets
   * its best guess and how unsure it is. */
  if (error != NULL)
    g_debug ("reading digit by digit: %s", error->message);
  g_clear_error (&error);
  if (!dg_preprocess_grey (grey->grey, grey->width, grey->height, grey->width, reading->input,
                           &error))
    {
      if (!g_error_matches (error, DG_PREPROCESS_ERROR, DG_PREPROCESS_ERROR_NOTHING_TO_READ))
        {
          g_debug ("%s", error->message);
          g_task_return_new_error (task, error->domain, error->code, "%s",
                                   _("the image is too large"));
          return;
        }
      reading->nothing_to_read = TRUE;
    }
  else
    dg_model_predict (reading->model, 1, reading->input, reading->probs);
  g_task_return_boolean (task, TRUE);
}

static void
on_read_image_done (GObject *source_object, GAsyncResult *result, gpointer user_data)
{
  DigitsWindow *self = DIGITS_WINDOW (source_object);
  GTask *task = G_TASK (result);
  Reading *reading = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkPaintable) paintable = NULL;

  if (!g_task_propagate_boolean (task, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      if (g_task_get_cancellable (task) == self->read_cancellable)
        g_clear_object (&self->read_cancellable);

      g_autofree char *text = NULL;
      if (reading->path != NULL)
        /* Translators: the first %s is a file name, the second what is wrong with it. */
        text = g_strdup_printf (_("Could not open “%s”: %s"), reading->name, error->message);
      else
        text = g_strdup_printf (_("Could not read the pasted image: %s"), error->message);
      show_toast (self, text, TRUE);
      return;
    }
  /* Superseded by a newer image or by drawing (then it was cancelled too). */
  if (g_task_get_cancellable (task) != self->read_cancellable)
    return;
  g_clear_object (&self->read_cancellable);

  if (reading->texture != NULL)
    paintable = GDK_PAINTABLE (g_object_ref (reading->texture));
  else if (reading->display != NULL)
    paintable = GDK_PAINTABLE (gdk_texture_new_for_pixbuf (reading->display));

  /* The picture takes the paper's place; the drawing stays in the undo history. */
  g_signal_handlers_block_by_func (self->canvas, on_canvas_changed, self);
  digits_canvas_clear (self->canvas);
  g_signal_handlers_unblock_by_func (self->canvas, on_canvas_changed, self);
  g_clear_handle_id (&self->predict_source, g_source_remove);

  self->showing_image = TRUE;
  adw_window_title_set_subtitle (self->window_title, reading->name);
  clear_page (self);

  if (reading->page != NULL)
    {
      /* The view selects the first digit before the window holds the page;
       * show_page shows that selection. */
      gtk_picture_set_paintable (self->picture, NULL);
      gtk_widget_set_visible (self->image_frame, FALSE);
      digits_page_view_set_page (self->page_view, paintable, reading->page_width,
                                 reading->page_height, reading->page, DG_UNSURE_BELOW);
      self->page = g_steal_pointer (&reading->page);
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->page_view),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, reading->name, -1);
      gtk_widget_set_visible (GTK_WIDGET (self->page_view), TRUE);
      /* Left and Right step through the digits at once. */
      gtk_widget_grab_focus (GTK_WIDGET (self->page_view));
      show_page (self);
      return;
    }

  gtk_picture_set_paintable (self->picture, paintable);
  gtk_widget_set_visible (self->image_frame, TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->picture), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  reading->name, -1);
  if (reading->nothing_to_read)
    {
      show_nothing_to_read (self);
      return;
    }
  show_result (self, reading->input, reading->probs);
}

static void
start_reading (DigitsWindow *self, Reading *reading)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (self->model != NULL);

  cancel_reading (self);
  /* The worker holds the application, and so its model, until it is done. */
  g_set_object (&reading->application, gtk_window_get_application (GTK_WINDOW (self)));
  reading->model = self->model;
  reading->strings_model = self->strings_model;
  reading->pairs_model = self->pairs_model;
  reading->scan_model = self->scan_model;
  self->read_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->read_cancellable, on_read_image_done, NULL);
  g_task_set_source_tag (task, start_reading);
  g_task_set_task_data (task, reading, reading_free);
  g_task_run_in_thread (task, read_image_thread);
}

void
digits_window_open_file (DigitsWindow *self, GFile *file)
{
  Reading *reading;

  g_return_if_fail (DIGITS_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  if (self->model == NULL)
    return;

  reading = g_new0 (Reading, 1);
  reading->path = g_file_get_path (file);
  if (reading->path != NULL)
    reading->name = g_filename_display_basename (reading->path);
  else
    reading->name = g_file_get_parse_name (file);

  if (reading->path == NULL)
    {
      /* Translators: %s is a file name or address. */
      g_autofree char *text = g_strdup_printf (_("Could not open “%s”: %s"), reading->name,
                                               _("only files on this computer can be opened"));
      show_toast (self, text, TRUE);
      reading_free (reading);
      return;
    }
  start_reading (self, reading);
}

void
digits_window_open_texture (DigitsWindow *self, GdkTexture *texture)
{
  Reading *reading;

  g_return_if_fail (DIGITS_IS_WINDOW (self));
  g_return_if_fail (GDK_IS_TEXTURE (texture));

  if (self->model == NULL)
    return;

  reading = g_new0 (Reading, 1);
  reading->name = g_strdup (_("Pasted image"));
  reading->texture = g_object_ref (texture);
  /* Downloading a texture is main-thread work; the rest is the worker's. */
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  reading->pixbuf = gdk_pixbuf_get_from_texture (texture);
  G_GNUC_END_IGNORE_DEPRECATIONS
  start_reading (self, reading);
}

static void
on_save_done (GObject *source_object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (DigitsWindow) self = user_data;
  GFile *file = G_FILE (source_object);
  g_autofree char *name = g_file_get_basename (file);
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;

  self->pending_saves--;
  if (!g_file_replace_contents_finish (file, result, NULL, &error))
    {
      /* Translators: the first %s is a file name, the second the reason. */
      text = g_strdup_printf (_("Could not save “%s”: %s"), name, error->message);
      show_toast (self, text, TRUE);
      return;
    }
  text = g_strdup_printf (_("Saved “%s”"), name);
  show_toast (self, text, FALSE);
}

void
digits_window_save_drawing (DigitsWindow *self, GFile *file)
{
  g_autoptr (GBytes) png = NULL;
  g_autoptr (GError) error = NULL;

  g_return_if_fail (DIGITS_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  png = digits_canvas_render_png (self->canvas, DRAWING_PNG_SIDE, &error);
  if (png == NULL)
    {
      g_autofree char *name = g_file_get_basename (file);
      g_autofree char *text = g_strdup_printf (_("Could not save “%s”: %s"), name,
                                               error->message);
      show_toast (self, text, TRUE);
      return;
    }
  /* The new file is written beside the old and renamed over it. */
  self->pending_saves++;
  g_file_replace_contents_bytes_async (file, png, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION,
                                       NULL, on_save_done, g_object_ref (self));
}

static void
on_open_response (GtkNativeDialog *dialog, int response, DigitsWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      digits_window_open_file (self, file);
    }
  g_object_unref (dialog);
}

static void
open_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  DigitsWindow *self = DIGITS_WINDOW (widget);
  GtkFileChooserNative *dialog;
  g_autoptr (GtkFileFilter) images = gtk_file_filter_new ();
  g_autoptr (GtkFileFilter) all = gtk_file_filter_new ();

  dialog = gtk_file_chooser_native_new (_("Open an Image"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);

  gtk_file_filter_set_name (images, _("Images"));
  gtk_file_filter_add_pixbuf_formats (images);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), images);
  gtk_file_filter_set_name (all, _("All Files"));
  gtk_file_filter_add_pattern (all, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), all);
  gtk_file_chooser_set_filter (GTK_FILE_CHOOSER (dialog), images);

  g_signal_connect (dialog, "response", G_CALLBACK (on_open_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
on_save_response (GtkNativeDialog *dialog, int response, DigitsWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      digits_window_save_drawing (self, file);
    }
  g_object_unref (dialog);
}

static void
save_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  DigitsWindow *self = DIGITS_WINDOW (widget);
  GtkFileChooserNative *dialog;
  g_autoptr (GtkFileFilter) png = gtk_file_filter_new ();

  dialog = gtk_file_chooser_native_new (_("Save Drawing"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  gtk_file_filter_set_name (png, _("PNG Images"));
  gtk_file_filter_add_mime_type (png, "image/png");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), png);
  /* Translators: the suggested file name for a saved drawing. */
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), _("digit.png"));

  g_signal_connect (dialog, "response", G_CALLBACK (on_save_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
on_paste_texture (GObject *source_object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (DigitsWindow) self = user_data;
  g_autoptr (GdkTexture) texture = NULL;
  g_autoptr (GError) error = NULL;

  texture = gdk_clipboard_read_texture_finish (GDK_CLIPBOARD (source_object), result, &error);
  if (texture == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("Could not read the pasted image: %s"),
                                               error->message);
      show_toast (self, text, TRUE);
      return;
    }
  digits_window_open_texture (self, texture);
}

static void
on_paste_files (GObject *source_object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (DigitsWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  const GValue *value;
  GSList *files;

  value = gdk_clipboard_read_value_finish (GDK_CLIPBOARD (source_object), result, &error);
  if (value == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("Could not read the pasted image: %s"),
                                               error->message);
      show_toast (self, text, TRUE);
      return;
    }
  files = gdk_file_list_get_files (g_value_get_boxed (value));
  if (files != NULL)
    digits_window_open_file (self, files->data);
  g_slist_free (files);
}

static void
paste_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  DigitsWindow *self = DIGITS_WINDOW (widget);
  GdkClipboard *clipboard = gtk_widget_get_clipboard (widget);
  g_autoptr (GdkContentFormats) formats = NULL;

  /* What the clipboard holds, and what GTK can turn it into. */
  formats = gdk_content_formats_union_deserialize_gtypes (
      gdk_content_formats_ref (gdk_clipboard_get_formats (clipboard)));
  if (gdk_content_formats_contain_gtype (formats, GDK_TYPE_FILE_LIST))
    gdk_clipboard_read_value_async (clipboard, GDK_TYPE_FILE_LIST, G_PRIORITY_DEFAULT, NULL,
                                    on_paste_files, g_object_ref (self));
  else if (gdk_content_formats_contain_gtype (formats, GDK_TYPE_TEXTURE))
    gdk_clipboard_read_texture_async (clipboard, NULL, on_paste_texture, g_object_ref (self));
  else
    show_toast (self, _("There is no image to paste"), TRUE);
}

static void
copy_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  DigitsWindow *self = DIGITS_WINDOW (widget);
  g_autofree char *text = NULL;

  if (self->answer == NULL)
    return;
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), self->answer);
  /* Translators: %s is the digit or digits that were copied. */
  text = g_strdup_printf (_("Copied “%s”"), self->answer);
  show_toast (self, text, FALSE);
}

static void
undo_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  DigitsWindow *self = DIGITS_WINDOW (widget);

  gboolean was_showing_image = self->showing_image;

  /* Undo from a picture goes back to the drawing it replaced. */
  cancel_reading (self);
  leave_image (self);
  if (!digits_canvas_undo (self->canvas) && was_showing_image)
    predict_drawing (self);
}

static void
redo_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  DigitsWindow *self = DIGITS_WINDOW (widget);

  digits_canvas_redo (self->canvas);
}

static void
clear_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  DigitsWindow *self = DIGITS_WINDOW (widget);

  cancel_reading (self);
  if (self->showing_image)
    {
      /* The paper under the picture is already clean. */
      leave_image (self);
      g_clear_handle_id (&self->predict_source, g_source_remove);
      predict_drawing (self);
      return;
    }
  digits_canvas_clear (self->canvas);
}

static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, DigitsWindow *self)
{
  if (self->model == NULL)
    return FALSE;

  if (G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    {
      GSList *files = gdk_file_list_get_files (g_value_get_boxed (value));
      gboolean accepted = files != NULL;

      if (files != NULL)
        digits_window_open_file (self, files->data);
      g_slist_free (files);
      return accepted;
    }
  if (G_VALUE_HOLDS (value, GDK_TYPE_TEXTURE))
    {
      digits_window_open_texture (self, g_value_get_object (value));
      return TRUE;
    }
  return FALSE;
}

/* Takes the application's model and settings; the window is built by then. */
static void
digits_window_set_up (DigitsWindow *self, DigitsApplication *application)
{
  const GError *model_error = NULL;
  GSettings *settings;

  self->model = digits_application_get_model (application, &model_error);
  self->strings_model = digits_application_get_strings_model (application);
  self->pairs_model = digits_application_get_pairs_model (application);
  self->scan_model = digits_application_get_scan_model (application);
  if (self->model == NULL)
    {
      g_autofree char *description = g_strdup_printf (
          /* Translators: %s is the technical reason, e.g. a missing file. */
          _("The trained network could not be loaded: %s"),
          model_error != NULL ? model_error->message : "");

      adw_status_page_set_description (self->broken_page, description);
      gtk_stack_set_visible_child_name (self->main_stack, "broken");
    }

  settings = digits_application_get_settings (application);
  if (settings != NULL)
    {
      g_settings_bind (settings, "window-width", self, "default-width", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "window-height", self, "default-height",
                       G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "window-maximized", self, "maximized", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "pen-width", self->canvas, "pen-width", G_SETTINGS_BIND_GET);
    }

  show_empty (self);
}

static void
digits_window_dispose (GObject *object)
{
  DigitsWindow *self = DIGITS_WINDOW (object);

  cancel_reading (self);
  g_clear_handle_id (&self->predict_source, g_source_remove);
  g_clear_weak_pointer (&self->toast);
  g_clear_pointer (&self->page, dg_reading_free);
  g_clear_pointer (&self->answer, g_free);

  gtk_widget_dispose_template (GTK_WIDGET (self), DIGITS_TYPE_WINDOW);

  G_OBJECT_CLASS (digits_window_parent_class)->dispose (object);
}

static void
digits_window_class_init (DigitsWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = digits_window_dispose;

  g_type_ensure (DIGITS_TYPE_CANVAS);
  g_type_ensure (DIGITS_TYPE_CHART);
  g_type_ensure (DIGITS_TYPE_PAGE_VIEW);
  g_type_ensure (DIGITS_TYPE_PREVIEW);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/digits/Digits/ui/digits-window.ui");
  gtk_widget_class_bind_template_child (widget_class, DigitsWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, DigitsWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, DigitsWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, DigitsWindow, broken_page);
  gtk_widget_class_bind_template_child (widget_class, DigitsWindow, canvas);
  gtk_widget_class_bind_template_child (widget_class, DigitsWindow, image_frame);
  gtk_widget_class_bind_template_child (widget_class, DigitsWindow, picture);
  gtk_widget_class_bind_template_child (widget_class, DigitsWindow, page_view);
  gtk_widget_class_bind_template_child (widget_class, DigitsWindow, answer_label);
  gtk_widget_class_bind_template_child (widget_class, DigitsWindow, detail_label);
  gtk_widget_class_bind_template_child (widget_class, DigitsWindow, chart_heading);
  gtk_widget_class_bind_template_child (widget_class, DigitsWindow, chart);
  gtk_widget_class_bind_template_child (widget_class, DigitsWindow, preview);
  gtk_widget_class_bind_template_callback (widget_class, on_canvas_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_page_selection_changed);

  /* Their shortcuts are set with the application's, in digits-application.c. */
  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.save", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "win.paste", NULL, paste_action);
  gtk_widget_class_install_action (widget_class, "win.copy", NULL, copy_action);
  gtk_widget_class_install_action (widget_class, "win.undo", NULL, undo_action);
  gtk_widget_class_install_action (widget_class, "win.redo", NULL, redo_action);
  gtk_widget_class_install_action (widget_class, "win.clear", NULL, clear_action);
}

static void
digits_window_init (DigitsWindow *self)
{
  GtkDropTarget *drop;
  GType drop_types[] = { GDK_TYPE_FILE_LIST, GDK_TYPE_TEXTURE };

  gtk_widget_init_template (GTK_WIDGET (self));

  drop = gtk_drop_target_new (G_TYPE_INVALID, GDK_ACTION_COPY);
  gtk_drop_target_set_gtypes (drop, drop_types, G_N_ELEMENTS (drop_types));
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));
}

DigitsWindow *
digits_window_new (DigitsApplication *application)
{
  DigitsWindow *self;

  g_return_val_if_fail (DIGITS_IS_APPLICATION (application), NULL);

  self = g_object_new (DIGITS_TYPE_WINDOW, "application", application, NULL);
  digits_window_set_up (self, application);
  return self;
}

DigitsCanvas *
digits_window_get_canvas (DigitsWindow *self)
{
  g_return_val_if_fail (DIGITS_IS_WINDOW (self), NULL);

  return self->canvas;
}

DigitsChart *
digits_window_get_chart (DigitsWindow *self)
{
  g_return_val_if_fail (DIGITS_IS_WINDOW (self), NULL);

  return self->chart;
}

DigitsPreview *
digits_window_get_preview (DigitsWindow *self)
{
  g_return_val_if_fail (DIGITS_IS_WINDOW (self), NULL);

  return self->preview;
}

DigitsPageView *
digits_window_get_page_view (DigitsWindow *self)
{
  g_return_val_if_fail (DIGITS_IS_WINDOW (self), NULL);

  return self->page_view;
}

const char *
digits_window_get_chart_heading (DigitsWindow *self)
{
  g_return_val_if_fail (DIGITS_IS_WINDOW (self), NULL);

  return gtk_label_get_label (self->chart_heading);
}

const char *
digits_window_get_answer_text (DigitsWindow *self)
{
  g_return_val_if_fail (DIGITS_IS_WINDOW (self), NULL);

  return gtk_label_get_label (self->answer_label);
}

const char *
digits_window_get_detail_text (DigitsWindow *self)
{
  g_return_val_if_fail (DIGITS_IS_WINDOW (self), NULL);

  return gtk_label_get_label (self->detail_label);
}

gboolean
digits_window_is_showing_image (DigitsWindow *self)
{
  g_return_val_if_fail (DIGITS_IS_WINDOW (self), FALSE);

  return self->showing_image;
}

gboolean
digits_window_is_showing_page (DigitsWindow *self)
{
  g_return_val_if_fail (DIGITS_IS_WINDOW (self), FALSE);

  return self->page != NULL && gtk_widget_get_visible (GTK_WIDGET (self->page_view));
}

gboolean
digits_window_is_busy (DigitsWindow *self)
{
  g_return_val_if_fail (DIGITS_IS_WINDOW (self), FALSE);

  return self->predict_source != 0 || self->read_cancellable != NULL || self->pending_saves > 0;
}
