# azd postdeploy hook (Windows). See postdeploy.sh for why a second provision is needed.
$ErrorActionPreference = 'Stop'
if ($env:DEPLOY_EVENT_SUBSCRIPTIONS -eq 'true') {
  Write-Host 'aml-steward: Event Grid subscriptions are already part of the deployment.'
  exit 0
}
Write-Host 'aml-steward: function code deployed; provisioning again to create the Event Grid subscriptions.'
azd env set DEPLOY_EVENT_SUBSCRIPTIONS true
azd provision --no-prompt
Write-Host "aml-steward: next, run 'steward setup --check' (docs/deploy.md, step 4)."
