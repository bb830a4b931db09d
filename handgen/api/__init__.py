"""handgen's Python API: ``handgen.load(run_dir)`` and the objects it returns.

Everything here is also re-exported from the top-level package (``handgen.load``,
``handgen.Motion``, ...). The command line is a thin shell over these objects.
"""

from handgen.api.grasp_synthesizer import Grasp, GraspSynthesizer
from handgen.api.load import load
from handgen.api.motion import Motion
from handgen.api.motion_generator import MotionGenerator

__all__ = ["Grasp", "GraspSynthesizer", "Motion", "MotionGenerator", "load"]
