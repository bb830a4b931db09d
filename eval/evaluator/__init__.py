"""The text-motion evaluator: model, training task, loading a trained run."""
