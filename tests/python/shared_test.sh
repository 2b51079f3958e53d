#!/bin/sh
# shared_test.sh PYTHON UNETRC MODELS_DIR [BACKEND...]: runs shared_test.py in a fresh folder (see there).
set -eu
P=$1; U=$2; M=$3; shift 3
T=$(mktemp -d /tmp/unetrc-shared-XXXXXX)
trap 'rm -rf "$T"' EXIT
"$P" "$(dirname "$0")/shared_test.py" "$U" "$M" "$T" "$@"
