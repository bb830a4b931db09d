"""``handgen app --ckpt RUN_DIR [--grasp-ckpt PRIOR_DIR]``: a local web page over the Python API (Gradio extra)."""

from __future__ import annotations

import argparse

from handgen.commands import arg_types
from handgen.device import add_device_option, resolve_device

APP_EXTRA_HINT = 'the web app needs Gradio, an optional extra: pip install -e ".[app]"'


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "app", help="a local web page: prompts -> animated 3D motion, GIF, downloads; mesh -> grasps (needs .[app])",
        description="Serves a page on http://HOST:PORT (this machine only by default). Motion tab: three texts, "
        "sampler, steps, guidance, seed, frames; Generate shows the animated glb in a 3D viewer, the GIF and npz / "
        "BVH / glb downloads. Grasp tab (--grasp-ckpt): upload a mesh, see the grasps with their metrics and hold "
        "test. Everything the page needs is served locally (no CDN). Ctrl-C stops it.",
    )
    parser.add_argument("--ckpt", required=True, help="RUN_DIR of a trained motion_diffusion or motion_ar model")
    parser.add_argument("--grasp-ckpt", default=None, help="RUN_DIR of a trained grasp_prior (enables the grasp tab)")
    parser.add_argument("--port", type=arg_types.int_in(1, 65535), default=7860, help="port to serve on (default 7860)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to serve on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")
    parser.add_argument("--mano-dir", default=None, help="MANO files (needed when a model was trained on MANO data)")
    add_device_option(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import os
    import signal
    import tempfile

    from handgen.errors import HandgenError

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home
    try:
        import gradio  # noqa: F401  (the optional extra)
    except ImportError:
        raise HandgenError(APP_EXTRA_HINT) from None
    from handgen.api.grasp_synthesizer import GraspSynthesizer
    from handgen.api.motion_generator import MotionGenerator
    from handgen.app.page import build_page, serve

    device = resolve_device(args.device)
    generator = MotionGenerator(args.ckpt, device=device, mano_dir=args.mano_dir)
    synth = GraspSynthesizer(args.grasp_ckpt, device=device, mano_dir=args.mano_dir) if args.grasp_ckpt else None
    with tempfile.TemporaryDirectory(prefix="handgen_app_") as workdir:
        os.environ.setdefault("GRADIO_TEMP_DIR", os.path.join(workdir, "served"))  # gone with workdir at exit
        page = build_page(generator, synth, workdir)
        try:
            url = serve(page, args.host, args.port, workdir, block=False)
        except OSError:
            raise HandgenError(f"cannot serve on {args.host}:{args.port} (taken by another program?): "
                               "choose another --port") from None
        print(f"handgen app: serving {args.ckpt}{' and ' + args.grasp_ckpt if synth else ''} on {url} "
              f"(Ctrl-C stops it; files in {workdir})", flush=True)
        signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as Ctrl-C does: the files go too
        page.block_thread()  # until Ctrl-C
    return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
