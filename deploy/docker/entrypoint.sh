#!/bin/sh
# The image's entrypoint. Secrets arrive as files (Docker/Kubernetes secrets): for each secret
# name N in CDC_SECRET_NAMES (default below), when N_FILE=/path is set, export N with the file's
# content (trailing newline removed), so the config can say ${N} while the secret never appears
# in the container's definition. Then exec the command (a cdc binary), which becomes PID 1 and
# receives SIGTERM directly.
set -eu
names=${CDC_SECRET_NAMES:-PGPASSWORD ORACLE_PASSWORD KAFKA_PASSWORD API_TOKEN SCHEMA_REGISTRY_PASSWORD}
for name in $names; do
  case $name in
    *[!A-Za-z0-9_]* | '') echo "cdc-entrypoint: CDC_SECRET_NAMES: bad name '$name'" >&2; exit 2 ;;
  esac
  eval "path=\${${name}_FILE:-}"
  [ -n "$path" ] || continue
  eval "current=\${${name}:-}"
  if [ -n "$current" ]; then
    echo "cdc-entrypoint: both $name and ${name}_FILE are set; use one" >&2
    exit 2
  fi
  if [ ! -r "$path" ]; then
    echo "cdc-entrypoint: ${name}_FILE: cannot read $path" >&2
    exit 2
  fi
  value=$(cat "$path")
  export "$name=$value"
  unset "${name}_FILE"
done
exec "$@"
