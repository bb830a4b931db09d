"""The web app's page (Gradio): a motion tab and a grasp tab over the Python API.

Motion tab: three texts (left / right / both hands), sampler, steps, guidance (and, for diffusion runs, the
guidance on the noisy steps), seed and frames; Generate
shows the animated glb in a 3D viewer (Gradio's Model3D, Babylon.js shipped inside the gradio wheel:
nothing is fetched from the network), the GIF, and npz / BVH / glb downloads. Grasp tab (with a grasp
prior): upload a mesh, get grasps (glb with the object), their metrics and hold test.
"""

from __future__ import annotations

import functools
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from handgen.api.grasp_synthesizer import GraspSynthesizer
from handgen.api.motion_generator import MotionGenerator
from handgen.app.grasp_files import TABLE_COLUMNS, GraspFiles, grasp_files
from handgen.app.motion_files import SAMPLERS, MotionFiles, generate_files
from handgen.errors import HandgenError

MESH_TYPES: tuple[str, ...] = (".obj", ".ply", ".stl", ".glb", ".gltf", ".off")
VIEWER_HEIGHT = 420  # px
# the hands' colours as the renders and the glb use them (handgen/render, handgen/export/gltf_animation.py)
LEGEND = "left hand **blue**, right hand **orange**; drag to turn the view, scroll to zoom"


def _shown_errors(work: Callable) -> Callable:
    """``work`` with handgen's one-line errors shown on the page (gr.Error) instead of a stack trace."""
    @functools.wraps(work)
    def wrapped(*args):
        try:
            return work(*args)
        except HandgenError as exc:
            raise gr.Error(str(exc)) from None
    return wrapped


def _motion_tab(generator: MotionGenerator, workdir: Path) -> None:
    cfg = generator.cfg.sample
    is_diffusion = not generator.is_ar
    gr.Markdown(f"Run `{generator.run_dir}` ({generator.model_type}, {generator.clip_len} frames at "
                f"{generator.fps:g} fps per clip). Leave a text empty to let that branch run free.")
    with gr.Row():
        with gr.Column(scale=1):
            left = gr.Textbox(label="left hand", value="the left hand makes a fist", elem_id="left-text")
            right = gr.Textbox(label="right hand", value="the right hand stays relaxed", elem_id="right-text")
            both = gr.Textbox(label="both hands", value="", elem_id="both-text")
            sampler = gr.Dropdown(list(SAMPLERS), value=str(cfg.sampler) if is_diffusion else None, label="sampler",
                                  visible=is_diffusion, elem_id="sampler")
            steps = gr.Slider(1, 1000, step=1, value=int(cfg.steps) if is_diffusion else 1, label="steps",
                              visible=is_diffusion, elem_id="steps")
            guidance = gr.Slider(0.0, 10.0, step=0.1, value=float(cfg.guidance), label="guidance",
                                 elem_id="guidance")
            noisy_guidance = gr.Number(  # diffusion runs only (their sample section has the keys)
                value=cfg.noisy_guidance if is_diffusion else None, minimum=0, visible=is_diffusion,
                label=f"guidance on the noisy steps, t >= {cfg.noisy_from} (empty: the guidance above)"
                if is_diffusion else "", elem_id="noisy-guidance")
            with gr.Row():
                seed = gr.Number(value=0, precision=0, minimum=0, label="seed", elem_id="seed")
                frames = gr.Number(value=generator.clip_len, precision=0, minimum=1, label="frames",
                                   elem_id="frames")
            button = gr.Button("Generate", variant="primary", elem_id="generate")
        with gr.Column(scale=2):
            viewer = gr.Model3D(label="animated glb", height=VIEWER_HEIGHT, elem_id="motion-3d")
            gr.Markdown(LEGEND)
            gif = gr.Image(label="GIF", type="filepath", format="gif", elem_id="motion-gif")
            summary = gr.Markdown(elem_id="motion-summary")
            with gr.Row():
                npz = gr.DownloadButton("motion.npz", visible=False, elem_id="download-npz")
                bvh = gr.DownloadButton("motion.bvh", visible=False, elem_id="download-bvh")
                glb = gr.DownloadButton("motion.glb", visible=False, elem_id="download-glb")

    @_shown_errors
    def generate(left_text, right_text, both_text, sampler_name, step_count, guidance_scale, noisy_scale, seed_value,
                 frame_count):
        files: MotionFiles = generate_files(
            generator, tempfile.mkdtemp(prefix="motion_", dir=workdir), left=left_text, right=right_text,
            both=both_text, sampler=sampler_name if is_diffusion else None,
            steps=int(step_count) if is_diffusion else None, guidance=float(guidance_scale),
            noisy_guidance=None if noisy_scale is None else float(noisy_scale),
            seed=int(seed_value or 0), frames=int(frame_count) if frame_count else None)
        return (str(files.glb), str(files.gif), files.summary,
                gr.DownloadButton(value=str(files.npz), visible=True),
                gr.DownloadButton(value=str(files.bvh), visible=True),
                gr.DownloadButton(value=str(files.glb), visible=True))

    button.click(generate, [left, right, both, sampler, steps, guidance, noisy_guidance, seed, frames],
                 [viewer, gif, summary, npz, bvh, glb])


