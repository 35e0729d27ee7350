/* main.c: the `digits` program. */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "digits-application.h"

/* $DIGITS_LOCALEDIR, the build tree's translations when run from there, or
 * the installed ones. */
static const char *
find_localedir (void)
{
  const char *env = g_getenv ("DIGITS_LOCALEDIR");
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);

  if (env != NULL && *env != '\0')
    return env;
  if (exe != NULL && g_str_has_prefix (exe, DIGITS_BUILD_ROOT "/"))
    return DIGITS_BUILD_ROOT "/po";
  return LOCALEDIR;
}

int
main (int argc, char *argv[])
{
  g_autoptr (DigitsApplication) app = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, find_localedir ());
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_set_application_name ("Digits");
  app = digits_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
