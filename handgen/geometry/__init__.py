"""Mesh geometry shared by the whole core (docs/architecture.md, "One geometry").

Distances: :mod:`~handgen.geometry.mesh_distance` (the exact point-triangle kernel and the
on-demand back-end) and :mod:`~handgen.geometry.distance_grid` (the eager grid back-end).
Mesh files: :mod:`~handgen.geometry.mesh_file` (the one loader and its errors).
Inside tests: :mod:`~handgen.geometry.winding` (generalised winding number) and
:mod:`~handgen.geometry.ray_parity` (ray parity on a grid).
"""
