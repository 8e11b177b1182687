"""``newsbeam report``: how the stored news covered a story, as charts one can read.

``stories`` says which articles a story is, ``queries`` computes every figure with
DuckDB over the output's views, ``charts`` draws them (Vega-Lite rendered to SVG),
``html`` lays out the page and ``command`` is the command line.
"""
