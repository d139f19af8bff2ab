"""Shuyu (数域) analyst client: check and run SQL against a Shuyu server, download released results.

>>> import shuyu
>>> sorted(n for n in shuyu.__all__ if n[0].isupper())
['Client', 'JobFailed', 'PolicyRefused', 'Result', 'ShuyuError', 'Verdict']
"""

from shuyu.client import Client, Result, Verdict
from shuyu.errors import JobFailed, PolicyRefused, ShuyuError

__all__ = ["Client", "JobFailed", "PolicyRefused", "Result", "ShuyuError", "Verdict"]