def _grasp_tab(synth: GraspSynthesizer | None, workdir: Path) -> None:
    if synth is None:
        gr.Markdown("No grasp prior loaded: start the app with `--grasp-ckpt PRIOR_DIR` (a `grasp_prior` run) "
                    "to grasp meshes here.", elem_id="grasp-missing")
        return
    cfg = synth.cfg
    gr.Markdown(f"Prior `{synth.run_dir}`. The mesh is read in metres (use scale 0.001 for millimetres); grasps "
                "come back best first, holding grasps first.")
    with gr.Row():
        with gr.Column(scale=1):
            mesh = gr.File(label="object mesh", file_types=list(MESH_TYPES), type="filepath", elem_id="grasp-mesh")
            category = gr.Textbox(label="category", value="box", elem_id="grasp-category")
            with gr.Row():
                num = gr.Number(value=1, precision=0, minimum=1, maximum=16, label="grasps", elem_id="grasp-num")
                scale = gr.Number(value=1.0, minimum=1e-6, label="scale", elem_id="grasp-scale")
                seed = gr.Number(value=0, precision=0, minimum=0, label="seed", elem_id="grasp-seed")
            with gr.Row():
                steps = gr.Number(value=int(cfg.sds.steps), precision=0, minimum=0, label="SDS steps",
                                  elem_id="grasp-steps")
                inits = gr.Number(value=int(cfg.sds.inits), precision=0, minimum=1, label="starts",
                                  elem_id="grasp-inits")
                refine = gr.Number(value=int(cfg.refine.steps), precision=0, minimum=0, label="refine steps",
                                   elem_id="grasp-refine")
            button = gr.Button("Grasp", variant="primary", elem_id="grasp-button")
        with gr.Column(scale=2):
            choice = gr.Dropdown([], label="grasp shown", elem_id="grasp-choice")
            viewer = gr.Model3D(label="hands + object (glb)", height=VIEWER_HEIGHT, elem_id="grasp-3d")
            gr.Markdown(LEGEND)
            summary = gr.Markdown(elem_id="grasp-summary")
            table = gr.Dataframe(headers=list(TABLE_COLUMNS), interactive=False, elem_id="grasp-table")
            downloads = gr.File(label="grasp files (npz, glb)", file_count="multiple", interactive=False,
                                elem_id="grasp-files")
    glbs = gr.State({})

    @_shown_errors
    def run(mesh_path, category_text, count, scale_value, seed_value, sds_steps, starts, refine_steps):
        files: GraspFiles = grasp_files(
            synth, mesh_path, tempfile.mkdtemp(prefix="grasp_", dir=workdir), category=category_text,
            num=int(count or 1), scale=float(scale_value or 1.0), steps=int(sds_steps), inits=int(starts),
            refine_steps=int(refine_steps), seed=int(seed_value or 0))
        names = [row[0] for row in files.rows]
        shown = {name: str(path) for name, path in zip(names, files.glb)}
        return (gr.Dropdown(choices=names, value=names[0]), str(files.glb[0]), files.summary, files.rows,
                [str(p) for p in files.npz + files.glb], shown)

    button.click(run, [mesh, category, num, scale, seed, steps, inits, refine],
                 [choice, viewer, summary, table, downloads, glbs])
    choice.input(lambda name, shown: shown.get(name), [choice, glbs], viewer)


def build_page(generator: MotionGenerator, synth: GraspSynthesizer | None, workdir: str | Path) -> gr.Blocks:
    """The app's page; generated files go to folders under ``workdir``."""
    workdir = Path(workdir)
    with gr.Blocks(title="handgen", analytics_enabled=False) as page:
        gr.Markdown("## handgen: bimanual hand motion from text, bimanual grasps of a mesh")
        with gr.Tab("Motion from text", elem_id="tab-motion"):
            _motion_tab(generator, workdir)
        with gr.Tab("Grasp a mesh", elem_id="tab-grasp"):
            _grasp_tab(synth, workdir)
    return page


def serve(page: gr.Blocks, host: str, port: int, workdir: str | Path, block: bool = True) -> str:
    """Serve ``page`` on ``http://host:port`` (no share link, no analytics, no server-side rendering);
    returns the URL. ``block=False`` returns at once (tests; ``page.close()`` stops it).

    Raises:
        OSError: the port is taken.
    """
    logging.getLogger("httpx").setLevel(logging.WARNING)  # gradio's own start-up requests, one line each
    page.queue(default_concurrency_limit=1)
    _, url, _ = page.launch(server_name=host, server_port=int(port), share=False, inbrowser=False, quiet=True,
                            allowed_paths=[str(workdir)], ssr_mode=False, mcp_server=False, footer_links=[],
                            prevent_thread_lock=not block)
    return url
