"""Credit policy the justification report shows: grade meanings, measures and metric families."""

from __future__ import annotations

import re

from pingji.report.labels import Pair

CORE_CREDIT = ("days_past_due", "late_payments_24m", "defaults_on_record", "lawsuits")

SOLVENCY_GROUP = re.compile(r"solv|capac|repay|debt|leverage|liquid|偿债|还款", re.IGNORECASE)
SOLVENCY_METRIC = re.compile(r"current_ratio|quick|debt|coverage|dscr|dsr|leverage|gearing|ocf|cash_to|liquid",
                              re.IGNORECASE)

# --- guidance text (not a rating decision): measures by grade and by reason code --------------------
GRADE_MEANING: dict[str, Pair] = {
    "A": ("优质：信用良好，还款能力强", "Good: sound credit, strong repayment capacity"),
    "B": ("一般：还款能力尚可，存在一定风险", "Fair: adequate repayment capacity, some risk"),
    "C": ("不良：信用较差，还款能力弱", "Poor: weak credit, weak repayment capacity"),
}

GRADE_MEASURES: dict[str, list[Pair]] = {
    "A": [
        ("可按正常或优惠条件授信，可适用优惠利率并适当提高授信额度。",
         "Credit may be granted on normal or preferential terms, with preferential pricing and a larger line."),
        ("每年复评一次；出现重大不利信息时立即复评。",
         "Re-rate annually, and at once on material adverse information."),
        ("常规贷后管理。", "Routine post-loan monitoring."),
    ],
    "B": [
        ("可按正常条件授信，按风险定价，审慎确定额度。",
         "Normal terms with risk-based pricing and a prudent credit line."),
        ("加强贷后监控，跟踪预警信号。", "Monitor closely and track early-warning signals."),
        ("每半年复评一次。", "Re-rate semi-annually."),
    ],
    "C": [
        ("限制或压缩授信；如需授信，须追加足值抵质押或强担保。",
         "Restrict or reduce credit; any new credit requires adequate collateral or a strong guarantee."),
        ("每季度复评一次。", "Re-rate quarterly."),
        ("纳入问题贷款跟踪，制定风险化解和清收预案。",
         "Track as a problem loan, with a remediation and recovery plan."),
        ("复核资产质量五级分类及拨备计提。", "Review the five-category classification and provisions."),
    ],
}

# First match on the factor id wins.
REASON_MEASURES: list[tuple[tuple[str, ...], Pair]] = [
    (("current_ratio", "quick_ratio", "cash_flow_ratio", "liquid", "cash_to_short"),
     ("改善流动性：增加现金及流动资产，优化短期负债结构。",
      "Improve liquidity: build cash and current assets, term out short-term liabilities.")),
    (("debt_to_assets", "debt_ratio", "leverage", "gearing", "net_worth", "equity"),
     ("降低杠杆：控制新增负债，补充资本。", "Reduce leverage: limit new borrowing, strengthen equity.")),
    (("interest_coverage", "dscr", "debt_service", "ocf_to_debt", "residual_income"),
     ("增强偿债能力：提高经营现金流，使还款计划与现金流匹配。",
      "Strengthen debt service: raise operating cash flow and match repayments to it.")),
    (("margin", "roa", "roe", "profit"),
     ("提升盈利能力：控制成本，改善定价。", "Improve profitability: cost control and pricing.")),
    (("inventory_days", "receivable_days", "turnover"),
     ("加快周转：压降存货，加强应收账款回收。", "Speed up turnover: reduce inventory, collect receivables.")),
    (("growth", "sales", "revenue", "asset_size", "scale", "income_level"),
     ("关注经营规模与增长：核实销售趋势和订单。", "Watch scale and growth: verify the sales trend and order book.")),
    (("management", "owner_character", "governance"),
     ("完善管理与治理，安排补充定性评估。", "Strengthen management and governance; obtain a further qualitative review.")),
    (("market", "industry", "natural_risk", "project", "production", "operations"),
     ("关注行业与经营风险，定期走访。", "Monitor business and industry risk; visit regularly.")),
    (("repayment", "late_payment", "default", "overdue", "credit_history", "enquiries", "card_utilisation"),
     ("关注还款记录：授信前核查逾期及征信报告。",
      "Watch repayment conduct: check arrears and the credit bureau report before lending.")),
    (("collateral", "guarantee"),
     ("加强担保：追加抵质押或保证。", "Strengthen security: additional collateral or guarantees.")),
    (("employment", "age", "income_stability", "stability"),
     ("核实收入稳定性及就业情况。", "Verify income stability and employment.")),
]
REASON_MISSING: Pair = ("补充该因子所需的缺失资料后复评。", "Obtain the missing data for this factor and re-rate.")
REASON_UNDEFINED: Pair = ("核实数据：该指标无定义（如分母为零）。",
                           "Check the data: the indicator is undefined (e.g. a zero denominator).")
REASON_DEFAULT: Pair = ("复核该因子及其输入数据。", "Review this factor and the data behind it.")
TOP_REASONS = 3
