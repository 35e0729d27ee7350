/* digits-application.c: startup (model, settings, accelerators) and app actions. */
#include "config.h"

#include "digits-application.h"

#include <glib/gi18n.h>

#include "digits-window.h"

struct _DigitsApplication
{
  AdwApplication parent_instance;

  DgModel *model;       /* loaded once at startup; NULL if that failed */
  DgModel *strings_model; /* reads images of several digits; NULL: model does */
  char *model_path;     /* where it came from, for the About window */
  char *strings_model_path;
  DgModel *pairs_model;   /* reads two overlapping digits in them; NULL: not done */
  char *pairs_model_path;
  DgModel *scan_model;    /* reads pages' digits again, with model; NULL: not done */
  char *scan_model_path;
  GError *model_error;  /* why there is no model */
  GSettings *settings;  /* NULL without an installed schema */
};

G_DEFINE_FINAL_TYPE (DigitsApplication, digits_application, ADW_TYPE_APPLICATION)

/* Every keyboard shortcut, in one place; the shortcuts window lists them. */
static const struct
{
  const char *action;
  const char *accels[3];
} shortcuts[] = {
  { "app.quit", { "<Control>q", NULL } },
  { "window.close", { "<Control>w", NULL } },
  { "win.open", { "<Control>o", NULL } },
  { "win.save", { "<Control>s", NULL } },
  { "win.paste", { "<Control>v", NULL } },
  { "win.copy", { "<Control>c", NULL } },
  { "win.undo", { "<Control>z", NULL } },
  { "win.redo", { "<Control><Shift>z", NULL } },
  { "win.clear", { "<Control>l", "Delete", NULL } },
};

static gboolean
running_from_build_tree (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);

  return exe != NULL && g_str_has_prefix (exe, DIGITS_BUILD_ROOT "/");
}

/* The installed schema, or, run from the build tree, the one compiled there. */
static GSettings *
load_settings (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APPLICATION_ID, TRUE);
  if (schema == NULL && running_from_build_tree ())
    {
      g_autoptr (GSettingsSchemaSource) build_source = g_settings_schema_source_new_from_directory (
          DIGITS_BUILD_ROOT "/data", source, FALSE, NULL);

      if (build_source != NULL)
        schema = g_settings_schema_source_lookup (build_source, APPLICATION_ID, FALSE);
    }
  if (schema == NULL)
    {
      g_message ("GSettings schema %s is not installed; settings will not be kept",
                 APPLICATION_ID);
      return NULL;
    }
  return g_settings_new_full (schema, NULL, NULL);
}

/* The weights @find finds, loaded into *@model (from *@path) and
 * prepared; FALSE, with @error set, when they cannot be. */
static gboolean
load_one (char *(*find) (GError **), DgModel **model, char **path, GError **error)
{
  *path = find (error);
  if (*path != NULL)
    *model = dg_model_load (*path, error);
  if (*model == NULL)
    return FALSE;
  /* The plan is built once here, not on the first stroke. */
  dg_model_prepare (*model);
  return TRUE;
}

static void
load_model (DigitsApplication *self)
{
  g_autoptr (GError) error = NULL;

  if (!load_one (dg_model_find_default_weights, &self->model, &self->model_path, &error))
    {
      g_message ("No model: %s", error->message);
      self->model_error = g_steal_pointer (&error);
      return;
    }
  /* Without the strings model, pages are read with the digit model: less
   * well where digits touch, but read. */
  if (!load_one (dg_model_find_strings_weights, &self->strings_model, &self->strings_model_path,
                 &error))
    {
      g_message ("No strings model, reading pages with the digit model: %s", error->message);
      return;
    }
  /* Without the pair model, digits that overlap are read as the cuts
   * between them allow. */
  if (!load_one (dg_model_find_pairs_weights, &self->pairs_model, &self->pairs_model_path, &error))
    g_message ("No pair model, reading overlapping digits by cuts alone: %s", error->message);
  g_clear_error (&error);
  /* Without the scan model, the digit model alone reads pages' digits again. */
  if (!load_one (dg_model_find_scan_weights, &self->scan_model, &self->scan_model_path, &error))
    g_message ("No scan model, reading digits again with the digit model alone: %s",
               error->message);
}

