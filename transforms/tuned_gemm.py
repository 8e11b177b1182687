"""The model's matrix products on a tuned BLIS kernel when BLIS does not know the CPU.

thinc does its matrix products (the tok2vec layers, the parser's and the entity
recogniser's precomputed features) with the BLIS library bundled in the ``blis``
wheel. BLIS picks a kernel by asking the CPU who it is, and the wheel's BLIS knows
AMD processors only up to Zen 2 (family 0x17). On Zen 3 and Zen 4 (family 0x19:
most AMD cloud machines today, and the machine the benchmark ran on) it falls back
to its portable C kernel, a third of the speed of the AVX2 one the same wheel
carries: ``BLIS_ARCH_DEBUG=1`` prints ``selecting sub-configuration 'generic'``.
The wheel reads no variable to override the choice.

``speed_up_matrix_products`` leaves a pipeline alone unless BLIS chose its generic
kernel on an x86-64 CPU with AVX2 and FMA. Then it gives every layer of the model an
``Ops`` that calls the same BLIS through its expert interface (``bli_sgemm_ex``, the
one ``bli_sgemm`` calls) with the context of the newest configuration of the CPU's
maker that the wheel has (``zen2`` for AMD, ``haswell`` otherwise): the products
spaCy would compute on such a machine. Everything else in the ``Ops`` is thinc's.

Results are not bit-identical to the portable kernel's (the sums are added in another
order, so a value may differ in its last bits), and so an annotation could in
principle change where two of the model's scores tie to within rounding.
``tests/test_tuned_gemm.py`` compares every token's annotations with and without it
on the project's texts and the real fixture articles, and ``make bench`` hashes them
on its corpus; none has differed so far. ``NEWSBEAM_STOCK_BLIS=1`` turns it off.
"""

from __future__ import annotations

import ctypes
import os
from functools import lru_cache

import numpy
from thinc.api import NumpyOps

# BLIS's arch_t ids are an enum that has changed between releases: look them up by
# name with bli_arch_string instead of trusting numbers.
_ARCH_IDS_SEARCHED = 64
_KERNEL_BY_VENDOR = {"AuthenticAMD": "zen2"}
_DEFAULT_KERNEL = "haswell"
_NEEDED_FLAGS = {"avx2", "fma"}
OFF_SWITCH = "NEWSBEAM_STOCK_BLIS"
_FLOAT = numpy.dtype(numpy.float32)


class Unsupported(RuntimeError):
    """No better kernel than BLIS's own choice, or no safe way to call it."""


def _cpu() -> tuple[str, set[str]]:
    """The CPU's vendor and feature flags from /proc/cpuinfo (Linux only)."""
    vendor, flags = "", set()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "vendor_id" and not vendor:
                    vendor = value.strip()
                elif key == "flags":
                    flags = set(value.split())
                    break
    except OSError as error:
        raise Unsupported(f"cannot read the CPU's features: {error}") from error
    return vendor, flags


class Blis:
    """The wheel's BLIS, reached through ctypes, and the context to use."""

    def __init__(self, wanted: str | None = None) -> None:
        """BLIS with the kernel it would choose for this CPU if it knew it, or with
        ``wanted``'s (tests use that to run where BLIS already knows the CPU)."""
        import blis.cy

        lib = ctypes.CDLL(blis.cy.__file__)  # the copy Python already loaded
        try:
            arch_string = lib.bli_arch_string
            query_id = lib.bli_arch_query_id
            lookup = lib.bli_gks_lookup_nat_cntx
            self.gemm = lib.bli_sgemm_ex
            lib.bli_init()
        except AttributeError as error:
            raise Unsupported(f"this BLIS does not export {error}") from error
        arch_string.restype = ctypes.c_char_p
        arch_string.argtypes = [ctypes.c_int]
        query_id.restype = ctypes.c_int
        query_id.argtypes = []
        lookup.restype = ctypes.c_void_p
        lookup.argtypes = [ctypes.c_int]
        vendor, flags = _cpu()
        if not flags >= _NEEDED_FLAGS:
            raise Unsupported("the CPU lacks AVX2 or FMA")
        if wanted is None:
            active = (arch_string(query_id()) or b"").decode()
            if active != "generic":
                raise Unsupported(f"BLIS already uses its {active!r} kernel")
            wanted = _KERNEL_BY_VENDOR.get(vendor, _DEFAULT_KERNEL)
        ids = {}
        for arch in range(_ARCH_IDS_SEARCHED):
            name = (arch_string(arch) or b"").decode()
            if name == "generic":  # always the last id
                break
            ids[name] = arch
        if wanted not in ids:
            raise Unsupported(f"this BLIS has no {wanted!r} configuration")
        self.context = lookup(ids[wanted])
        if not self.context:
            raise Unsupported(f"this BLIS did not register its {wanted!r} kernel")
        self.kernel = wanted
        int64, pointer = ctypes.c_int64, ctypes.c_void_p
        self.gemm.restype = None
        self.gemm.argtypes = [
            ctypes.c_int,  # trans_t of A: strides say it
            ctypes.c_int,  # trans_t of B
            int64,  # m
            int64,  # n
            int64,  # k
            pointer,  # alpha
            pointer,  # A
            int64,  # row stride of A
            int64,  # column stride of A
            pointer,  # B
            int64,
            int64,
            pointer,  # beta
            pointer,  # C
            int64,
            int64,
            pointer,  # context
            pointer,  # runtime (None: one thread)
        ]
        self.one = numpy.ones(1, dtype=numpy.float32)
        self.zero = numpy.zeros(1, dtype=numpy.float32)


