/* digits-preview.h: the 28x28 picture the network saw, one square per pixel. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define DIGITS_TYPE_PREVIEW (digits_preview_get_type ())

G_DECLARE_FINAL_TYPE (DigitsPreview, digits_preview, DIGITS, PREVIEW, GtkWidget)

GtkWidget *digits_preview_new (void);

/* @input (28, 28): the network's input, ink 1.0 on 0.0.  NULL empties it. */
void digits_preview_set_input (DigitsPreview *self, const float *input);
/* (28, 28) what is shown, or NULL when empty. */
const float *digits_preview_get_input (DigitsPreview *self);

G_END_DECLS
