#!/bin/sh
# The stand-in's entrypoint, behaving as the official Node.js image's does: a first argument
# that is an option, or not a command found on PATH, is handed to node; anything else runs as is.
set -e
if [ $# -gt 0 ]; then
  case "$1" in
    -*) set -- node "$@" ;;
    *) command -v "$1" >/dev/null 2>&1 || set -- node "$@" ;;
  esac
fi
exec "$@"
