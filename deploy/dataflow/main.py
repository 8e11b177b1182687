"""Dataflow flex template entry point: template parameters to ``newsbeam ingest``.

The template launcher runs this file with every template parameter as
``--name=value``. Three of them cannot be handed to the CLI as they come, which is
why this module exists at all:

* ``feeds`` is one string in a template, but the CLI takes ``--feeds`` once per feed,
  so a comma- or newline-separated list is split into repeated flags;
* a template cannot pass a bare flag, so ``--streaming=true|false`` becomes
  ``--streaming`` or nothing;
* empty optional parameters are dropped, so the CLI's own defaults apply.

Everything else (Beam's options included) goes through unchanged.
"""

from __future__ import annotations

import re
import sys

LIST_PARAMETERS = ("feeds",)
BOOLEAN_PARAMETERS = ("streaming", "ignore_robots")
TRUE = {"true", "1", "yes"}
FALSE = {"false", "0", "no", ""}


def to_ingest_argv(argv: list[str]) -> list[str]:
    """Template-style ``--name=value`` arguments as ``newsbeam ingest`` arguments."""
    ingest: list[str] = []
    for argument in argv:
        name, has_value, value = argument.partition("=")
        key = name.lstrip("-").replace("-", "_")
        if not (name.startswith("--") and has_value):
            ingest.append(argument)
        elif key in LIST_PARAMETERS:
            for item in re.split(r"[,\n]", value):
                if item.strip():
                    ingest += [name, item.strip()]
        elif key in BOOLEAN_PARAMETERS:
            if value.strip().lower() not in TRUE | FALSE:
                raise SystemExit(f"newsbeam: error: {name} must be true or false")
            if value.strip().lower() in TRUE:
                ingest.append(name)
        elif value.strip():
            ingest.append(argument)
    return ingest


def main(argv: list[str] | None = None) -> int:
    from newsbeam.pipeline.cli import main as newsbeam

    argv = list(sys.argv[1:] if argv is None else argv)
    return newsbeam(["ingest", *to_ingest_argv(argv)])


if __name__ == "__main__":
    sys.exit(main())
