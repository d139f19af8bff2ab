"""The demo's cast and terms: organizations, users, dataset metadata, column classification and grants."""

from __future__ import annotations

from catalog.synthetic import street_names
from common.types import DPMode, DPSettings

ORGANIZATIONS = (
    ("重庆市数据资源中心", "data_source"),
    ("重庆市公共数据资源登记中心", "registrar"),
    ("重庆市公共数据授权运营实施机构", "implementer"),
    ("渝数科技有限公司", "operator"),
    ("重庆市数据局", "supervisor"),
    ("重庆数据存证服务有限公司", "third_party"),
)

# (username, organization, role, display name) — order matches demo-tokens.json keys:
# source, registrar, implementer, operator, supervisor.
USERS = (
    ("source", "重庆市数据资源中心", "data_source", "数源单位 数据专员"),
    ("registrar", "重庆市公共数据资源登记中心", "registrar", "登记机构 审核员"),
    ("implementer", "重庆市公共数据授权运营实施机构", "implementer", "实施机构 经办人"),
    ("analyst", "渝数科技有限公司", "operator", "运营机构 分析师"),
    ("supervisor", "重庆市数据局", "supervisor", "数据主管部门 监管员"),
    ("notary", "重庆数据存证服务有限公司", "third_party", "存证机构 经办人"),
)

DATASETS = {
    "population": dict(
        title="重庆市人口基础信息（合成演示数据）",
        description="Synthetic persons and households of Chongqing's 38 district-level divisions.",
        update_frequency="monthly",
        sector="公安/统计",
        open_attribute="conditional",
    ),
    "enterprises": dict(
        title="重庆市市场主体登记信息（合成演示数据）",
        description="Synthetic enterprise registrations.",
        update_frequency="daily",
        sector="市场监管",
        open_attribute="conditional",
    ),
    "social_insurance": dict(
        title="重庆市社会保险缴费信息（合成演示数据）",
        description="Synthetic monthly social insurance contributions.",
        update_frequency="monthly",
        sector="人力社保",
        open_attribute="conditional",
    ),
}

# Graded realistically (A2, A35): identifiers and incomes of persons are personal information at 重要
# (important) level, so aggregates of them leave only under DP (policies/grading.py); demographic attributes
# are personal at 一般 (general) level; enterprise registrations are public company information (一般, not
# personal), except the legal representative's identity.
_ID = dict(level="important", personal=True)
_GENERAL = dict(level="general", personal=False, pii_tags=())
COLUMN_METADATA = {
    ("population", "persons"): {
        "person_id": dict(description="person pseudonymous key", **_ID, pii_tags=()),
        "name": dict(description="姓名", **_ID, pii_tags=("PERSON_NAME",)),
        "id_card": dict(description="居民身份证号码", **_ID, pii_tags=("CN_RESIDENT_ID",)),
        "phone": dict(description="手机号码", **_ID, pii_tags=("CN_MOBILE",)),
        "gender": dict(description="性别", level="general", personal=True, pii_tags=()),
        "birth_date": dict(description="出生日期", **_ID, pii_tags=()),
        "age": dict(
            description="年龄 (as of 2025-01-01)", level="general", personal=True, lower=0, upper=120
        ),
        "district": dict(description="区县", **_GENERAL),
        "street": dict(description="街道", **_GENERAL),
        # Contributions are clamped to [0, 500000] under DP: the bound sets the noise, and an income above it
        # counts as 500000 in sums and averages (documented in the tour).
        "income": dict(description="年收入 (CNY)", **_ID, lower=0, upper=500_000),
    },
    ("population", "households"): {
        "hh_id": dict(description="household key", **_ID),
        "person_id": dict(description="person pseudonymous key", **_ID),
        "district": dict(description="区县", **_GENERAL),
        "size": dict(description="household size", level="general", personal=True, lower=1, upper=10),
    },
    ("enterprises", "enterprises"): {
        "uscc": dict(description="统一社会信用代码", level="general", personal=False, pii_tags=("CN_USCC",)),
        "name": dict(description="企业名称", **_GENERAL),
        "legal_rep_name": dict(description="法定代表人姓名", **_ID, pii_tags=("PERSON_NAME",)),
        "legal_rep_id_card": dict(description="法定代表人身份证号码", **_ID, pii_tags=("CN_RESIDENT_ID",)),
        "industry": dict(description="行业", **_GENERAL),
        "district": dict(description="区县", **_GENERAL),
        "registered_capital": dict(description="注册资本 (CNY)", **_GENERAL, lower=0, upper=1_000_000_000),
        "employees": dict(description="从业人数", **_GENERAL, lower=0, upper=100_000),
        "founded_date": dict(description="成立日期", **_GENERAL),
    },
    ("social_insurance", "contributions"): {
        "person_id": dict(description="person pseudonymous key", **_ID),
        "month": dict(description="缴费月份 YYYY-MM", level="general", personal=True, pii_tags=()),
        "employer_uscc": dict(description="用人单位统一社会信用代码", level="general", pii_tags=("CN_USCC",)),
        "base_amount": dict(description="缴费基数 (CNY)", **_ID, lower=0, upper=25_000),
    },
}

# Persons' data under DP (its grades require it): each query spends epsilon from a monthly budget; group keys
# come from declared domains — districts and genders are public knowledge (gateway/access.py).
_KEYS = {
    "persons.street": tuple(street_names()),
    "persons.age": tuple(str(a) for a in range(0, 100)),
    "households.size": tuple(str(n) for n in range(1, 11)),
    "contributions.month": tuple(f"2024-{m:02d}" for m in range(1, 13)),
}


def _dp(*tables: str) -> DPSettings:
    domains = {key: keys for key, keys in _KEYS.items() if key.partition(".")[0] in tables}
    return DPSettings(
        mode=DPMode.required, epsilon_budget=20.0, default_epsilon=0.5, refresh="monthly", key_domains=domains
    )


# The demo operator's column rules (issue 3): they exercise every rule.
DEMO_GRANTS = {
    "population": dict(
        purpose="人口与收入结构分析（演示）",
        privacy_unit="person_id",
        k=10,
        dp=_dp("persons", "households"),
        columns={
            "persons": {
                "person_id": "join",
                "name": "deny",
                "id_card": "deny",
                "phone": "deny",
                "gender": "group",
                "district": "group",
                "street": "group",
                "age": "group",
                "income": "aggregate",
                "birth_date": "masked:year",
            },
            "households": {"person_id": "join", "hh_id": "deny", "district": "group", "size": "group"},
        },
    ),
    "social_insurance": dict(
        purpose="社保缴费与就业分析（演示）",
        privacy_unit="person_id",
        k=10,
        dp=_dp("contributions"),
        columns={
            "contributions": {
                "person_id": "join",
                "employer_uscc": "join",
                "month": "group",
                "base_amount": "aggregate",
            }
        },
    ),
    # Public company information (not personal, 一般): k-only aggregates and row-level names, no DP.
    "enterprises": dict(
        purpose="市场主体结构分析（演示）",
        privacy_unit="uscc",
        k=10,
        columns={
            "enterprises": {
                "uscc": "join",
                "legal_rep_name": "deny",
                "legal_rep_id_card": "deny",
                "name": "plain",
                "industry": "group",
                "district": "group",
                "registered_capital": "aggregate",
                "employees": "aggregate",
            }
        },
    ),
}
