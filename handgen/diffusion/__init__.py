"""Diffusion machinery on top of diffusers: schedulers, guidance, inpainting conditions, losses."""
