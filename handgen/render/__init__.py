"""Software rendering of hands (and objects) to images, GIFs and MP4s (no GPU, no display)."""
