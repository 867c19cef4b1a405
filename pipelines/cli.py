"""One command-line convention for every job (train, segment, query, plot, evaluate, demo).

- `parser(doc, ...)`: an argparse parser whose help keeps the docstring's layout and shows every
  default, with the shared options from the parent factories `tracking_options()` (`--tracking-uri`)
  and `config_options()` (`--preset`, `--config`, `--set`), and `-v`/`-q` on all of them;
- `command`: the one wrapper around a job's `main(argv)`: it sets up logging (INFO to stderr) and
  turns every user error into exactly one stderr line `error: ...` and exit status 2, never a
  traceback, so that operators and cron mails see the cause and scripts can tell it from a crash;
- `UserError` (and `UnknownNameError`): what pipelines code raises for a mistake the user can fix.
"""
from __future__ import annotations

import argparse
import functools
import logging
import sys
from collections.abc import Callable

import duckdb

from pipelines.data.storage import StoreError
from streamer_core import CheckpointError, ConfigError, InputError

log = logging.getLogger(__name__)


class UserError(ValueError):
    """A mistake the user can fix (a bad value, a missing or unusable input): one `error:` line, exit 2."""


class UnknownNameError(UserError, KeyError):
    """An unknown name (video, example, baseline): a KeyError to library callers, a user error here."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


# What a user can cause and fix; anything else is a bug and keeps its traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (
    UserError, ConfigError, CheckpointError, InputError, FileNotFoundError, PermissionError, ConnectionError,
    IsADirectoryError, NotADirectoryError, StoreError, duckdb.Error)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """The docstring as written, and `(default: X)` wherever a default means something."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False, [], "") or action.default is argparse.SUPPRESS:
            return action.help or ""
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """argparse, except that a usage mistake is a `UserError` (one line) instead of usage + exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{message} (see {self.prog} --help)")


def tracking_options() -> argparse.ArgumentParser:
    """`--tracking-uri`, for the jobs that log to MLflow."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--tracking-uri", metavar="URI",
                   help="MLflow store (default: MLFLOW_TRACKING_URI, else <state dir>/mlflow/mlflow.db)")
    return p


def config_options(preset: str = "tiny") -> argparse.ArgumentParser:
    """`--preset`, `--config`, `--set`: the config tree of streamer_core.load_config, in that order."""
    from streamer_core.config import PRESETS

    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--preset", default=preset, choices=sorted(PRESETS),
                   help="tiny (a quick look), tiny-default, default (recommended), paper (as published)")
    p.add_argument("--config", metavar="FILE", help="YAML/JSON file of config sections, over the preset")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", dest="overrides",
                   help="config override over the file, repeatable (e.g. learn.average_every=50)")
    return p


def parser(doc: str | None, *parents: argparse.ArgumentParser) -> Parser:
    """A job's parser: its docstring as description, the given parents, and `-v`/`-q`."""
    p = Parser(description=doc, formatter_class=HelpFormatter, parents=list(parents))
    loud = p.add_mutually_exclusive_group()
    loud.add_argument("-v", "--verbose", action="store_true",
                      help="debug log lines, and Ray Data's progress bars")
    loud.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only on stderr")
    return p


def parse(p: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parses, then applies -v / -q to the log level and to Ray's progress output."""
    args = p.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.getLogger().setLevel(level)
    from pipelines.runtime.cluster import show_progress

    show_progress(args.verbose)
    return args


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a line is logged (tests and tools swap it)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def configure_logging(level: int = logging.INFO) -> None:
    """Operator lines to stderr (stdout is for results and the JSON summaries scripts read)."""
    root = logging.getLogger()
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
        root.addHandler(handler)
    root.setLevel(level)


def one_line(exc: BaseException) -> str:
    """The message of an exception on one line (a FileNotFoundError without one names its file)."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in text:
        text = f"{text}: {exc.filename}"
    return " ".join(text.split())


def command(main: Callable[[list[str] | None], int]) -> Callable[[list[str] | None], int]:
    """Wraps a job's `main(argv)`: logging set up, user errors -> one `error:` line and status 2."""

    @functools.wraps(main)
    def wrapped(argv: list[str] | None = None) -> int:
        configure_logging()
        try:
            return main(argv)
        except USER_ERRORS as exc:
            print(f"error: {one_line(exc)}", file=sys.stderr, flush=True)
            return 2

    return wrapped

