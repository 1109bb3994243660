"""The `acgan` command group. Bad input: one line on stderr and exit status 2."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..allocator import keep_freed_memory
from ..errors import Interrupted, UserError

PATH_ERRORS = {NotADirectoryError: "a part of this path is a file, not a folder",
               IsADirectoryError: "this is a folder, and a file was expected",
               PermissionError: "no permission to write or read it", FileExistsError: "something is already there"}


def refused_path(e: OSError) -> str:
    """The path and what is wrong with it, as the user would name them."""
    where = Path(e.filename2 or e.filename)  # a rename names its target second, and the target is the user's path
    if where.name.startswith(".") and where.name.endswith(".tmp"):  # io.atomic_write's temp file beside the target
        return f"cannot write in {where.parent} ({e.strerror})"
    if isinstance(e, FileExistsError) and where.is_file():  # a folder was to be made where a file is
        return f"{where}: {PATH_ERRORS[NotADirectoryError]}"
    return f"{where}: {PATH_ERRORS.get(type(e), e.strerror)}"


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            result = super().invoke(ctx)
        except UserError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)
        except click.UsageError as e:  # click's own checks (a value out of range, an unknown option): one line too
            hint = f" (`{e.ctx.command_path} -h` for help)" if e.ctx else ""
            click.echo(f"error: {e.format_message()}{hint}", err=True)
            sys.exit(2)
        except OSError as e:
            if e.filename is None:
                raise
            # a path the user gave that the file system refuses (a folder under a file, no write permission, a
            # place where no file can be made)
            click.echo(f"error: {refused_path(e)}: choose another path", err=True)
            sys.exit(2)
        except Interrupted as e:  # SIGINT 130, SIGTERM 143, as the shell reports a signal's end
            click.echo(str(e), err=True)
            sys.exit(128 + e.signum)
        from ..training import distributed
        if distributed.CLOSED_A_GROUP:
            # a torchrun worker whose command has finished and saved everything: leave without C++ static destructors,
            # where gloo's threads, still alive after destroy_process_group, sometimes abort the process
            # ("terminate called without an active exception") and torchrun reports the finished run as failed
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        return result


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="acgan")
def main():
    """Class-conditional image synthesis with AC-GAN (Odena et al., ICML 2017)."""
    keep_freed_memory()  # before any tensor: a CPU step's activations then reuse memory instead of faulting it in


def echo_err(msg: str) -> None:
    click.echo(msg, err=True)
