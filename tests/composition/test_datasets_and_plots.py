import numpy as np
import pytest

from charsuite.composition import amounts_from, combine
from charsuite.datasets.composition import film_results
from charsuite.io import read


def _combine(gen, depth_range=None):
    erda = read(gen["files"]["ERDA"], **({"depth_range": depth_range} if depth_range else {}))
    sources = {
        "RBS": gen["files"]["RBS"],
        "ERDA": amounts_from(erda, relabel=gen["relabel"]["ERDA"]),
        "PIXE": gen["files"]["PIXE"],
    }
    return combine(sources, rules=gen["rules"], target="Li1.6Ni0.8Mn0.1Co0.1Ox")


def test_film_results_recovered_within_uncertainty(tmp_path):
    gen = film_results(tmp_path)
    result = _combine(gen)
    for el, truth in gen["truth"]["amounts"].items():
        n = result.amounts[el]
        assert abs(n.nominal_value - truth) < 4 * n.std_dev, el
    tm = sum(result.areal_densities_1e15_at_cm2[m] for m in ("Ni", "Mn", "Co"))
    expected = gen["truth"]["metal_areal_density_1e15_at_cm2"]
    assert abs(tm.nominal_value - expected) < 4 * tm.std_dev


def test_noise_free_rbs_and_pixe_exact(tmp_path):
    gen = film_results(tmp_path, noise=False, write_settings=False)
    result = _combine(gen, depth_range=gen["truth"]["erda_window_1e15_at_cm2"])
    for el in ("Ni", "Mn", "Co"):
        assert result.amounts[el].nominal_value == pytest.approx(
            gen["truth"]["amounts"][el], rel=1e-6
        )


def test_generators_are_deterministic(tmp_path):
    a = film_results(tmp_path / "a")
    b = film_results(tmp_path / "b")
    for key in ("RBS", "PIXE"):
        assert a["files"][key].read_bytes() == b["files"][key].read_bytes()


def test_plots(tmp_path):
    from charsuite.plotting.composition import plot_depth_profile, save_composition_figure

    gen = film_results(tmp_path)
    result = _combine(gen)
    path = save_composition_figure(result, tmp_path / "bars.png")
    assert path.stat().st_size > 1000
    fig = plot_depth_profile(read(gen["files"]["ERDA"]))
    ax = fig.axes[0]
    assert "1e15 at/cm²" in ax.get_xlabel() and "at.%" in ax.get_ylabel()
    assert len(ax.lines) == 5
    assert np.isfinite(ax.get_xlim()).all()
