#!/bin/sh
# Entrypoint of the Unpuzzle image: one image, one command per component
# (docs/adr/0005-one-image-many-entrypoints.md). `exec` leaves Python as the container's main
# process, so it receives the kubelet's SIGTERM itself and drains.
set -eu

usage() {
  cat >&2 <<'USAGE'
usage: unpuzzle COMPONENT [ARGS...]
  user | course | analytics [ARGS...]  serve the gRPC service (ARGS: another command, e.g.
                                       `user create-admin`)
  gateway                              serve the REST gateway
  migrate user|course|analytics        apply the service's database migrations, then exit
USAGE
}

component="${1:-}"
if [ "$#" -gt 0 ]; then shift; fi
case "$component" in
  user | course | analytics)
    exec python -m "services.$component" "$@"
    ;;
  gateway)
    exec python -m gateway "$@"
    ;;
  migrate)
    service="${1:-}"
    case "$service" in
      user | course | analytics)
        shift
        exec python -m "services.$service" migrate "$@"
        ;;
    esac
    usage
    exit 64
    ;;
  -h | --help | help)
    usage
    exit 0
    ;;
esac
usage
exit 64
