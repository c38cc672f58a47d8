# The real command line in a subprocess, shared with the CLI tests.
from tests.cli.conftest import initlint  # noqa: F401
