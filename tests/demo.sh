#!/bin/sh
# The main job: build, start the hermetic world, send one message per
# destination through the stock sendmail without and with sendmail-dane,
# and print what happened to each.
set -eu
. "$(cd "$(dirname "$0")" && pwd)/setup.sh"
make -s demo
