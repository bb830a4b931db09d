"""Training: one accelerate-based loop for every model type (``handgen train`` / ``accelerate launch -m handgen.train``)."""
