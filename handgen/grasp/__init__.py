"""Bimanual grasps: interaction grids, the grid prior's geometry, SDS synthesis, refinement.

Rooms: ``hand_frame`` (the right hand's normalised frame), ``winding`` / ``object_sdf``
(robust mesh -> SDF), ``grid_sampling`` (differentiable SDF resampling), ``hand_field``
(20-channel joint distance fields), ``procrustes`` (Kabsch, left-hand recovery),
``mesh_input`` (loading and validating user meshes), ``recovery``, ``sds``,
``refinement``, ``synthesis`` (the whole pipeline), ``grasp_data`` (GRASP_DIR reader).
"""
