"""The parameter model: defaults, validation messages, files, grids."""

from __future__ import annotations

import json

import numpy as np
import pytest

from derelay.params import (
    MECHANISM_KEYS,
    PARAM_INFO,
    PARAMS,
    Params,
    ParamsError,
    domain_constraints,
    grid,
    load_params,
    params_from_mapping,
    random_grid,
)

CONTRACT_KEYS = (
    "beta, s, coin, r_cited, q_selected, q_selected_mo, b_mo, k_transmit, model_size, v_rec, "
    "v_now_t, q_selected_t, p_comp, data_volume, tau, b_t, k_encrypt, q_broadcast, k_expand, "
    "q_deposit, q_deposit_less, r_deposit, c_mine, q_hash_m, r_hash_m, v_fhem, v_now_ebm, "
    "c_gen_fhe_key, q_encrypted_m, r_encrypted_m, q_cases, r_case, c_unit_gen_td_case, "
    "q_verified_m, r_verified_m, r_verify, c_unit_verify"
).split(", ")


def test_contract_keys_exactly_covered_in_order():
    assert list(MECHANISM_KEYS) == CONTRACT_KEYS
    assert set(Params.model_fields) == {p.name for p in PARAMS}


def test_table_iii_defaults():
    p = Params()
    assert (p.n_participants, p.n_miners, p.selection_limit) == (256, 128, 4)
    assert p.mo_budget == 0.001 and p.p_train_success == 0.9
    assert p.q_cases == 100 and p.s == 0.5
    for k in ("r_deposit", "r_hash_m", "r_encrypted_m", "r_case", "r_verified_m", "r_verify"):
        assert getattr(p, k) == 0.001, k
    # b^MO follows the simulation's rule min(budget, coins) / selection limit
    assert p.b_mo == pytest.approx(p.mo_budget / p.selection_limit)


def test_every_param_documented():
    for info in PARAMS:
        assert info.symbol and info.description and info.equations
        assert info.domain.contains(float(info.default)), info.name


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("beta", 1.0, "allowed 0 < beta < 1"),
        ("beta", 0.0, "allowed 0 < beta < 1"),
        ("s", 1.5, "allowed 0 < s < 1"),
        ("q_cases", -1, "allowed 0 <= q_cases"),
        ("coin", 0, "allowed 0 < coin"),
        ("p_train_success", 1.2, "allowed 0 <= p_train_success <= 1"),
        ("n_participants", 2.5, "an integer"),
    ],
)
def test_out_of_range_messages_name_parameter_value_and_range(key, value, fragment):
    with pytest.raises(ParamsError) as exc:
        params_from_mapping({key: value})
    msg = str(exc.value)
    assert f"'{key}'" in msg and repr(value) in msg and fragment in msg


def test_cross_constraints():
    with pytest.raises(ParamsError, match="q_deposit_less < q_deposit"):
        params_from_mapping({"q_deposit": 10, "q_deposit_less": 10})
    with pytest.raises(ParamsError, match="v_now_t <= v_rec"):
        params_from_mapping({"v_rec": 3, "v_now_t": 4})
    with pytest.raises(ParamsError, match="v_now_ebm <= v_fhem"):
        params_from_mapping({"v_fhem": 1, "v_now_ebm": 2})


def test_unknown_key_did_you_mean_and_wrong_type_reported_together():
    with pytest.raises(ParamsError) as exc:
        params_from_mapping({"bta": 0.5, "r_citd": 1, "s": "half", "beta": True})
    msg = str(exc.value)
    assert "unknown parameter 'bta' (did you mean 'beta'?)" in msg
    assert "did you mean 'r_cited'?" in msg
    assert "parameter 's' = 'half' has the wrong type (str)" in msg
    assert "parameter 'beta' = True has the wrong type (bool)" in msg
    assert len(exc.value.problems) == 4


def test_non_finite_rejected():
    with pytest.raises(ParamsError, match="'c_mine'"):
        params_from_mapping({"c_mine": float("inf")})


def test_load_json_toml_and_params_table(tmp_path):
    j = tmp_path / "a.json"
    j.write_text(json.dumps({"beta": 0.8, "s": 0.25}))
    assert load_params(j).beta == 0.8
    t = tmp_path / "a.toml"
    t.write_text("beta = 0.7\nq_cases = 50\n")
    p = load_params(t)
    assert (p.beta, p.q_cases, p.s) == (0.7, 50.0, 0.5)
    t2 = tmp_path / "b.toml"
    t2.write_text("[params]\nbeta = 0.6\n")
    assert load_params(t2).beta == 0.6
    sniff = tmp_path / "c.conf"
    sniff.write_text('{"beta": 0.3}')
    assert load_params(sniff).beta == 0.3


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("bad.json", '{"beta": ', "malformed JSON at line"),
        ("bad.toml", "beta = = 1", "malformed TOML"),
        ("list.json", "[1, 2]", "expected a table of parameters"),
    ],
)
def test_malformed_files(tmp_path, name, text, fragment):
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(ParamsError, match=fragment):
        load_params(f)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ParamsError, match="file not found"):
        load_params(tmp_path / "nope.json")
    with pytest.raises(ParamsError, match="is a directory"):
        load_params(tmp_path)


def test_grid_product_and_zip():
    g = grid(beta=[0.1, 0.5], s=[0.2, 0.3, 0.4])
    assert g.beta.shape == (6,) and g.s.shape == (6,)
    assert g.q_cases == 100.0  # untouched keys stay scalars (broadcast)
    z = grid(mode="zip", beta=[0.1, 0.5], s=[0.2, 0.3])
    assert list(z.s) == [0.2, 0.3]
    with pytest.raises(ParamsError, match="allowed 0 < beta < 1"):
        grid(beta=[0.5, 1.0])
    with pytest.raises(ParamsError, match="did you mean 'beta'"):
        grid(betta=[0.5])


def test_random_grid_respects_domains():
    g = random_grid(5000, seed=1)
    ok = np.ones(5000, dtype=bool)
    for c in domain_constraints(g):
        ok &= c
    assert ok.all()


def test_param_info_lookup():
    assert PARAM_INFO["coin"].symbol == "©"
    assert PARAM_INFO["model_size"].symbol == "|M|"


def test_reference_doc_is_up_to_date():
    from pathlib import Path

    from derelay.params import reference_markdown

    doc = Path(__file__).resolve().parents[1] / "docs" / "parameters.md"
    assert doc.read_text().strip() == reference_markdown().strip(), (
        "regenerate with: derelay params --markdown > docs/parameters.md"
    )
