"""The model's products on BLIS's AVX2 kernel: right products, the same annotations."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy
import pytest
import spacy
from conftest import SHARED_FIXTURES as SHARED
from newsbeam.transforms import tuned_gemm
from newsbeam.transforms.nlp import DEFAULT_MODEL, load_model
from newsbeam.transforms.tuned_gemm import (
    Blis,
    TunedGemmOps,
    Unsupported,
    speed_up_matrix_products,
)
from test_lookup_rules import gum_texts
from thinc.api import NumpyOps

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from ceiling import ANNOTATIONS  # noqa: E402 - the columns the bench hashes


@pytest.fixture(scope="module")
def ops():
    """Tuned ``Ops`` on this machine whether or not BLIS recognises the CPU."""
    try:
        return TunedGemmOps(Blis(wanted="haswell"))
    except Unsupported as why:  # not x86-64 with AVX2: nothing to tune
        pytest.skip(f"no AVX2 BLIS kernel here: {why}")


@pytest.mark.parametrize("trans1", [False, True])
@pytest.mark.parametrize("trans2", [False, True])
@pytest.mark.parametrize(
    "shape", [(1, 1, 1), (7, 13, 5), (300, 96, 288), (65, 384, 17)]
)
def test_products_equal_numpys_to_rounding(ops, shape, trans1, trans2):
    m, k, n = shape
    rng = numpy.random.default_rng(sum(shape))
    x = rng.standard_normal((k, m) if trans1 else (m, k), dtype=numpy.float32)
    y = rng.standard_normal((n, k) if trans2 else (k, n), dtype=numpy.float32)
    want = (x.T if trans1 else x) @ (y.T if trans2 else y)
    got = ops.gemm(x, y, trans1=trans1, trans2=trans2)
    assert got.shape == (m, n) and got.dtype == numpy.float32
    numpy.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
    # and the same as thinc's own product, to rounding
    stock = NumpyOps().gemm(x, y, trans1=trans1, trans2=trans2)
    numpy.testing.assert_allclose(got, stock, rtol=1e-5, atol=1e-4)


def test_views_out_arrays_and_other_types(ops):
    rng = numpy.random.default_rng(3)
    big = rng.standard_normal((40, 60), dtype=numpy.float32)
    x, y = big[::2, 5:25], big[1::2, ::3][:, :7]  # strided views, no copies
    want = x @ y
    numpy.testing.assert_allclose(ops.gemm(x, y), want, rtol=1e-5, atol=1e-4)
    out = numpy.full((20, 7), numpy.nan, dtype=numpy.float32)
    assert ops.gemm(x, y, out=out) is out
    numpy.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-4)
    flipped = x[::-1]  # a negative stride goes to thinc's code
    numpy.testing.assert_allclose(
        ops.gemm(flipped, y), flipped @ y, rtol=1e-5, atol=1e-4
    )
    with pytest.raises(ValueError, match="float32"):  # thinc's own refusal
        ops.gemm(x.astype(numpy.float64), y.astype(numpy.float64))
    assert ops.gemm(x[:0], y).shape == (0, 7)
    with pytest.raises(ValueError):
        ops.gemm(x, y[:13])  # 20 columns against 13 rows: thinc's own error


def test_the_off_switch(monkeypatch):
    monkeypatch.setenv(tuned_gemm.OFF_SWITCH, "1")
    assert tuned_gemm.tuned_ops() is None and tuned_gemm.kernel_name() is None
    assert not speed_up_matrix_products(spacy.blank("en"))


def project_texts() -> list[str]:
    """Every text file of the evaluation sets, and the example feeds, markup and all."""
    paths = sorted((REPO / "eval").rglob("*.txt"))
    paths += sorted((REPO / "examples" / "feeds").glob("*.xml"))
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in paths]
    return texts + ["", " ", "Moscow", "  Boris Johnson  went to Moscow .  "]


def shared_texts() -> list[str]:
    """The seed and Wikinews articles of ../shared, when it is there."""
    seed = SHARED / "seed" / "uk-russia-2017-12-22.txt"
    return ([seed.read_text(encoding="utf-8")] if seed.exists() else []) + gum_texts()


@pytest.mark.model
def test_the_same_annotations_as_the_portable_kernel(ops):
    """Every token's annotations, stock products against tuned ones."""
    stock = spacy.load(DEFAULT_MODEL)
    tuned = spacy.load(DEFAULT_MODEL)
    assert speed_up_matrix_products(tuned, ops)
    texts = project_texts() + shared_texts()
    tokens = 0
    for a, b in zip(
        stock.pipe(texts, batch_size=16), tuned.pipe(texts, batch_size=16), strict=True
    ):
        assert a.text == b.text
        numpy.testing.assert_array_equal(
            a.to_array(ANNOTATIONS), b.to_array(ANNOTATIONS)
        )
        tokens += len(a)
    assert tokens > 30_000  # the comparison saw real text


@pytest.mark.model
def test_newsbeams_model_uses_it_where_blis_falls_back():
    nlp = load_model(DEFAULT_MODEL)
    kernel = tuned_gemm.kernel_name()
    layers = []
    for _, component in nlp.pipeline:
        model = getattr(component, "model", None) or getattr(
            getattr(component, "ner", None), "model", None
        )
        if model is not None:
            layers.extend(model.walk())
    assert layers
    tuned = {isinstance(layer.ops, TunedGemmOps) for layer in layers}
    assert tuned == ({True} if kernel else {False})
