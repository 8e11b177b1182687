"""Offline evaluations of newsbeam's NLP stages against hand-annotated gold sets."""
