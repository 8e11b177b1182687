"""``newsbeam ingest --print-graph``: the job graph as Graphviz DOT, without running it.

One node per top-level step (what a runner's monitoring page shows first: ReadFeeds,
Parse, ExtractEntities, ...), one edge per collection that flows between two steps,
labelled with the output's tag when it is not the step's main output. It is read from
the pipeline's portable representation, so it is the graph a runner would receive.
"""

from __future__ import annotations

import apache_beam as beam

_MAIN_TAGS = {"None", "out", "output", "main", "rows", "parsed", "articles"}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(pipeline: beam.Pipeline, title: str = "newsbeam") -> str:
    """The top-level steps of ``pipeline`` and the collections between them."""
    proto = pipeline.to_runner_api()
    transforms = proto.components.transforms
    roots = list(proto.root_transform_ids)
    steps = []  # top-level steps in graph order
    for root in roots:
        step = transforms[root]
        wrapper = step.subtransforms and not step.inputs and not step.outputs
        # The Python SDK wraps the whole graph in one nameless root composite.
        steps.extend(step.subtransforms if wrapper else [root])
    # Every transform inside a step belongs to that step; edges come from what the
    # innermost transforms read (side inputs included: the stored article ids and
    # actors reach their steps only that way).
    owner: dict[str, str] = {}
    for step_id in steps:
        stack = [step_id]
        while stack:
            inner = stack.pop()
            owner[inner] = step_id
            stack.extend(transforms[inner].subtransforms)
    producer: dict[str, tuple[str, str]] = {}
    for transform_id, step_id in owner.items():
        for pcoll in transforms[transform_id].outputs.values():
            producer.setdefault(pcoll, (step_id, ""))
    for step_id in steps:  # a step's own outputs carry the tags worth showing
        for tag, pcoll in transforms[step_id].outputs.items():
            producer[pcoll] = (step_id, tag)
    names = {step_id: transforms[step_id].unique_name for step_id in steps}
    lines = [
        f"digraph {_quote(title)} {{",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", '
        'fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    lines += [f"  {_quote(names[step_id])};" for step_id in steps]
    edges: dict[tuple[str, str], set[str]] = {}
    for transform_id, step_id in owner.items():
        for pcoll in transforms[transform_id].inputs.values():
            source, tag = producer.get(pcoll, (step_id, ""))
            if source == step_id:
                continue  # inside one step
            labels = edges.setdefault((source, step_id), set())
            if tag and tag not in _MAIN_TAGS:
                labels.add(tag)
    order = {step_id: index for index, step_id in enumerate(steps)}
    for (source, target), labels in sorted(
        edges.items(), key=lambda e: (order[e[0][0]], order[e[0][1]])
    ):
        label = ", ".join(sorted(labels))
        attributes = f" [label={_quote(label)}]" if label else ""
        lines.append(
            f"  {_quote(names[source])} -> {_quote(names[target])}{attributes};"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"
