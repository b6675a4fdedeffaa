#!/usr/bin/env bash
# Creates the compose stack's secrets once: random passwords and an API token in
# deploy/compose/secrets/ (git-ignored; the directory is 0700). Existing files are kept.
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)/secrets"
mkdir -p "$dir"
chmod 0700 "$dir"
random() { head -c 18 /dev/urandom | base64 | tr -d '/+=' ; }
for name in oracle_admin_password oracle_password postgres_password api_tokens; do
  file="$dir/$name"
  if [[ -s "$file" ]]; then
    echo "make-secrets: keeping $file"
    continue
  fi
  # Oracle passwords must start with a letter.
  (umask 077; printf 'Cdc%s\n' "$(random)" >"$file")
  echo "make-secrets: wrote $file"
done
# The containers run as uid 10001 (cdc) or the databases' users and read the files through
# Docker secrets, which are bind mounts: make them readable by those users.
chmod 0644 "$dir"/*
