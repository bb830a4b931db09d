"""handgen: generative modelling of bimanual hand motion and bimanual grasps.

Python API (see README, "Python API")::

    import handgen
    motion = handgen.load("runs/diff").generate(left="...", right="...", both="...", seed=0)

The API names are imported on first use (``__getattr__``), so that ``import handgen`` (and
the ``handgen`` command's start-up) does not load torch and the models.
"""

__version__ = "0.1.0"

_API_NAMES = ("load", "Motion", "MotionGenerator", "Grasp", "GraspSynthesizer")


def __getattr__(name: str):
    if name in _API_NAMES:
        import handgen.api  # deferred: command-line start-up time

        return getattr(handgen.api, name)
    raise AttributeError(f"module 'handgen' has no attribute {name!r}")


__all__ = ["__version__", *_API_NAMES]
