"""`grade`: the command line."""

import click


@click.group()
def main() -> None:
    """Grade a micrograd workspace, exercise by exercise."""


@main.command("list")
def list_exercises() -> None:
    """List the exercises."""
    from tools.generate import EXERCISES_INFO

    for n, (title, _) in EXERCISES_INFO.items():
        click.echo(f"exercise-{n}  {title}")
