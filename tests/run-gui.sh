#!/bin/sh
# Runs a GUI test program on a virtual X server (24-bit, so GTK renders as it
# would on a desktop) with a session bus of its own.
set -e
exec xvfb-run -a -s "-screen 0 1280x1024x24 -nolisten tcp" dbus-run-session -- "$@"