@lru_cache(maxsize=1)
def _blis() -> Blis:
    return Blis()


def _strides(array: numpy.ndarray, transposed: bool) -> tuple[int, int] | None:
    """Row and column strides in elements of ``array`` (or of its transpose)."""
    rows, columns = array.strides
    if rows <= 0 or columns <= 0 or rows % 4 or columns % 4:
        return None
    rows, columns = rows // 4, columns // 4
    return (columns, rows) if transposed else (rows, columns)


class TunedGemmOps(NumpyOps):
    """thinc's ``NumpyOps`` with float32 products on the chosen BLIS kernel."""

    name = "newsbeam-tuned-gemm"

    def __init__(self, blis: Blis | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self._blis = blis or _blis()

    def gemm(self, x, y, out=None, trans1=False, trans2=False):
        if (
            not isinstance(x, numpy.ndarray)
            or not isinstance(y, numpy.ndarray)
            or x.dtype != _FLOAT
            or y.dtype != _FLOAT
            or x.ndim != 2
            or y.ndim != 2
        ):
            return super().gemm(x, y, out=out, trans1=trans1, trans2=trans2)
        m, k = (x.shape[1], x.shape[0]) if trans1 else x.shape
        k2, n = (y.shape[1], y.shape[0]) if trans2 else y.shape
        a, b = _strides(x, trans1), _strides(y, trans2)
        if k != k2 or a is None or b is None or 0 in (m, n, k):
            return super().gemm(x, y, out=out, trans1=trans1, trans2=trans2)
        if out is None:
            out = numpy.empty((m, n), dtype=numpy.float32)
        c = _strides(out, False)
        if out.dtype != _FLOAT or out.shape != (m, n) or c is None:
            return super().gemm(x, y, out=out, trans1=trans1, trans2=trans2)
        blis = self._blis
        blis.gemm(
            0,
            0,
            m,
            n,
            k,
            blis.one.ctypes.data,
            x.ctypes.data,
            a[0],
            a[1],
            y.ctypes.data,
            b[0],
            b[1],
            blis.zero.ctypes.data,
            out.ctypes.data,
            c[0],
            c[1],
            blis.context,
            None,
        )
        return out


def tuned_ops() -> TunedGemmOps | None:
    """The tuned ``Ops`` for this machine, or None where BLIS's choice stands."""
    if os.environ.get(OFF_SWITCH, "").strip() not in ("", "0"):
        return None
    try:
        return TunedGemmOps(_blis())
    except Unsupported:
        return None


def kernel_name() -> str | None:
    """The BLIS configuration the tuned ``Ops`` use, None when they are not used."""
    ops = tuned_ops()
    return ops._blis.kernel if ops is not None else None


def speed_up_matrix_products(nlp, ops: TunedGemmOps | None = None) -> bool:
    """Give every layer of ``nlp``'s models the tuned ``Ops``; False if left alone.

    Call it before the other stand-ins wrap their components, so that each reaches
    the models through ``component.model``. ``ops`` defaults to ``tuned_ops()``.
    """
    ops = ops or tuned_ops()
    if ops is None:
        return False
    changed = False
    for _, component in nlp.pipeline:
        model = getattr(component, "model", None)
        if model is None or not hasattr(model, "walk"):
            continue
        for layer in model.walk():
            if type(layer.ops) is NumpyOps:
                layer.ops = ops
                changed = True
    return changed
