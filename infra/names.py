"""The grammar of a model's name, apart from the declarations so that code running in the pods
(the events gateway, through ``lifecycle.attribution``) reads it without loading the Pulumi
program's dependencies (``infra.declarations`` loads pydantic and the SageMaker SDK)."""

import re

# A Kubernetes DNS-1123 label is also a valid SageMaker name ([a-zA-Z0-9-], 63 characters); model
# names are used for both. 48 leaves room for the "mlplat-<env>-" prefix of derived AWS names.
MODEL_NAME_MAX = 48
DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
