"""Distance grids of object meshes: data prep's names for the core's geometry.

The grid (:class:`~handgen.geometry.distance_grid.DistanceGrid`, eager or lazily exact) and
the point-triangle kernel (:func:`~handgen.geometry.mesh_distance.point_triangle_distance`)
live in :mod:`handgen.geometry`; hand-object contact (:mod:`data_prep.object_contact`) and
the synthetic grasp solver use them from there.
"""

from handgen.geometry.distance_grid import DistanceGrid
from handgen.geometry.mesh_distance import point_triangle_distance

__all__ = ["DistanceGrid", "point_triangle_distance"]
