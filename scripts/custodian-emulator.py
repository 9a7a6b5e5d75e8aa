"""Runs Cloud Custodian (c7n, c7n_azure) against the emulator: `python scripts/custodian-emulator.py
run -s out --region AzureEmulator policy.yml`, with EMULATOR_URL, AZURE_TENANT_ID, AZURE_CLIENT_ID,
AZURE_CLIENT_SECRET, AZURE_SUBSCRIPTION_ID and REQUESTS_CA_BUNDLE set (docs/emulator.md).

Custodian knows only Azure's public and sovereign clouds, so this registers the emulator as one
more; and its ClientSecretCredential would ask login.microsoftonline.com to validate the
authority, which the emulator is not, so instance discovery is turned off. Nothing else changes.
"""
import os
import sys

import azure.identity
from c7n_azure import provider
from msrestazure.azure_cloud import Cloud, CloudEndpoints, CloudSuffixes

url = os.environ["EMULATOR_URL"].rstrip("/")
provider.Azure.region_to_cloud["AzureEmulator"] = Cloud(
    "AzureEmulator",
    endpoints=CloudEndpoints(
        resource_manager=url + "/",
        active_directory=url,
        active_directory_resource_id="https://management.core.windows.net/",
        microsoft_graph_resource_id=url + "/",
        management="https://management.core.windows.net/",
    ),
    suffixes=CloudSuffixes(storage_endpoint="core.windows.net", keyvault_dns=".vault.azure.net"),
)

_init = azure.identity.ClientSecretCredential.__init__


def _without_instance_discovery(self, *args, **kwargs):
    kwargs.setdefault("disable_instance_discovery", True)
    _init(self, *args, **kwargs)


azure.identity.ClientSecretCredential.__init__ = _without_instance_discovery

from c7n.cli import main  # noqa: E402  (after the cloud is registered)

sys.exit(main())
