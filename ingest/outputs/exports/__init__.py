"""Remediation exports made from the marts: a blocklist of confirmed flags (``blocklist``)
and a copy of a dataset with every kept face blurred (``blurred``)."""
