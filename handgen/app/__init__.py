"""``handgen app``: a local web page over the Python API (the optional ``.[app]`` extra, Gradio).

``motion_files`` and ``grasp_files`` do the work of one button press (API only, no Gradio);
``page`` lays them out (Gradio). The command itself is ``handgen/commands/app.py``.
"""
