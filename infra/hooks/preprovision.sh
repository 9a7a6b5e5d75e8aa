#!/bin/sh
# azd preprovision hook (POSIX), after the infra:generate check in azure.yaml. The logic is in
# preprovision.ts, shared with preprovision.ps1: check STEWARD_API_CLIENT_ID, find existing
# subscription system topics and hand them to the template to adopt.
set -eu
cd "$(dirname "$0")/../.."
exec npx --no tsx infra/hooks/preprovision.ts
