/* digits-page-view.h: an opened page with a box and the digit read over each
 * of its digits, one of them selected.
 *
 * The page is drawn as large as the widget allows, on a sheet at least the
 * size of the drawing paper it covers.  A click on a box, or Left, Right,
 * Home and End while the view has the focus, select a digit; "selected"
 * notifies.  Only the boxes take clicks: elsewhere they reach the widget
 * underneath (the paper, so drawing there starts a new drawing).
 */
#pragma once

#include <gtk/gtk.h>

#include "dg-segment.h"

G_BEGIN_DECLS

#define DIGITS_TYPE_PAGE_VIEW (digits_page_view_get_type ())

G_DECLARE_FINAL_TYPE (DigitsPageView, digits_page_view, DIGITS, PAGE_VIEW, GtkWidget)

GtkWidget *digits_page_view_new (void);

/* Shows @page (any size; scaled to fit, aspect kept) with a box around each
 * digit of @reading, whose boxes are pixels of an image @width x @height:
 * the page as it was read, which @page may show scaled down.  A digit whose
 * top probability is under @unsure_below is marked as unsure.  Copies what
 * it needs from @reading and selects its first digit.  A NULL @reading
 * empties the view. */
void digits_page_view_set_page (DigitsPageView *self, GdkPaintable *page, int width, int height,
                                const DgReading *reading, double unsure_below);

int digits_page_view_get_n_digits (DigitsPageView *self);
/* The selected digit, 0-based in reading order; -1 when empty. */
int digits_page_view_get_selected (DigitsPageView *self);
/* Clamped to the digits there are. */
void digits_page_view_set_selected (DigitsPageView *self, int index);
/* Where digit @index's box is drawn, widget pixels; FALSE when there is no
 * such digit or the view has no size yet. */
gboolean digits_page_view_get_digit_bounds (DigitsPageView *self, int index,
                                            graphene_rect_t *bounds);
/* Where digit @index's tag (the digit it was read as) is drawn, as
 * digits_page_view_get_digit_bounds. */
gboolean digits_page_view_get_tag_bounds (DigitsPageView *self, int index,
                                          graphene_rect_t *bounds);

G_END_DECLS
