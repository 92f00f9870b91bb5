"""click's CliRunner with stderr kept apart from stdout, on every click the tests run with."""

from click.testing import CliRunner


def cli_runner() -> CliRunner:
    try:
        # click < 8.2 (what Python 3.9 gets) mixes stderr into stdout unless told not to.
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:  # click >= 8.2 always keeps them apart
        return CliRunner()
