#!/usr/bin/env bash
# Rewrites the two built-in forms (stakeholder_dialogue.xlsx, community_safety_assessment.xlsx)
# from generate.py. Installs openpyxl into the project's Python venv (scripts/python-venv).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="$("$here/../../scripts/python-venv")"
cd "$here" && "$python" generate.py "$here"
