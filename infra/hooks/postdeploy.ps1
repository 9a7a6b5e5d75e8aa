# azd postdeploy hook (Windows). The logic is in postdeploy.ts, shared with postdeploy.sh: wait
# until the app lists onResourceWrite, then provision again with the Event Grid subscriptions.
$ErrorActionPreference = 'Stop'
Set-Location (Join-Path $PSScriptRoot '../..')
npx --no tsx infra/hooks/postdeploy.ts
exit $LASTEXITCODE
