"""The Python API: ``handgen.load(run_dir)`` and the README's example."""

from __future__ import annotations

import re

import numpy as np
import pytest

from handgen.errors import HandgenError
from tests.helpers import REPO, cli_in_process


def readme_api_example() -> str:
    """The first ```python block under the README's "## Python API" heading."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def test_the_readme_example_runs_and_gives_the_joints_of_handgen_sample(tiny_diffusion_run, tmp_path, capsys):
    code = readme_api_example()
    assert 'handgen.load("runs/diff")' in code and 'motion.save("samples/"' in code
    code = code.replace('"runs/diff"', repr(str(tiny_diffusion_run))).replace('"samples/"', repr(str(tmp_path / "api")))
    scope: dict = {}
    exec(compile(code, "README.md (Python API)", "exec"), scope)  # noqa: S102
    motion = scope["motion"]
    assert motion.joints.shape == (2, 60, 2, 21, 3)
    assert "(2, 60, 2, 21, 3)" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "api").iterdir()) == [
        "sample_000.gif", "sample_000.npz", "sample_001.gif", "sample_001.npz"]

    text = motion.texts[0]
    out = tmp_path / "cli"
    assert cli_in_process("sample", "--ckpt", tiny_diffusion_run, "--left", text["left"], "--right", text["right"],
                          "--both", text["both"], "--num", "2", "--seed", "0", "--out", out) == 0
    for i in range(2):
        cli = np.load(out / f"sample_{i:03d}.npz")
        api = np.load(tmp_path / "api" / f"sample_{i:03d}.npz")
        np.testing.assert_allclose(cli["joints"], motion.joints[i], atol=1e-6)
        for key in ("left_hand_pose", "right_transl", "sampler", "guidance", "mode", "text_left"):
            assert np.array_equal(cli[key], api[key]), key


def test_generate_checks_its_options(tiny_diffusion_run):
    import handgen

    generator = handgen.load(tiny_diffusion_run, device="cpu")
    with pytest.raises(HandgenError, match="temperature do\\(es\\) not apply to diffusion runs"):
        generator.generate(left="a", temperature=0.5)
    with pytest.raises(HandgenError, match="left/right/both texts"):
        generator.generate()
    with pytest.raises(HandgenError, match="--mode prefix is for AR runs"):
        generator.check_mode("prefix")
    one = generator.generate(left="the left hand makes a fist", frames=24, seed=3, steps=4)
    again = generator.generate(prompts=[{"left": "the left hand makes a fist"}], frames=24, seed=3, steps=4)
    assert one.joints.shape == (1, 24, 2, 21, 3)
    np.testing.assert_array_equal(one.joints, again.joints)
    with pytest.raises(HandgenError, match="one file holds one motion"):
        generator.generate(left="x", num=2, frames=24, steps=2).save("two.npz")


def test_motion_exports(tiny_diffusion_run, tmp_path):
    import handgen

    motion = handgen.load(tiny_diffusion_run, device="cpu").generate(right="the right hand waves", frames=20, steps=3)
    assert motion.export(tmp_path / "m.bvh", format="bvh").read_text().startswith("HIERARCHY")
    assert motion.export(tmp_path / "m.glb", format="glb").stat().st_size > 1000
    with pytest.raises(HandgenError, match="unknown export format 'fbx'"):
        motion.export(tmp_path / "m.fbx", format="fbx")


def test_load_refuses_what_is_not_a_run(tmp_path):
    import handgen

    with pytest.raises(HandgenError, match="not a handgen run dir"):
        handgen.load(tmp_path)
    (tmp_path / "config.yaml").write_text("model_type: mystery\noutput_dir: x\nmax_steps: 1\n")
    with pytest.raises(HandgenError, match="unknown model_type 'mystery'"):
        handgen.load(tmp_path)