static void
on_quit_activated (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static void
on_about_activated (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  DigitsApplication *self = user_data;
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));
  const char *developers[] = { _("The Digits developers"), NULL };
  g_autoptr (GString) debug_info = g_string_new (NULL);
  AdwAboutWindow *about;

  g_string_append_printf (debug_info, "Weights: %s\n",
                          self->model_path != NULL ? self->model_path : "(none)");
  g_string_append_printf (debug_info, "Strings weights: %s\n",
                          self->strings_model != NULL ? self->strings_model_path : "(none)");
  g_string_append_printf (debug_info, "Pair weights: %s\n",
                          self->pairs_model != NULL ? self->pairs_model_path : "(none)");
  g_string_append_printf (debug_info, "Scan weights: %s\n",
                          self->scan_model != NULL ? self->scan_model_path : "(none)");
  if (self->model != NULL)
    {
      const char *keys[] = { "arch", "dataset", "epochs", "val_accuracy", "test_accuracy" };

      for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
        {
          const char *value = dg_model_get_metadata (self->model, keys[i]);
          if (value != NULL)
            g_string_append_printf (debug_info, "%s: %s\n", keys[i], value);
        }
    }
  else if (self->model_error != NULL)
    g_string_append_printf (debug_info, "Error: %s\n", self->model_error->message);

  about = ADW_ABOUT_WINDOW (adw_about_window_new ());
  adw_about_window_set_application_name (about, "Digits");
  adw_about_window_set_application_icon (about, APPLICATION_ID);
  adw_about_window_set_version (about, PACKAGE_VERSION);
  adw_about_window_set_developer_name (about, _("The Digits developers"));
  adw_about_window_set_developers (about, developers);
  adw_about_window_set_comments (about, _("Reads handwritten digits with a neural network "
                                          "that runs on your computer."));
  adw_about_window_set_license_type (about, GTK_LICENSE_GPL_3_0);
  /* Translators: put your name (and email) here, one translator a line. */
  adw_about_window_set_translator_credits (about, _("translator-credits"));
  adw_about_window_set_debug_info (about, debug_info->str);
  gtk_window_set_transient_for (GTK_WINDOW (about), window);
  gtk_window_present (GTK_WINDOW (about));
}

static const GActionEntry app_actions[] = {
  { .name = "quit", .activate = on_quit_activated },
  { .name = "about", .activate = on_about_activated },
};

static void
digits_application_startup (GApplication *application)
{
  DigitsApplication *self = DIGITS_APPLICATION (application);

  G_APPLICATION_CLASS (digits_application_parent_class)->startup (application);

  load_model (self);
  self->settings = load_settings ();

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions),
                                   self);
  if (self->settings != NULL)
    {
      g_autoptr (GAction) pen_width = g_settings_create_action (self->settings, "pen-width");
      g_action_map_add_action (G_ACTION_MAP (self), pen_width);
    }
  for (guint i = 0; i < G_N_ELEMENTS (shortcuts); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (self), shortcuts[i].action,
                                           shortcuts[i].accels);
}

static void
digits_application_activate (GApplication *application)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (application));

  if (window == NULL)
    window = GTK_WINDOW (digits_window_new (DIGITS_APPLICATION (application)));
  gtk_window_present (window);
}

static void
digits_application_open (GApplication *application, GFile **files, int n_files,
                         const char *hint)
{
  GtkWindow *window;

  digits_application_activate (application);
  window = gtk_application_get_active_window (GTK_APPLICATION (application));
  /* One image at a time: the window shows one answer. */
  if (n_files > 0)
    digits_window_open_file (DIGITS_WINDOW (window), files[0]);
}

static void
digits_application_finalize (GObject *object)
{
  DigitsApplication *self = DIGITS_APPLICATION (object);

  g_clear_pointer (&self->model, dg_model_free);
  g_clear_pointer (&self->strings_model, dg_model_free);
  g_clear_pointer (&self->model_path, g_free);
  g_clear_pointer (&self->strings_model_path, g_free);
  g_clear_pointer (&self->pairs_model, dg_model_free);
  g_clear_pointer (&self->pairs_model_path, g_free);
  g_clear_pointer (&self->scan_model, dg_model_free);
  g_clear_pointer (&self->scan_model_path, g_free);
  g_clear_error (&self->model_error);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (digits_application_parent_class)->finalize (object);
}

static void
digits_application_class_init (DigitsApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = digits_application_finalize;

  app_class->startup = digits_application_startup;
  app_class->activate = digits_application_activate;
  app_class->open = digits_application_open;
}

static void
digits_application_init (DigitsApplication *self)
{
}

DigitsApplication *
digits_application_new (void)
{
  return g_object_new (DIGITS_TYPE_APPLICATION,
                       "application-id", APPLICATION_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/io/github/digits/Digits",
                       NULL);
}

DgModel *
digits_application_get_model (DigitsApplication *self, const GError **error)
{
  g_return_val_if_fail (DIGITS_IS_APPLICATION (self), NULL);

  if (error != NULL)
    *error = self->model_error;
  return self->model;
}

DgModel *
digits_application_get_strings_model (DigitsApplication *self)
{
  g_return_val_if_fail (DIGITS_IS_APPLICATION (self), NULL);

  return self->strings_model != NULL ? self->strings_model : self->model;
}

DgModel *
digits_application_get_pairs_model (DigitsApplication *self)
{
  g_return_val_if_fail (DIGITS_IS_APPLICATION (self), NULL);

  return self->pairs_model;
}

DgModel *
digits_application_get_scan_model (DigitsApplication *self)
{
  g_return_val_if_fail (DIGITS_IS_APPLICATION (self), NULL);

  return self->scan_model;
}

GSettings *
digits_application_get_settings (DigitsApplication *self)
{
  g_return_val_if_fail (DIGITS_IS_APPLICATION (self), NULL);

  return self->settings;
}
