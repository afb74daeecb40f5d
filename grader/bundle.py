"""`grade bundle gradescope OUT.zip`: an autograder bundle for Gradescope (to be written)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def bundle() -> None:
    """Build bundles that run the grader elsewhere."""


@bundle.command("gradescope")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def gradescope(out: Path) -> None:
    """Write a Gradescope autograder bundle to OUT (a .zip)."""
    raise click.ClickException("not written yet")
