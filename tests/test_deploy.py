"""The hosting files (docs/hosting.md): the Dockerfile installs and runs exactly the README's "Serve it" lines, as
user 1000, with a health check; Community Cloud's requirements pin torch's CPU build and the root file's versions;
its entry point draws the app; and the server, started as the Dockerfile starts it with the repository's config,
answers its health check and serves the page. (Docker itself is not run here.)"""
import fnmatch
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from browser import free_port

ROOT = Path(__file__).resolve().parents[1]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def readme_serve_lines() -> tuple[str, str]:
    """The README's two "Serve it" lines: (install, run)."""
    section = (ROOT / "README.md").read_text().split("**Serve it**", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.DOTALL).group(1)
    install, run = block.strip().splitlines()
    return install, run


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(word.upper(), rest.strip()) for word, _, rest in (line.partition(" ") for line in lines)]


def instructions(name: str) -> list[str]:
    return [rest for word, rest in dockerfile() if word == name]


def requirements(path: Path) -> dict[str, str]:
    """name → version of each pinned package (comments, options and blank lines dropped)."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def test_the_dockerfile_installs_and_runs_the_readme_lines():
    install, run = readme_serve_lines()
    assert install == f"pip install torch==2.13.0 --index-url {CPU_INDEX} && pip install -r requirements.txt"
    assert install in instructions("RUN"), "the Dockerfile's install is the README's line, character for character"
    (entry,) = instructions("ENTRYPOINT")
    assert " ".join(json.loads(entry)) == run
    assert run.startswith("streamlit run app.py") and "--server.address=0.0.0.0" in run
    torch = requirements(ROOT / "requirements.txt")["torch"]
    assert f"torch=={torch} " in install            # the root file's torch, from the CPU index


def test_the_dockerfile_is_a_space_and_a_server():
    (base,) = instructions("FROM")
    assert base == "python:3.11-slim"
    (adduser,) = [r for r in instructions("RUN") if "useradd" in r]
    name = adduser.split()[-1]
    assert re.search(r"(--uid|-u) 1000\b", adduser)                    # Hugging Face runs the container as 1000
    assert instructions("USER") == [name]
    assert [i for i, (word, _) in enumerate(dockerfile()) if word == "USER"][0] > \
        max(i for i, (word, rest) in enumerate(dockerfile()) if word in ("COPY", "RUN"))   # it owns what it runs
    port = re.search(r"--server\.port=(\d+)", readme_serve_lines()[1]).group(1)
    assert instructions("EXPOSE") == [port] == ["8501"]
    assert instructions("HEALTHCHECK") == [f"CMD curl --fail http://localhost:{port}/_stcore/health"]
    assert any(re.search(r"apt-get install .*\bcurl\b", r) for r in instructions("RUN"))
    space = (ROOT / "deploy" / "huggingface" / "README.md").read_text().split("---")[1]
    assert re.search(r"^sdk: docker$", space, re.M) and re.search(rf"^app_port: {port}$", space, re.M)


def test_the_image_gets_what_the_app_needs():
    patterns = [p.strip().rstrip("/") for p in (ROOT / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    needed = ["app.py", "requirements.txt", ".streamlit/config.toml", "explorer/ui/copy.py", "assets/icon.png"]
    for path in needed:
        parts = Path(path).parts
        left_out = [p for p in patterns for k in range(1, len(parts) + 1)
                    if fnmatch.fnmatch("/".join(parts[:k]), p)]
        assert not left_out, f".dockerignore leaves out {path} ({left_out})"


def test_community_cloud_requirements_pin_cpu_torch_and_the_root_versions():
    deployed = ROOT / "deploy" / "requirements.txt"
    lines = [line.strip() for line in deployed.read_text().splitlines()]
    assert f"--extra-index-url {CPU_INDEX}" in lines
    root, cloud = requirements(ROOT / "requirements.txt"), requirements(deployed)
    assert cloud["torch"] == root["torch"] + "+cpu"
    assert {k: v for k, v in cloud.items() if k != "torch"} == {k: v for k, v in root.items() if k != "torch"}


def test_the_community_cloud_entry_point_draws_the_app():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "deploy" / "streamlit_app.py"), default_timeout=120).run()
    assert not at.exception
    assert len(at.get("vega_lite_chart")) + len(at.get("arrow_vega_lite_chart")) >= 4
    assert at.tabs[0].label == "2-D trajectories"


def test_the_server_started_as_in_the_dockerfile_answers_its_health_check():
    """The Dockerfile's command on a free local port, with the repository's .streamlit/config.toml and no other
    flag: a server that needed one (headless, say) would wait for a prompt and never answer."""
    (entry,) = instructions("ENTRYPOINT")
    port = free_port()
    args = [a.replace("--server.port=8501", f"--server.port={port}").replace("0.0.0.0", "127.0.0.1")
            for a in json.loads(entry)]
    assert args[0] == "streamlit"
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            end = time.time() + 90
            while True:
                try:
                    with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                        status, body = r.status, r.read().decode()
                    break
                except OSError:
                    assert proc.poll() is None and time.time() < end, "the server did not answer"
                    time.sleep(0.3)
            assert (status, body) == (200, "ok")
            with urllib.request.urlopen(base + "/", timeout=10) as r:
                page = r.read().decode()
            assert r.status == 200 and '<div id="root">' in page
        finally:
            proc.terminate()
            proc.wait(10)
            log.seek(0)
            output = log.read().decode(errors="replace")
    assert "Traceback" not in output, output[-2000:]


def test_the_served_config_spends_no_page_time_on_development_aids():
    """Streamlit's defaults suit development: a full garbage collection after every script run (with live views
    rerunning every second, ~40 % of the page's process under load, measured with py-spy) and watching the
    sources for changes. A served app needs neither (the pool's thread collects every 30 s)."""
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
    assert config["server"]["fileWatcherType"] == "none"
    from explorer.runs import pool
    assert pool.COLLECT_SECONDS <= 60
