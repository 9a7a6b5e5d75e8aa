# azd preprovision hook (Windows), after the infra:generate check in azure.yaml. The logic is in
# preprovision.ts, shared with preprovision.sh: check STEWARD_API_CLIENT_ID, find existing
# subscription system topics and hand them to the template to adopt.
$ErrorActionPreference = 'Stop'
Set-Location (Join-Path $PSScriptRoot '../..')
npx --no tsx infra/hooks/preprovision.ts
exit $LASTEXITCODE
