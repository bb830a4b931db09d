"""Exports for animation tools: BVH skeletons, OBJ mesh sequences and glTF binary (GLB) scenes.

See ``handgen export --help`` and the README's "Exporting for animation tools" section; the command lives in
:mod:`handgen.commands.export`.
"""
