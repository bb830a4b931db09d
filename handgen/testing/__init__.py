"""Test and benchmark fixtures that ship with the package: synthetic MANO files, a BVH reader."""
