"""Distributional DP with stock augmentation [card ``distributional_dp.md``; Pires et al. 2025].
"""
