/* digits-window.h: the main window — the paper, the answer, the chart. */
#pragma once

#include <adwaita.h>

#include "digits-application.h"
#include "digits-canvas.h"
#include "digits-chart.h"
#include "digits-page-view.h"
#include "digits-preview.h"

G_BEGIN_DECLS

#define DIGITS_TYPE_WINDOW (digits_window_get_type ())

G_DECLARE_FINAL_TYPE (DigitsWindow, digits_window, DIGITS, WINDOW, AdwApplicationWindow)

DigitsWindow *digits_window_new (DigitsApplication *application);

/* Reads @file in a worker thread and shows it in place of the paper with its
 * answer, or a toast naming the file and what is wrong with it. */
void digits_window_open_file (DigitsWindow *self, GFile *file);
/* The same for pixels that arrive already decoded (pasted, dropped). */
void digits_window_open_texture (DigitsWindow *self, GdkTexture *texture);
/* Writes the drawing as a PNG, replacing @file atomically. */
void digits_window_save_drawing (DigitsWindow *self, GFile *file);

/* For the tests: what a person sees. */
DigitsCanvas *digits_window_get_canvas (DigitsWindow *self);
DigitsChart *digits_window_get_chart (DigitsWindow *self);
DigitsPreview *digits_window_get_preview (DigitsWindow *self);
DigitsPageView *digits_window_get_page_view (DigitsWindow *self);
const char *digits_window_get_answer_text (DigitsWindow *self);
const char *digits_window_get_detail_text (DigitsWindow *self);
const char *digits_window_get_chart_heading (DigitsWindow *self);
gboolean digits_window_is_showing_image (DigitsWindow *self);
/* An image of several digits is shown, each boxed (digits_window_get_page_view). */
gboolean digits_window_is_showing_page (DigitsWindow *self);
/* TRUE while a prediction, an image or a save is on its way. */
gboolean digits_window_is_busy (DigitsWindow *self);

G_END_DECLS
