"""Print the fault table for RELIABILITY.md (python tests/pytest/pipeline/faults_table.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the helpers beside conftest.py (faults.py)

from test_faults import reliability_table  # noqa: E402

if __name__ == "__main__":
    print(reliability_table())
