/* fuzz.h: what every fuzz target defines.
 *
 * Each fuzz-*.c is linked twice: with libFuzzer (-fsanitize=fuzzer, the
 * fuzzing build, tools/fuzz) and with replay.c, a plain main () that feeds
 * it every file of its corpus and regression directories (a `meson test`).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* One input.  Returns 0; a bug shows as a crash, a sanitizer report or an
 * assertion. */
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Once, before the first input. */
int LLVMFuzzerInitialize (int *argc, char ***argv);

#include <glib.h>
#include <stdlib.h>

/* A critical or a warning logged by our code, or by GLib or json-glib on
 * our behalf (a g_return_if_fail that fails), is a bug: abort, so the
 * fuzzer keeps the input.  @tolerated_domain (or NULL) is a library whose
 * own complaints about a hostile file are printed and let through:
 * GdkPixbuf's loaders log criticals for some broken images and recover. */
static inline const char **
fuzz_tolerated_domain (void)
{
  static const char *domain;
  return &domain;
}

static inline void
fuzz_log_handler (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  g_log_default_handler (domain, level, message, data);
  if ((level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_ERROR)) == 0)
    return;
  const char *tolerated = *fuzz_tolerated_domain ();
  if (tolerated != NULL && g_strcmp0 (domain, tolerated) == 0
      && (level & G_LOG_LEVEL_ERROR) == 0)
    return;
  abort ();
}

/* An error the program shows: valid UTF-8 (GTK labels take nothing else)
 * and not empty. */
static inline void
fuzz_check_message (const GError *error)
{
  g_assert_nonnull (error);
  g_assert_true (error->message[0] != '\0');
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
}

static inline void
fuzz_abort_on_criticals (const char *tolerated_domain)
{
  *fuzz_tolerated_domain () = tolerated_domain;
  g_log_set_default_handler (fuzz_log_handler, NULL);
}
