"""Attacks on persons' incomes through a fresh demo with its defaults (issue 11, A2, A35): the population
grant runs under DP because income is personal information at 重要. Each attack goes through the real path —
checker, sandbox, output gate, release — and none recovers any person's income within ±5%.

Chance alone: a DP estimate built from two sums at epsilon 0.5 each (Laplace scale 10^6 on each sum, incomes
clamped to [0, 500000]) lands within ±5% of an income of ~60,000 with probability ≈ 0.15%; the tests allow
one such hit per family, where a working attack (exact sums, as before the grades had an effect) hits every
time. Families: differencing (``<>`` and ``NOT IN``), trackers, averaging repeated queries, reconstruction
from overlapping queries, uploaded labels (social data, A34).
"""

import shutil

import numpy as np
import pytest
from attack_kit import demo, quote, recovered, unique_targets

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

SUM = "SELECT sum(income) AS s FROM persons WHERE "


def test_a2_differencing_with_not_equal_and_not_in_recovers_no_income(harness):
    d = demo(harness)
    targets = unique_targets(d, 3)
    assert len(targets) == 3
    hits, estimates = 0, 0
    for _, _, street, age, income in targets:
        whole = d.value(SUM + f"street = {quote(street)}")
        for rest in (f"age <> {age}", f"age NOT IN ({age})"):
            without = d.value(SUM + f"street = {quote(street)} AND {rest}")
            if whole is not None and without is not None:
                estimates += 1
                hits += recovered(whole - without, income)
    assert estimates == 6  # the attack ran: every query released a (noisy) value
    assert hits <= 1, f"{hits} of 6 differencing estimates within ±5%"
    budget = d.harness.client.get("/api/v1/grants", headers=d.op).json()
    assert any(g["dp"]["mode"] == "required" and g["dataset"] == "population" for g in budget)


def test_a2_tracker_recovers_no_income(harness):
    """ "target OR the whole (other) district" minus "the whole district"."""
    d = demo(harness)
    hits, estimates = 0, 0
    for _, district, street, age, income in unique_targets(d, 3):
        other = d.truth(f"SELECT district FROM persons WHERE district <> {quote(district)} LIMIT 1")[0][0]
        padded = d.value(SUM + f"(street = {quote(street)} AND age = {age}) OR district = {quote(other)}")
        pad = d.value(SUM + f"district = {quote(other)}")
        if padded is not None and pad is not None:
            estimates += 1
            hits += recovered(padded - pad, income)
    assert estimates == 3
    assert hits <= 1, f"{hits} of 3 tracker estimates within ±5%"


def test_a2_averaging_repeated_queries_is_stopped_by_the_budget_and_recovers_no_income(harness):
    """Repeat the differencing pair until the monthly budget refuses, then average the estimates."""
    d = demo(harness)
    targets = unique_targets(d, 3)
    samples = {t[0]: [] for t in targets}
    refused = None
    for round_ in range(40):
        _, _, street, age, _ = targets[round_ % 3]
        status_a, job_a, rows_a = d.run(SUM + f"street = {quote(street)}")
        status_b, job_b, rows_b = d.run(SUM + f"street = {quote(street)} AND age <> {age}")
        if status_a != 202 or status_b != 202:
            refused = job_a if status_a != 202 else job_b
            break
        samples[targets[round_ % 3][0]].append(rows_a[0]["s"] - rows_b[0]["s"])
    assert refused is not None and refused["code"] == "budget_exceeded", refused
    hits = sum(recovered(float(np.mean(samples[t[0]])), t[4]) for t in targets if samples[t[0]])
    assert sum(len(v) for v in samples.values()) >= 15  # the attacker spent the whole budget
    assert hits <= 1, f"{hits} of 3 averaged estimates within ±5%"


