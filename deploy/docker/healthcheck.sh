#!/bin/bash
# HEALTHCHECK of the image: GET /health on 127.0.0.1:${CDC_HEALTH_PORT} (8080 = cdc-api, 9101 =
# cdc-producer, 9102 = cdc-consumer) with bash's /dev/tcp, so the image needs no HTTP client.
set -euo pipefail
port=${CDC_HEALTH_PORT:-8080}
exec 3<>"/dev/tcp/127.0.0.1/${port}"
printf 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
read -r -t 3 status_line <&3
[[ "$status_line" == HTTP/1.?" 200"* ]]
