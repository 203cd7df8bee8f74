"""Differential fuzzing of the HTML rewriter against html5lib (issue 9).

`generator` makes pages with trackers in odd contexts, `oracle` judges a rewritten page on
html5lib's trees, `corpus/` keeps every case that ever failed, `harness` ties them to the
rewriter. ``python -m tests.fuzz`` runs a bigger seeded batch offline; `chromium_sample` loads a
sample in headless Chromium to check the oracle against a browser.
"""
