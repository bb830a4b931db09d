"""handgen: generative modelling of bimanual hand motion and bimanual grasps."""

__version__ = "0.1.0"
