"""Charts rendered in a child process that starts vl-convert while the report queries.

vl-convert's JavaScript engine takes ~0.6 s of CPU to start, and its calls hold the
GIL: started on a thread, it stalled the DuckDB queries instead of overlapping them.
A child forked at the very start of ``newsbeam report`` (before DuckDB or Arrow start
threads of their own) starts the engine on the second core while this process runs
the queries, then renders the charts it is sent and exits. On the demo output this
took the HTML report from ~2.2 s to ~1.6 s on two cores.

Where ``fork`` is not available, or the child fails for any reason, the charts are
rendered in this process as before: the child is an optimisation, never a
requirement.
"""

from __future__ import annotations

import multiprocessing
import traceback
from concurrent.futures import ThreadPoolExecutor

WARM_UP_SPEC = {"mark": "point"}
WAIT_FOR_CHILD = 120.0  # seconds; a slower child is stopped and the charts made here


def render_here(specs: dict[str, dict]) -> dict[str, str]:
    """Each spec as an SVG string, rendered offline (no data URL may be fetched).

    A few threads overlap the charts: vl-convert lets go of the GIL for part of
    each render (~40% less wall time for ten charts on two cores).
    """
    import vl_convert

    def one(spec: dict) -> str:
        return vl_convert.vegalite_to_svg(spec, allowed_base_urls=[])

    with ThreadPoolExecutor(max_workers=4) as pool:
        svgs = list(pool.map(one, specs.values()))
    return dict(zip(specs, svgs, strict=True))


def _serve(connection) -> None:
    """The child: start the engine, render one set of specs, send them back."""
    try:
        render_here({"warm-up": WARM_UP_SPEC})
        specs = connection.recv()
    except (EOFError, OSError):  # the parent ended (an error, no HTML): nothing to do
        return
    except Exception:  # noqa: BLE001 - the parent falls back to rendering itself
        specs = None
    try:
        connection.send(("ok", render_here(specs)) if specs else ("failed", ""))
    except Exception:  # noqa: BLE001 - reported to the parent, which renders itself
        connection.send(("failed", traceback.format_exc(limit=3)))
    finally:
        connection.close()


class ChartRenderer:
    """A child process that renders charts; ``render`` falls back to this process."""

    def __init__(self) -> None:
        self._connection = None
        self._process = None
        self.used_child = False
        if "fork" not in multiprocessing.get_all_start_methods():
            return
        context = multiprocessing.get_context("fork")
        try:
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_serve, args=(theirs,), name="newsbeam-charts", daemon=True
            )
            process.start()
        except OSError:
            return
        theirs.close()
        self._connection, self._process = ours, process

    def render(self, specs: dict[str, dict]) -> dict[str, str]:
        """The SVG of every spec, from the child when it is alive and well."""
        if self._connection is not None:
            status, svgs = "failed", None
            try:
                self._connection.send(specs)
                if self._connection.poll(WAIT_FOR_CHILD):
                    status, svgs = self._connection.recv()
            except (EOFError, OSError):
                pass
            finally:
                self.close(stop=status != "ok")
            if status == "ok" and set(svgs) == set(specs):
                self.used_child = True
                return {name: svgs[name] for name in specs}
        return render_here(specs)

    def close(self, stop: bool = False) -> None:
        """Let the child go (it exits when its end of the pipe closes), or stop it."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._process is not None:
            if stop:
                self._process.terminate()
            self._process.join(timeout=5)
            self._process = None
