#!/bin/sh
# binding_test.sh PYTHON UNETRC MODELS_DIR: runs binding_test.py in a fresh folder (see there).
set -eu
T=$(mktemp -d /tmp/unetrc-binding-XXXXXX)
trap 'rm -rf "$T"' EXIT
exec "$1" "$(dirname "$0")/binding_test.py" "$2" "$3" "$T"
