#!/bin/sh
# fnmesh runtime shim: lays out one Lambda execution environment's files as AWS's nodejs runtimes
# see them, inside the private mount namespace the process executor starts it in (layout.py):
#   /var/task              the function's code, read-only
#   /var/runtime           this runtime shim, with the AWS SDK in /var/runtime/node_modules
#   /tmp                   a directory of this environment's own
# then runs the command after `--` (the supervisor). Nothing here is visible outside the namespace.
# usage: aws-layout.sh CODE_DIR SHIM_DIR SDK_NODE_MODULES TMP_DIR -- COMMAND...
set -eu
code=$1 shim=$2 sdk=$3 tmp=$4
shift 5

mount --bind "$code" /var/task
mount -o remount,bind,ro /var/task
mount -t tmpfs -o mode=0755,size=16m fnmesh-runtime /var/runtime
cp "$shim"/*.cjs "$shim"/*.mjs /var/runtime/
mkdir /var/runtime/node_modules
if [ -n "$sdk" ]; then
  mount --bind "$sdk" /var/runtime/node_modules
  mount -o remount,bind,ro /var/runtime/node_modules
fi
mount --bind "$tmp" /tmp
# The working directory is the task root, and the environment says so (PWD) and no more (OLDPWD).
cd /var/task
unset OLDPWD
exec "$@"
