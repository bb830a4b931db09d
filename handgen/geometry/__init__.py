"""Mesh geometry shared by the whole core: inside tests (generalised winding number, ray parity).

Grasp synthesis, grasp metrics, mesh input checks and hand-hand penetration all use the
one winding number here (:class:`handgen.geometry.winding.WindingNumber`).
"""
