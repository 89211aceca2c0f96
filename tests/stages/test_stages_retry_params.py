"""Each further candidate of a role samples with the next seed, and hotter where configured."""

from __future__ import annotations

from pathlib import Path

import yaml

from meshdistill.stages.llm_roles import MAX_RETRY_TEMPERATURE, Role

REPO = Path(__file__).resolve().parents[2]


def answerer(**overrides: object) -> Role:
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    return Role.from_config("answerer", {**config["answerer"], **overrides}, config["models"])


def test_candidates_sample_with_the_next_seed_and_hotter() -> None:
    role = answerer(params={"temperature": 0.2, "seed": 5}, retry_temperature_step=0.1)
    params = [role.request("x", n, context="c", question="q").params for n in range(4)]
    assert [p["seed"] for p in params] == [5, 6, 7, 8]
    assert [p["temperature"] for p in params] == [0.2, 0.3, 0.4, 0.5]


def test_the_temperature_stops_at_its_ceiling_and_the_first_candidate_is_as_configured() -> None:
    role = answerer(params={"temperature": 0.7, "seed": 1}, retry_temperature_step=0.25)
    temperatures = [role.request("x", n, context="c", question="q").params for n in range(4)]
    assert [p["temperature"] for p in temperatures] == [0.7, 0.95, MAX_RETRY_TEMPERATURE, 1.0]
    # Hotter than the ceiling to begin with: never cooled down.
    hot = answerer(params={"temperature": 1.3, "seed": 1}, retry_temperature_step=0.1)
    assert hot.request("x", 2, context="c", question="q").params["temperature"] == 1.3


def test_without_a_step_only_the_seed_changes() -> None:
    role = answerer(params={"temperature": 0.2, "seed": 5}, retry_temperature_step=0)
    params = role.request("x", 3, context="c", question="q").params
    assert (params["temperature"], params["seed"]) == (0.2, 8)
