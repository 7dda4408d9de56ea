"""The `rehab-bot` command line: run, worker, assess, make-tiny-(pose-)model, summaries, migrate, add-therapist."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.cli.errors import EXIT_FAILURE, EXIT_OK, CliError


def quiet_libraries(verbose: bool) -> None:
    """Keep library chatter (warnings, progress bars) off the terminal unless asked for."""
    if verbose:
        return
    import warnings

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    warnings.filterwarnings("ignore")


def _build_parser() -> argparse.ArgumentParser:
    """All verbs and their options."""
    parser = argparse.ArgumentParser(prog="rehab-bot", description=__doc__)
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    assess = verbs.add_parser("assess", help="assess a video file without Telegram")
    assess.add_argument("video", type=Path)
    assess.add_argument("--question", help="a follow-up question about the video")
    assess.add_argument("--lang", help="reply language code, e.g. en, ru, zh, es, de")
    assess.add_argument("--exercise", help="what exercise the video shows")
    assess.add_argument("--model", help="model id or local directory (default: MODEL)")
    assess.add_argument("--json", action="store_true", help="print one JSON object")
    assess.add_argument("--key-frames", type=Path, help="folder for the key-frame pictures (default: a new one)")
    assess.add_argument("--verbose", action="store_true", help="show logs on stderr")

    tiny = verbs.add_parser("make-tiny-model", help="write a random-weight tiny Qwen3-VL for offline tests")
    tiny.add_argument("directory", type=Path)
    tiny.add_argument("--verbose", action="store_true")

    tiny_pose = verbs.add_parser("make-tiny-pose-model", help="write a random-weight tiny VitPose for offline tests")
    tiny_pose.add_argument("directory", type=Path)
    tiny_pose.add_argument("--verbose", action="store_true")

    for name, text in (("run", "bot and workers, long polling"), ("worker", "workers only, shared database")):
        verb = verbs.add_parser(name, help=text)
        verb.add_argument("--verbose", action="store_true")

    migrate = verbs.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--verbose", action="store_true")

    summaries = verbs.add_parser("summaries", help="send the weekly summaries that are due")
    summaries.add_argument("--now", action="store_true", help="send this week's summaries now")
    summaries.add_argument("--verbose", action="store_true")

    therapist = verbs.add_parser("add-therapist", help="give a Telegram user the therapist role")
    therapist.add_argument("user_id", type=int)
    therapist.add_argument("--verbose", action="store_true")
    return parser


def _command(verb: str) -> Callable[[argparse.Namespace], int]:
    """The function that runs a verb (imported lazily so `--help` stays fast)."""
    if verb == "assess":
        from bot.cli.assess import run_assess

        return run_assess
    if verb == "make-tiny-model":
        return _run_make_tiny_model
    if verb == "make-tiny-pose-model":
        return _run_make_tiny_pose_model
    from bot.cli.service import SERVICE_VERBS

    return SERVICE_VERBS[verb]


def _run_make_tiny_model(args: argparse.Namespace) -> int:
    """Write the tiny model and print where it is."""
    from bot.vlm.tiny import make_tiny_model

    directory = make_tiny_model(args.directory)
    print(directory)  # noqa: T201
    return EXIT_OK


def _run_make_tiny_pose_model(args: argparse.Namespace) -> int:
    """Write the tiny pose model and print where it is."""
    from bot.pose.tiny import make_tiny_pose_model

    print(make_tiny_pose_model(args.directory))  # noqa: T201
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rehab-bot` console script."""
    args = _build_parser().parse_args(argv)
    quiet_libraries(args.verbose)
    from bot.logs import setup_logging

    setup_logging(os.environ.get("LOG_LEVEL", "INFO"), verbose=args.verbose or args.verb in ("run", "worker"))
    try:
        return _command(args.verb)(args)
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)  # noqa: T201
        return error.code
    except KeyboardInterrupt:
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
