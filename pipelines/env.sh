# Sourced by the pipeline scripts: puts Swift on PATH and lets Open MPI run as root in containers.
# shellcheck shell=bash
for candidate in /opt/swift/usr/bin /opt/swift/bin; do
    if [ -x "$candidate/swift" ] && ! command -v swift >/dev/null 2>&1; then PATH="$candidate:$PATH"; fi
done
export PATH
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
