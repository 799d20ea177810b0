"""The score formulas against the published plugins' worked examples."""

from __future__ import annotations

import numpy as np
import pytest

from scheduler_api.ranking import balanced_allocation, least_allocated, load_variation_risk


def test_least_allocated_matches_the_kube_scheduler_example() -> None:
    # kube-scheduler NodeResourcesFit/LeastAllocated, equal weights:
    # node 4000m CPU / 10000 memory with 3000m / 5000 requested scores
    # ((4000-3000)*100/4000 + (10000-5000)*100/10000) / 2 = 37.5.
    assert least_allocated([3.0, 5000.0], [4.0, 10000.0]) * 100 == pytest.approx(37.5)


def test_least_allocated_is_zero_when_overcommitted() -> None:
    assert least_allocated([5.0], [4.0]) == 0.0


def test_least_allocated_honours_resource_weights() -> None:
    # cpu 25 % free, memory 50 % free, cpu weighted 3:1.
    assert least_allocated([3.0, 5.0], [4.0, 10.0], [3.0, 1.0]) == pytest.approx(0.3125)


def test_balanced_allocation_matches_the_kube_scheduler_formula() -> None:
    # Two resources at 50 % and 25 %: std = |0.5 - 0.25| / 2 = 0.125, score 1 - 0.125.
    assert balanced_allocation([0.5, 0.25]) == pytest.approx(0.875)
    assert balanced_allocation([0.6, 0.6]) == pytest.approx(1.0)


def test_load_variation_risk_matches_the_trimaran_formula() -> None:
    # Trimaran LoadVariationRiskBalancing with margin 1, sensitivity 1:
    # risk = (mu + sigma) / 2; mu 0.3, sigma 0.1 -> risk 0.2 -> score 0.8.
    assert float(load_variation_risk(0.3, 0.1)) == pytest.approx(0.8)
    # Sensitivity 2 takes the square root of sigma: (0.3 + 0.2) / 2 -> 0.75.
    assert float(load_variation_risk(0.3, 0.04, 1.0, 2.0)) == pytest.approx(0.75)
    # mu and sigma are clamped to 0..1, so an overloaded node scores 0, not below.
    assert float(load_variation_risk(1.7, 1.5)) == 0.0


def test_load_variation_risk_works_on_arrays() -> None:
    scores = load_variation_risk(np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.0, 0.0]))
    assert scores.tolist() == pytest.approx([1.0, 0.75, 0.5])
