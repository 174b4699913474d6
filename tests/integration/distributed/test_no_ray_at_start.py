"""Without --ray, nothing imports Ray: the command line starts as fast as before."""

from __future__ import annotations

import subprocess
import sys


def test_the_command_line_does_not_import_ray() -> None:
    code = (
        "import sys\n"
        "from ghostcandle.cli.main import build_parser\n"
        "build_parser().parse_args(['train', '--model', 'excursion_mlp', '--symbols', 'A/B'])\n"
        "print('ray' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "False"
