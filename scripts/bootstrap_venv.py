"""Create a virtualenv where `python3 -m venv` cannot (Debian/Ubuntu without python3-venv).

Makes the venv without pip, then installs pip into it from pip's own wheel,
downloaded from PyPI and checked against PyPI's published SHA-256. Used by
`make install` only when the plain `python3 -m venv` fails.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
import venv
from pathlib import Path

PYPI_PIP = "https://pypi.org/pypi/pip/json"


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ".venv")
    venv.create(target, with_pip=False, clear=True)
    with urllib.request.urlopen(PYPI_PIP, timeout=60) as response:
        release = json.load(response)
    wheel = next(u for u in release["urls"] if u["packagetype"] == "bdist_wheel")
    with urllib.request.urlopen(urllib.parse.urljoin(PYPI_PIP, wheel["url"]), timeout=120) as response:
        payload = response.read()
    if hashlib.sha256(payload).hexdigest() != wheel["digests"]["sha256"]:
        sys.exit("pip wheel from PyPI does not match its published SHA-256; not installing it")
    with tempfile.TemporaryDirectory() as scratch:
        wheel_path = Path(scratch) / wheel["filename"]
        wheel_path.write_bytes(payload)
        python = target / "bin" / "python"
        # A pip wheel can run itself: `python pip.whl/pip install pip.whl`.
        subprocess.run([str(python), f"{wheel_path}/pip", "install", "--quiet", str(wheel_path)], check=True)
    print(f"created {target} with pip {release['info']['version']} (python3-venv was not available)")


if __name__ == "__main__":
    main()
