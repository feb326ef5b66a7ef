"""The docker-compose Hadoop cluster (docker-compose.yml), driven by ``scripts/compose-cluster``
and used by the e2e test in tests/compose/. Stdlib only, so it runs before the project is
installed."""


class ComposeError(Exception):
    """A problem the user can act on: printed as one line, exit code 2."""
