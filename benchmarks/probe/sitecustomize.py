"""Benchmark probe, loaded only when benchmarks/probe is on PYTHONPATH.

``bench.py`` puts this folder on the ``PYTHONPATH`` of the ``newsbeam`` processes it
times, so that the CLI and every Beam worker process it starts note, in the file named
by ``NEWSBEAM_BENCH_PROBE``:

* ``start``: when the interpreter started (before any newsbeam import);
* ``first_element``: the first feed that reaches ``FetchFeedFn.process``;
* ``nlp_start`` / ``first_parse``: the first call into spaCy, its first document;
* ``nlp_batch_end`` / ``write_end``: the end of each batch of ``ParseBatchFn`` and
  of each partition ``WriteFileFn`` writes, to place the stages in time;
* ``parsed N``: spaCy documents made by ``Language.pipe`` / ``Language.__call__``,
  which is how the benchmark proves one parse per article.

``NEWSBEAM_BENCH_N_PROCESS`` (optional) makes every ``nlp.pipe`` call use that many
processes, to compare spaCy's own multiprocessing with Beam workers. Nothing here
changes what the pipeline computes.
"""

from __future__ import annotations

import os

_LOG = os.environ.get("NEWSBEAM_BENCH_PROBE")

if _LOG:
    import importlib.abc
    import importlib.util
    import sys
    import threading
    import time

    _lock = threading.Lock()
    _seen: set[str] = set()

    def _note(kind: str, value: object = "") -> None:
        line = f"{time.time():.6f} {os.getpid()} {kind} {value}\n"
        with _lock, open(_LOG, "a", encoding="utf-8") as handle:
            handle.write(line)

    def _once(kind: str) -> None:
        if kind not in _seen:
            _seen.add(kind)
            _note(kind)

    _note("start", os.path.basename(sys.argv[0] if sys.argv else "?"))

    def _patch_spacy(module) -> None:
        language = module.Language
        original_pipe = language.pipe
        original_call = language.__call__
        depth = threading.local()
        n_process = int(os.environ.get("NEWSBEAM_BENCH_N_PROCESS") or 0)

        def pipe(self, texts, *args, **kwargs):
            _once("nlp_start")
            if n_process and not getattr(depth, "value", 0):
                kwargs["n_process"] = n_process
            depth.value = getattr(depth, "value", 0) + 1
            count = 0
            try:
                for doc in original_pipe(self, texts, *args, **kwargs):
                    if depth.value == 1:
                        count += 1
                        _once("first_parse")
                    yield doc
            finally:
                depth.value -= 1
                if depth.value == 0 and count:
                    _note("parsed", count)

        def call(self, text, *args, **kwargs):
            _once("nlp_start")
            doc = original_call(self, text, *args, **kwargs)
            _once("first_parse")
            _note("parsed", 1)
            return doc

        language.pipe = pipe
        language.__call__ = call

    def _patch_feeds(module) -> None:
        fn = module.FetchFeedFn
        original = fn.process

        def process(self, feed, *args, **kwargs):
            _once("first_element")
            return original(self, feed, *args, **kwargs)

        fn.process = process

    def _timed(cls, name: str, first: str, last: str) -> None:
        """Note the first entry into ``cls.name`` and the end of every call."""
        original = getattr(cls, name)

        def wrapper(self, *args, **kwargs):
            _once(first)
            result = original(self, *args, **kwargs)
            if result is not None and hasattr(result, "__next__"):
                yield from result
            _note(last)

        setattr(cls, name, wrapper)

    def _patch_nlp(module) -> None:
        _timed(module.ParseBatchFn, "process", "nlp_batch_start", "nlp_batch_end")

    def _patch_sinks(module) -> None:
        _timed(module.WriteFileFn, "process", "write_start", "write_end")

    _PATCHES = {
        "spacy.language": _patch_spacy,
        "newsbeam.transforms.feeds": _patch_feeds,
        "newsbeam.transforms.nlp": _patch_nlp,
        "newsbeam.transforms.sinks": _patch_sinks,
    }

    class _AfterImport(importlib.abc.MetaPathFinder):
        """Patches a module right after it is first executed."""

        def find_spec(self, name, path=None, target=None):
            if name not in _PATCHES:
                return None
            sys.meta_path.remove(self)
            try:
                spec = importlib.util.find_spec(name)
            finally:
                sys.meta_path.insert(0, self)
            if spec is None or spec.loader is None:
                return None
            loader = spec.loader
            original_exec = loader.exec_module

            def exec_module(module):
                original_exec(module)
                _PATCHES[name](module)

            loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, _AfterImport())
