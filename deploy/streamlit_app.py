"""Streamlit Community Cloud's entry point (Main file path: deploy/streamlit_app.py). It runs the repository's
app.py, page for page; it exists so that Community Cloud installs deploy/requirements.txt, the one next to it
(torch's CPU build), instead of the root requirements.txt. docs/hosting.md says what to enter."""
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:            # Streamlit puts this file's folder on the path, not the repository's
    sys.path.insert(0, str(ROOT))
runpy.run_path(str(ROOT / "app.py"), run_name="__main__")
