"""One TrainingTask per model type; see handgen/registry.py."""
