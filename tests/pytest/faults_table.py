"""Print the fault table for RELIABILITY.md (python tests/pytest/faults_table.py)."""

from test_faults import reliability_table

if __name__ == "__main__":
    print(reliability_table())
