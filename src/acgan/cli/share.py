"""`acgan export` and `acgan explore`."""
from __future__ import annotations

from pathlib import Path

import click

from .app import echo_err, main


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("out_dir", type=click.Path(path_type=Path), required=False)
@click.option("--out", type=click.Path(path_type=Path), help="The export folder, as OUT_DIR (the spelling of the other "
              "commands).")
@click.option("--onnx", is_flag=True, help="Also write generator.onnx (inputs z and labels; needs acgan[onnx]).")
@click.option("--force", is_flag=True, help="Replace an acgan export at OUT_DIR.")
def export(run_dir, out_dir, out, onnx, force):
    """A run's generator as a folder anyone can load: model.safetensors, config.json, a model card, samples."""
    from ..errors import UserError
    from ..share.export import export_run

    if (out_dir is None) == (out is None):
        raise UserError("name the export folder once: `acgan export RUN_DIR OUT_DIR` or `acgan export RUN_DIR --out "
                        "OUT_DIR`" if out_dir else "name the export folder: `acgan export RUN_DIR OUT_DIR`")
    out_dir = out_dir or out

    path = export_run(run_dir, out_dir, onnx=onnx, force=force, log=echo_err)
    click.echo(f"wrote {path} ({', '.join(sorted(p.name for p in path.iterdir()))})")


@main.command()
@click.argument("run_or_export", type=click.Path(path_type=Path))
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0: a free port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Only this machine by default.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
def explore(run_or_export, port, host, device):
    """A local web page to look at a generator: a class's samples, one z across classes, interpolations, for a
    seed or a random z and a truncation; Ctrl-C stops it."""
    from ..sampling import load_generator
    from ..share.explore.server import make_server

    G = load_generator(run_or_export, device=device)
    server = make_server(G, host, port)
    click.echo(f"exploring {run_or_export} at http://{host}:{server.server_address[1]}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.server_close()
