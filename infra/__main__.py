"""Entry point of `pulumi up --stack <env>`: load the stack file for the stack, build the platform."""

import pulumi

from infra import program
from infra.declarations import SpecError

try:
    program.run()
except SpecError as error:
    # RunError makes the CLI print the message alone, without a Python traceback.
    raise pulumi.RunError(error.render()) from None
