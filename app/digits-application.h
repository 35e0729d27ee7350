/* digits-application.h: the application — one model, settings, app actions. */
#pragma once

#include <adwaita.h>

#include "dg-model.h"

G_BEGIN_DECLS

#define DIGITS_TYPE_APPLICATION (digits_application_get_type ())

G_DECLARE_FINAL_TYPE (DigitsApplication, digits_application, DIGITS, APPLICATION, AdwApplication)

DigitsApplication *digits_application_new (void);

/* The model loaded at startup, or NULL with @error (owned by the
 * application) saying why it could not be loaded. */
DgModel *digits_application_get_model (DigitsApplication *self, const GError **error);
/* The model images of several digits are read with (DG_WEIGHTS_STRINGS), or
 * the digit model when that could not be loaded; NULL without either. */
DgModel *digits_application_get_strings_model (DigitsApplication *self);
/* The model that reads two overlapping digits (DG_WEIGHTS_PAIRS), or NULL
 * when it could not be loaded. */
DgModel *digits_application_get_pairs_model (DigitsApplication *self);
/* The model that reads those pages' digits again with the digit model
 * (DG_WEIGHTS_SCAN), or NULL when it could not be loaded. */
DgModel *digits_application_get_scan_model (DigitsApplication *self);
/* NULL when the GSettings schema is not installed. */
GSettings *digits_application_get_settings (DigitsApplication *self);

G_END_DECLS
