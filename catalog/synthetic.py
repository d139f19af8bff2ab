"""Reproducible synthetic Chongqing demo data (population, enterprises, social insurance) as Parquet.

Everything is drawn from one ``numpy.random.Generator(PCG64(seed))`` in a fixed order and vectorised;
Faker's zh_CN provider lists are used only to build the name pools (never per row). Same ``seed`` and
``scale`` give byte-identical Parquet files (with the same pyarrow version); another seed gives other data.

Layout: ``out_dir/<dataset>/<table>.parquet``::

    population/persons, population/households, enterprises/enterprises, social_insurance/contributions

Facts baked in (decisions where the brief was silent):

* Reference date for ages is 2025-01-01; birth dates fall in 1925..2024; the resident ID embeds the birth
  date, the district's real area code (500101 万州区 .. 500243 彭水县), a sequence whose last digit is odd
  for 男 and even for 女, and a valid check character. ID numbers and mobile numbers are unique.
* District weights follow the 2020 census (万人), floored at 0.5% of rows each; 4-8 streets per district.
* Income is log-normal (median 60,000 CNY, sigma 0.75), 0 for persons under 16, clipped to 0..2,000,000.
* Households group people of the same district, sizes 1-6; persons are shuffled within the district first.
* Enterprises: ``scale // 20`` rows (at least 1). The legal representative is an adult from ``persons``
  (name and ID copied), so demo joins on ``id_card`` work. USCC = ``91`` + district area code + 9
  characters + MOD 31 check character; unique.
* Contributions: 2024-01..2024-12 for 60% of persons, preferring ages 18-65; each contributor has one
  employer (weighted by employees) and contributes from a start month to December (80% start in January).
  The base is income/12 clipped to 3,965..19,825 (plausible Chongqing 2024 base limits), +3% from July.
  Written in row groups so memory stays modest at scale=1,000,000.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["DISTRICTS", "INCOME_MAX", "MIN_DISTRICT_SHARE", "REFERENCE_DATE", "generate"]

REFERENCE_DATE = date(2025, 1, 1)
MIN_DISTRICT_SHARE = 0.005
INCOME_MAX = 2_000_000.0
_RID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_RID_MAP = "10X98765432"
_USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64)
_PARQUET = {"compression": "zstd", "use_dictionary": True}

# (name, area code, 2020 census population in 10k, street stem)
DISTRICTS: tuple[tuple[str, str, float], ...] = (
    ("万州区", "500101", 156),
    ("涪陵区", "500102", 111),
    ("渝中区", "500103", 59),
    ("大渡口区", "500104", 42),
    ("江北区", "500105", 93),
    ("沙坪坝区", "500106", 148),
    ("九龙坡区", "500107", 153),
    ("南岸区", "500108", 119),
    ("北碚区", "500109", 83),
    ("綦江区", "500110", 102),
    ("大足区", "500111", 83),
    ("渝北区", "500112", 219),
    ("巴南区", "500113", 118),
    ("黔江区", "500114", 49),
    ("长寿区", "500115", 69),
    ("江津区", "500116", 136),
    ("合川区", "500117", 124),
    ("永川区", "500118", 114),
    ("南川区", "500119", 57),
    ("璧山区", "500120", 76),
    ("铜梁区", "500151", 69),
    ("潼南区", "500152", 69),
    ("荣昌区", "500153", 67),
    ("开州区", "500154", 120),
    ("梁平区", "500155", 65),
    ("武隆区", "500156", 36),
    ("城口县", "500229", 20),
    ("丰都县", "500230", 56),
    ("垫江县", "500231", 65),
    ("忠县", "500233", 72),
    ("云阳县", "500235", 93),
    ("奉节县", "500236", 74),
    ("巫山县", "500237", 46),
    ("巫溪县", "500238", 39),
    ("石柱土家族自治县", "500240", 39),
    ("秀山土家族苗族自治县", "500241", 50),
    ("酉阳土家族苗族自治县", "500242", 61),
    ("彭水苗族土家族自治县", "500243", 50),
)
_STREET_WORDS = (
    "城东",
    "城西",
    "城南",
    "城北",
    "新城",
    "中山",
    "人民",
    "解放",
    "滨江",
    "龙泉",
    "桂花",
    "白沙",
    "石桥",
    "凤凰",
    "双龙",
    "长安",
    "青龙",
    "太平",
    "高峰",
    "文星",
    "天星",
    "清泉",
    "金山",
    "玉屏",
)
_INDUSTRIES: tuple[tuple[str, str, float], ...] = (
    ("农、林、牧、渔业", "农业", 4),
    ("制造业", "机械制造", 14),
    ("建筑业", "建设工程", 9),
    ("批发和零售业", "商贸", 24),
    ("交通运输、仓储和邮政业", "物流", 5),
    ("住宿和餐饮业", "餐饮管理", 7),
    ("信息传输、软件和信息技术服务业", "信息技术", 8),
    ("金融业", "投资", 2),
    ("房地产业", "置业", 3),
    ("租赁和商务服务业", "商务咨询", 10),
    ("科学研究和技术服务业", "科技", 6),
    ("居民服务、修理和其他服务业", "家政服务", 3),
    ("教育", "教育咨询", 2),
    ("卫生和社会工作", "健康管理", 1),
    ("文化、体育和娱乐业", "文化传媒", 2),
)
_COMPANY_SUFFIXES = ("有限公司", "有限责任公司", "股份有限公司")
_MOBILE_PREFIXES = np.array(
    [
        130,
        131,
        132,
        133,
        134,
        135,
        136,
        137,
        138,
        139,
        150,
        151,
        152,
        153,
        155,
        156,
        157,
        158,
        159,
        166,
        173,
        175,
        176,
        177,
        180,
        181,
        182,
        183,
        185,
        186,
        187,
        188,
        189,
        198,
        199,
    ],
    dtype=np.int64,
)


def _stem(district: str) -> str:
    for suffix in ("土家族苗族自治县", "苗族土家族自治县", "土家族自治县", "区", "县"):
        if district.endswith(suffix) and len(district) > len(suffix) + 1:
            return district[: -len(suffix)]
    return district


def _streets() -> tuple[list[str], np.ndarray, np.ndarray]:
    """Fixed street names (4-8 per district): all names, first index and count per district."""
    names: list[str] = []
    first, count = [], []
    for i, (district, _, _) in enumerate(DISTRICTS):
        n = 4 + (i * 3) % 5
        first.append(len(names))
        count.append(n)
        stem = _stem(district)
        for j in range(n):
            word = _STREET_WORDS[(i * 7 + j * 5) % len(_STREET_WORDS)]
            names.append(f"{stem}{word}街道" if j else f"{stem}城关街道")
    return names, np.array(first), np.array(count)


def street_names() -> list[str]:
    """Every street name the generator can produce: public knowledge, so a DP key domain (demo grants)."""
    return _streets()[0]


def _name_pools() -> tuple[list[str], np.ndarray, list[str], list[str], list[str]]:
    from faker.providers.company.zh_CN import Provider as CompanyProvider
    from faker.providers.person.zh_CN import Provider as PersonProvider

    surnames = list(PersonProvider.last_names.keys())
    weights = np.array(list(PersonProvider.last_names.values()), dtype=np.float64)
    male = sorted(set(PersonProvider.first_names_male))
    female = sorted(set(PersonProvider.first_names_female))
    brands = sorted({p for p in CompanyProvider.company_prefixes if len(p) == 2})
    return surnames, weights / weights.sum(), male, female, brands


def _district_weights() -> np.ndarray:
    w = np.array([d[2] for d in DISTRICTS], dtype=np.float64)
    w = w / w.sum()
    for _ in range(10):
        w = np.maximum(w, MIN_DISTRICT_SHARE * 1.02)
        w = w / w.sum()
    return w


def _take(pool: list[str], idx: np.ndarray) -> pa.Array:
    return pa.array(pool, pa.string()).take(pa.array(idx))


def _concat(*parts: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _digits(n: np.ndarray, width: int) -> np.ndarray:
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (n[:, None] // powers[None, :]) % 10


def _resident_ids(
    area: np.ndarray, birth: np.ndarray, male: np.ndarray, rng: np.random.Generator
) -> pa.Array:
    """Unique valid resident IDs from area codes (int), birth dates (datetime64[D]) and sex."""
    yyyymmdd = _yyyymmdd(birth)
    parity = male.astype(np.int64)
    seq = rng.integers(0, 500, size=len(area), dtype=np.int64) * 2 + parity
    prefix = area * 10**11 + yyyymmdd * 1000
    body = prefix + seq
    for _ in range(100):
        _, first = np.unique(body, return_index=True)
        dup = np.ones(len(body), dtype=bool)
        dup[first] = False
        if not dup.any():
            break
        seq[dup] = rng.integers(0, 500, size=int(dup.sum()), dtype=np.int64) * 2 + parity[dup]
        body = prefix + seq
    check = (_digits(body, 17) @ _RID_WEIGHTS) % 11
    return _concat(pc.cast(pa.array(body), pa.string()), _take(list(_RID_MAP), check))


def _yyyymmdd(birth: np.ndarray) -> np.ndarray:
    years = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    months = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (birth - birth.astype("datetime64[M]")).astype(np.int64) + 1
    return years * 10000 + months * 100 + days


def _unique_ints(draw, n: int, rng: np.random.Generator) -> np.ndarray:
    values = draw(n)
    for _ in range(100):
        _, first = np.unique(values, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            return values
        values[dup] = draw(int(dup.sum()))
    raise RuntimeError("could not draw unique values")


def _persons(scale: int, rng: np.random.Generator):
    surnames, surname_p, male_names, female_names, _ = _name_pools()
    street_names, street_first, street_count = _streets()
    district = rng.choice(len(DISTRICTS), size=scale, p=_district_weights())
    male = rng.random(scale) < 0.51
    # Ages: a broad, slightly aging profile, 0..99.
    age_draw = np.clip(np.round(rng.normal(41, 21, size=scale)), 0, 99).astype(np.int64)
    birth_year = 2024 - age_draw
    year_start = (birth_year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    days_in_year = 365 + ((birth_year % 4 == 0) & ((birth_year % 100 != 0) | (birth_year % 400 == 0)))
    birth = year_start + np.floor(rng.random(scale) * days_in_year).astype("timedelta64[D]")
    is_jan1 = birth == year_start
    age = (2024 - birth_year + is_jan1).astype(np.int32)  # exact age on 2025-01-01

    def given(u: np.ndarray) -> pa.Array:
        male_pick = _take(male_names, np.floor(u * len(male_names)).astype(np.int64))
        female_pick = _take(female_names, np.floor(u * len(female_names)).astype(np.int64))
        return pc.if_else(pa.array(male), male_pick, female_pick)

    first = given(rng.random(scale))
    second = pc.if_else(
        pa.array(rng.random(scale) < 0.7), given(rng.random(scale)), pa.scalar("", pa.string())
    )
    surname = rng.choice(len(surnames), size=scale, p=surname_p)
    name = _concat(_take(surnames, surname), first, second)

    area = np.array([int(d[1]) for d in DISTRICTS], dtype=np.int64)[district]
    id_card = _resident_ids(area, birth, male, rng)
    phone_int = _unique_ints(
        lambda n: rng.choice(_MOBILE_PREFIXES, size=n) * 10**8 + rng.integers(0, 10**8, size=n), scale, rng
    )
    street = street_first[district] + np.floor(rng.random(scale) * street_count[district]).astype(np.int64)
    income = np.exp(rng.normal(np.log(60_000.0), 0.75, size=scale))
    income = np.where(age < 16, 0.0, np.round(np.clip(income, 0.0, INCOME_MAX), 2))

    districts = [d[0] for d in DISTRICTS]
    table = pa.table(
        {
            "person_id": pa.array(np.arange(1, scale + 1, dtype=np.int64)),
            "name": name,
            "id_card": id_card,
            "phone": pc.cast(pa.array(phone_int), pa.string()),
            "gender": _take(["女", "男"], male.astype(np.int64)),
            "birth_date": pa.array(birth.astype("datetime64[D]"), pa.date32()),
            "age": pa.array(age, pa.int32()),
            "district": _take(districts, district),
            "street": _take(street_names, street),
            "income": pa.array(income, pa.float64()),
        }
    )
    return table, district, age, income


def _households(district: np.ndarray, rng: np.random.Generator) -> pa.Table:
    sizes_p = np.array([0.25, 0.30, 0.20, 0.14, 0.07, 0.04])
    hh_ids, person_ids, hh_district, hh_size = [], [], [], []
    next_hh = 1
    for d in range(len(DISTRICTS)):
        members = np.flatnonzero(district == d)
        if len(members) == 0:
            continue
        members = members[rng.permutation(len(members))]
        sizes = rng.choice(np.arange(1, 7), size=len(members), p=sizes_p)
        ends = np.cumsum(sizes)
        k = int(np.searchsorted(ends, len(members)))  # households needed
        sizes = sizes[: k + 1].copy()
        sizes[-1] -= int(ends[k] - len(members))
        ids = np.arange(next_hh, next_hh + len(sizes), dtype=np.int64)
        next_hh += len(sizes)
        hh_ids.append(np.repeat(ids, sizes))
        hh_size.append(np.repeat(sizes, sizes).astype(np.int32))
        person_ids.append(members.astype(np.int64) + 1)
        hh_district.append(np.full(len(members), d))
    districts = [x[0] for x in DISTRICTS]
    return pa.table(
        {
            "hh_id": pa.array(np.concatenate(hh_ids)),
            "person_id": pa.array(np.concatenate(person_ids)),
            "district": _take(districts, np.concatenate(hh_district)),
            "size": pa.array(np.concatenate(hh_size), pa.int32()),
        }
    )


def _uscc(area: np.ndarray, rng: np.random.Generator) -> pa.Array:
    n = len(area)
    idx = np.empty((n, 18), dtype=np.int64)
    idx[:, 0] = 9
    idx[:, 1] = 1
    idx[:, 2:8] = _digits(area, 6)
    idx[:, 8:17] = rng.integers(0, 31, size=(n, 9))
    idx[:, 8] = rng.integers(0, 10, size=n)  # organization codes usually start with a digit
    for _ in range(100):
        key = idx[:, 8:17] @ (31 ** np.arange(9, dtype=np.int64))
        _, first = np.unique(key, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            break
        idx[dup, 9:17] = rng.integers(0, 31, size=(int(dup.sum()), 8))
    idx[:, 17] = (31 - (idx[:, :17] @ _USCC_WEIGHTS) % 31) % 31
    chars = np.array(list(_USCC_CHARSET), dtype="<U1")[idx]
    return pa.array(np.ascontiguousarray(chars).view("<U18").ravel(), pa.string())


def _enterprises(n: int, persons: pa.Table, age: np.ndarray, rng: np.random.Generator):
    _, _, _, _, brands = _name_pools()
    district = rng.choice(len(DISTRICTS), size=n, p=_district_weights())
    area = np.array([int(d[1]) for d in DISTRICTS], dtype=np.int64)[district]
    uscc = _uscc(area, rng)
    ind_p = np.array([i[2] for i in _INDUSTRIES], dtype=np.float64)
    industry = rng.choice(len(_INDUSTRIES), size=n, p=ind_p / ind_p.sum())
    name = _concat(
        _take([_stem(d[0]) for d in DISTRICTS], district),
        _take(brands, rng.integers(0, len(brands), size=n)),
        _take([i[1] for i in _INDUSTRIES], industry),
        _take(list(_COMPANY_SUFFIXES), rng.choice(3, size=n, p=[0.8, 0.12, 0.08])),
    )
    adults = np.flatnonzero((age >= 22) & (age <= 75))
    pool = adults if len(adults) else np.arange(len(age))
    reps = rng.choice(pool, size=n, replace=len(pool) < n)
    capital = np.round(np.clip(np.exp(rng.normal(np.log(1_000_000), 1.3, size=n)), 10_000, 5e9), -3)
    employees = np.clip(np.round(np.exp(rng.normal(np.log(12), 1.2, size=n))), 1, 50_000).astype(np.int32)
    start = np.datetime64("1990-01-01")
    span = (np.datetime64("2024-12-31") - start).astype(np.int64) + 1
    founded = start + rng.integers(0, span, size=n).astype("timedelta64[D]")
    table = pa.table(
        {
            "uscc": uscc,
            "name": name,
            "legal_rep_name": persons.column("name").take(pa.array(reps)),
            "legal_rep_id_card": persons.column("id_card").take(pa.array(reps)),
            "industry": _take([i[0] for i in _INDUSTRIES], industry),
            "district": _take([d[0] for d in DISTRICTS], district),
            "registered_capital": pa.array(capital.astype(np.float64)),
            "employees": pa.array(employees, pa.int32()),
            "founded_date": pa.array(founded, pa.date32()),
        }
    )
    return table, employees


_CONTRIB_SCHEMA = pa.schema(
    [
        ("person_id", pa.int64()),
        ("month", pa.string()),
        ("employer_uscc", pa.string()),
        ("base_amount", pa.float64()),
    ]
)


def _write_contributions(
    path: Path,
    age: np.ndarray,
    income: np.ndarray,
    uscc: pa.Array,
    employees: np.ndarray,
    rng: np.random.Generator,
    chunk: int = 200_000,
) -> None:
    scale = len(age)
    target = round(scale * 0.6)
    working = np.flatnonzero((age >= 18) & (age <= 65))
    if len(working) >= target:
        chosen = np.sort(rng.choice(working, size=target, replace=False))
    else:
        others = np.setdiff1d(np.arange(scale), working)
        chosen = np.sort(
            np.concatenate([working, rng.choice(others, size=target - len(working), replace=False)])
        )
    m = len(chosen)
    emp_p = employees.astype(np.float64) / employees.sum()
    employer = rng.choice(len(employees), size=m, p=emp_p)
    start_month = np.where(rng.random(m) < 0.8, 1, rng.integers(1, 13, size=m))
    base = np.clip(np.maximum(income[chosen], 0) / 12 * rng.uniform(0.8, 1.0, size=m), 3965.0, 19825.0)
    months = pa.array([f"2024-{k:02d}" for k in range(1, 13)], pa.string())
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, _CONTRIB_SCHEMA, **_PARQUET) as writer:
        for lo in range(0, max(m, 1), chunk):
            hi = min(lo + chunk, m)
            if hi <= lo:
                break
            n_months = 13 - start_month[lo:hi]
            rows = np.repeat(np.arange(lo, hi), n_months)
            # month index per row: start_month .. 12
            offsets = np.arange(len(rows)) - np.repeat(np.cumsum(n_months) - n_months, n_months)
            month = np.repeat(start_month[lo:hi], n_months) + offsets  # 1..12
            amount = np.round(base[rows] * np.where(month >= 7, 1.03, 1.0), 2)
            writer.write_table(
                pa.table(
                    {
                        "person_id": pa.array(chosen[rows].astype(np.int64) + 1),
                        "month": months.take(pa.array(month - 1)),
                        "employer_uscc": uscc.take(pa.array(employer[rows])),
                        "base_amount": pa.array(amount),
                    },
                    schema=_CONTRIB_SCHEMA,
                )
            )


def generate(out_dir: Path, scale: int = 100_000, seed: int = 20241120) -> dict[str, dict[str, Path]]:
    """Write the demo datasets under ``out_dir`` and return ``{dataset: {table: path}}``.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = generate(Path(tmp), scale=200, seed=1)
    ...     sorted((d, sorted(t)) for d, t in paths.items())
    [('enterprises', ['enterprises']), ('population', ['households', 'persons']), ('social_insurance', ['contributions'])]
    """
    if scale < 1:
        raise ValueError("scale must be at least 1")
    out_dir = Path(out_dir)
    rng = np.random.Generator(np.random.PCG64(seed))
    paths = {
        "population": {
            "persons": out_dir / "population" / "persons.parquet",
            "households": out_dir / "population" / "households.parquet",
        },
        "enterprises": {"enterprises": out_dir / "enterprises" / "enterprises.parquet"},
        "social_insurance": {"contributions": out_dir / "social_insurance" / "contributions.parquet"},
    }
    for tables in paths.values():
        for path in tables.values():
            path.parent.mkdir(parents=True, exist_ok=True)

    persons, district, age, income = _persons(scale, rng)
    pq.write_table(persons, paths["population"]["persons"], **_PARQUET)
    pq.write_table(_households(district, rng), paths["population"]["households"], **_PARQUET)
    enterprises, employees = _enterprises(max(1, scale // 20), persons, age, rng)
    pq.write_table(enterprises, paths["enterprises"]["enterprises"], **_PARQUET)
    _write_contributions(
        paths["social_insurance"]["contributions"],
        age,
        income,
        enterprises.column("uscc").combine_chunks(),
        employees,
        rng,
    )
    return paths
