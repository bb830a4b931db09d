"""Benchmarks: each module measures one thing and returns table rows; ``eval.bench`` prints them."""
