"""npm packages the tests drive, installed from a folder's package-lock.json."""

import fcntl
import hashlib
import subprocess
from pathlib import Path


def npm_ci(folder: Path) -> Path:
    """`npm ci` in `folder` once per lock file, one installer at a time (xdist workers share the folder)."""
    digest = hashlib.sha256((folder / "package-lock.json").read_bytes()).hexdigest()
    marker = folder / "node_modules" / ".installed-from-lock"
    with open(folder / ".install.lock", "w") as install_lock:
        fcntl.flock(install_lock, fcntl.LOCK_EX)
        if not marker.exists() or marker.read_text() != digest:
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=folder,
                check=True,
                capture_output=True,
            )
            marker.write_text(digest)
    return folder
