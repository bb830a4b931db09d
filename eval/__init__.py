"""Metrics, the text-motion evaluator, grasp metrics and benchmarks."""