def test_a2_reconstruction_from_overlapping_queries_recovers_no_income(harness):
    """21 overlapping age-range sums on one street, solved by least squares (the reconstruction attack)."""
    d = demo(harness)
    street = d.truth(
        "SELECT street FROM persons GROUP BY street HAVING count(*) BETWEEN 12 AND 20 "
        "AND count(DISTINCT age) = count(*) ORDER BY street LIMIT 1"
    )[0][0]
    people = d.truth(f"SELECT age, income FROM persons WHERE street = {quote(street)} ORDER BY age")
    ages = [a for a, _ in people]
    ranges = [(ages[i], ages[j]) for i in range(len(ages)) for j in range(i, len(ages))]
    chosen = ranges[:: max(1, len(ranges) // 21)][:21]
    rows, values = [], []
    for low, high in chosen:
        value = d.value(SUM + f"street = {quote(street)} AND age BETWEEN {low} AND {high}")
        if value is None:
            break
        rows.append([1.0 if low <= a <= high else 0.0 for a in ages])
        values.append(value)
    assert len(values) >= len(ages)  # enough equations to solve for every income
    estimate, *_ = np.linalg.lstsq(np.array(rows), np.array(values), rcond=None)
    hits = sum(recovered(e, income) for e, (_, income) in zip(estimate, people) if income > 0)
    # Each estimate carries noise of the order of 10^6: it lands within ±5% by chance with p < 0.3%, so 3 or
    # more of at most 20 has probability < 1e-4; exact sums would put every person there.
    assert hits <= 2, f"{hits} of {len(people)} reconstructed incomes within ±5%"


def test_a34_uploaded_labels_cannot_single_out_a_person(harness):
    """The operator uploads its own social data labelling one target apart from its street, then asks for the
    income per label. Under the population grant's DP, a join with another grant's table is refused."""
    d = demo(harness)
    (person_id, _, street, _, income), *_ = unique_targets(d, 1)
    neighbours = [r[0] for r in d.truth(f"SELECT person_id FROM persons WHERE street = {quote(street)}")]
    client, op = d.harness.client, d.op
    body = {
        "name": "labels",
        "title": "客户标签（社会数据）",
        "update_frequency": "monthly",
        "sector": "零售",
        "open_attribute": "not_open",
    }
    assert client.post("/api/v1/catalog/social-datasets", json=body, headers=op).status_code == 201
    assert (
        client.post("/api/v1/catalog/datasets/labels/tables", json={"name": "tags"}, headers=op).status_code
        == 201
    )
    csv = "person_id,tag\n" + "".join(f"{p},{'a' if p == person_id else 'b'}\n" for p in neighbours)
    upload = client.put(
        "/api/v1/catalog/datasets/labels/tables/tags/data",
        headers=op,
        files={"file": ("tags.csv", csv.encode(), "text/csv")},
    )
    assert upload.status_code == 201, upload.text
    confirm = client.put(
        "/api/v1/catalog/datasets/labels/tables/tags/columns", json=[{"name": "tag"}], headers=op
    )
    assert confirm.status_code == 200, confirm.text
    from gateway.demo_registry import register_demo_datasets

    register_demo_datasets(
        d.harness.ctx, registrar_user="registrar", source_user="analyst", dataset_names=["labels"]
    )
    grant = client.post(
        "/api/v1/grants",
        headers=d.tokens["implementer"],
        json={
            "organization_id": d.me["organization_id"],
            "dataset": "labels",
            "purpose": "客群标签",
            "valid_from": "2024-01-01",
            "valid_to": "2026-12-31",
            "privacy_unit": "person_id",
            "columns": {"tags": {"person_id": "join", "tag": "group"}},
        },
    )
    assert grant.status_code == 201, grant.text
    sql = (
        "SELECT t.tag, sum(p.income) AS s FROM persons p JOIN tags t ON p.person_id = t.person_id "
        "GROUP BY t.tag"
    )
    status, job, rows = d.run(sql)
    if status == 202:  # should DP ever support joins, the released value must still be noised
        tagged = [float(r["s"]) for r in rows if r.get("tag") == "a"]
        assert not any(recovered(v, income) for v in tagged), "the labelled person's income was recovered"
    else:
        assert status == 422 and job["rule"] == "dp_join", job
