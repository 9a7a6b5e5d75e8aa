#!/bin/sh
# azd postdeploy hook. An Event Grid subscription with an Azure Function destination can only be
# created once the function exists, so the first `azd up` provisions without the event
# subscriptions, deploys the code, and then provisions once more with them switched on.
set -eu
if [ "${DEPLOY_EVENT_SUBSCRIPTIONS:-false}" = "true" ]; then
  echo "aml-steward: Event Grid subscriptions are already part of the deployment."
  exit 0
fi
echo "aml-steward: function code deployed; provisioning again to create the Event Grid subscriptions."
azd env set DEPLOY_EVENT_SUBSCRIPTIONS true
azd provision --no-prompt
echo "aml-steward: next, run 'steward setup --check' (docs/deploy.md, step 4)."
