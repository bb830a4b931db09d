"""One TrainingTask per model type; see handgen/train/registry.py."""
