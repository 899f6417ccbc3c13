#!/bin/sh
# Entry point of the kambot image: bring the database to the current schema, then run kambot.
# KAMBOT_MIGRATE_ON_START=false skips the migration (run `kambot db upgrade` as a release step instead).
# Arguments are a kambot command (default: serve), e.g. `worker` or `doctor`.
set -eu
if [ "${KAMBOT_MIGRATE_ON_START:-true}" = "true" ]; then
    kambot db upgrade
fi
if [ "$#" -eq 0 ]; then
    set -- serve
fi
exec kambot "$@"
