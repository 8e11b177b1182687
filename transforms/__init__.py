"""One module per pipeline stage: feeds, fetch, text, nlp, entities, quotes, sinks."""
