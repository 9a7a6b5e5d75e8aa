#!/bin/sh
# azd postdeploy hook (POSIX). The logic is in postdeploy.ts, shared with postdeploy.ps1: wait
# until the app lists onResourceWrite, then provision again with the Event Grid subscriptions.
set -eu
cd "$(dirname "$0")/../.."
exec npx --no tsx infra/hooks/postdeploy.ts
