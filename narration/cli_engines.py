"""`narrate engines`: what is installed and what speaks what; installing an engine's own
environment; fetching its weights."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from narration.cli import app, console
from narration.errors import NarrationError


@app.group("engines", invoke_without_command=True)
@click.pass_context
def engines(ctx: click.Context) -> None:
    """List engines: installed, weights found (where), device, licences, routed roles.

    \b
    narrate engines                 what is installed and what speaks what
    narrate engines fetch chattts   download an engine's weights (needs the network)
    """
    if ctx.invoked_subcommand is not None:
        return
    from narration import config
    from narration.engines.registry import create_engine, engine_names
    from narration.engines.routing import resolve_routing

    try:
        routing = resolve_routing(config.role_engine("narration"), config.role_engine("dialogue"))
        routes = {"narration": routing.narration, "dialogue": routing.dialogue}
    except NarrationError as exc:
        routes = {}
        click.echo(f"routing: {exc}")
    for name in engine_names():
        try:
            engine = create_engine(name, **config.engine_options(name))
        except NarrationError as exc:
            click.echo(f"{name}: not usable ({exc})")
            continue
        state = engine.availability()
        roles = [role for role, chosen in routes.items() if chosen == name]
        weights = state.weights or engine.weights_folder()
        click.echo(
            f"{name}: {'usable' if state.usable else 'not usable: ' + state.reason}\n"
            f"  routed to: {', '.join(roles) or 'nothing'}; device: {state.device}; "
            f"{engine.sample_rate} Hz; placement: {engine.placement}\n"
            f"  weights: {weights or 'none'}\n"
            f"  licences: code {engine.code_license}, weights {engine.weights_license}\n"
            f"  voices: {', '.join(v.name or v.model_id for v in engine.voices()) or 'none yet'}"
        )


@engines.command("install")
@click.argument("name")
@click.option(
    "--source",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The engine's code (e.g. a checkout of FunAudioLLM/CosyVoice).",
)
def engines_install(name: str, source: Path) -> None:
    """Set up NAME's own environment from its code at SOURCE and record it in the config file
    (for engines whose code cannot share narrate's environment, such as cosyvoice3)."""
    from narration import config
    from narration.engines.registry import create_engine

    engine = create_engine(name, **config.engine_options(name))
    folder = config.weights_root().parent / "envs" / name
    click.echo(f"{name}: installing into {folder} (this takes minutes)")
    recorded = engine.install(source, folder)
    path = config.set_engine_options(name, recorded)
    click.echo(f"{name}: installed; {', '.join(recorded)} recorded in {path}")


@engines.command("fetch")
@click.argument("name")
def engines_fetch(name: str) -> None:
    """Download NAME's weights into its weights folder (set by [engines] weights_dir in the
    config file, or $NARRATION_WEIGHTS). Synthesis itself never downloads anything."""
    from narration import config
    from narration.engines.registry import create_engine

    engine = create_engine(name, **config.engine_options(name))
    folder = engine.fetch_weights()
    click.echo(f"{name}: weights in {folder}")
    if engine.licence_notice:
        console.print(f"[yellow]note:[/] {escape(engine.licence_notice)}", highlight=False)
