"""The justification report of one stored evaluation, as GitHub-flavoured Markdown or one HTML page.

A *record* is what the store keeps for an evaluation: `Evaluation.to_dict()` plus
`evaluation_id`, `evaluated_at` (UTC ISO string), `facts` (the customer's facts snapshot) and
`expert_overrides` (reviewers' changes of the grade). Reports are pure functions of the record:
the same record gives the same bytes (no clock, no locale, no environment).

Sections: 1 customer basics, 2 operations, 3 financial indicators, 4 repayment capacity,
5 factor-by-factor scores, 6 rulebook overrides, 7 expert overrides, 8 the grade and its meaning,
9 recommended measures (guidance text, not a rating decision), 10 provenance, and the full trace
as an appendix. Anything missing from the record or the facts is shown as missing, never a crash.

Escaping: every piece of customer, reviewer or rulebook text goes through `_esc` (Markdown and
HTML metacharacters neutralised) or `_code` (a code span, only when that is safe), so the HTML
made from the Markdown by the `markdown` package cannot carry markup from the data.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import markdown as _markdown

__all__ = ["LANGS", "render_html", "render_markdown"]

LANGS = ("zh", "en")

Pair = tuple[str, str]  # (Chinese, English)
_DASH = "—"

# ------------------------------------------------------------------------------------------------
# Labels
# ------------------------------------------------------------------------------------------------

_SECTIONS: dict[str, Pair] = {
    "title": ("客户信用评级报告", "Credit rating report"),
    "basics": ("客户基本情况", "Customer basics"),
    "operations": ("经营状况", "Operations"),
    "qual_scores": ("定性因子评分", "Qualitative factor scores"),
    "assessments": ("专家评估记录", "Assessments on file"),
    "financial": ("财务指标", "Financial indicators"),
    "metrics": ("指标计算", "Indicators as computed"),
    "statements": ("财务数据", "Financial data"),
    "other_facts": ("其他事实数据", "Other facts supplied"),
    "repayment": ("偿债能力", "Repayment capacity"),
    "solvency": ("偿债类指标", "Solvency indicators"),
    "credit": ("信用记录", "Credit record"),
    "security": ("抵质押与保证", "Collateral and guarantees"),
    "scores": ("逐项评分", "Factor-by-factor scores"),
    "groups": ("分组小计与总分", "Group subtotals and total"),
    "overrides": ("规则调整", "Rulebook overrides"),
    "expert": ("专家调整", "Expert overrides"),
    "grade": ("评级结果及含义", "The grade and its meaning"),
    "reasons": ("原因码：失分最多的因子", "Reason codes: the factors that cost the most points"),
    "measures": ("建议措施", "Recommended measures"),
    "provenance": ("依据与溯源", "Provenance"),
    "trace": ("附录：规则触发轨迹", "Appendix: rule trace"),
}

_WORDS: dict[str, Pair] = {
    "customer": ("客户", "Customer"),
    "evaluation": ("评级编号", "Evaluation"),
    "evaluated_at": ("评级时间", "Evaluated at"),
    "rulebook": ("评级规则", "Rulebook"),
    "final_grade": ("最终等级", "Final grade"),
    "model_grade": ("模型等级", "Model grade"),
    "coarse_grade": ("对应三级等级", "Coarse grade"),
    "grade_title": ("等级名称", "Grade title"),
    "grade_meaning": ("等级释义", "Grade meaning"),
    "expert_grade": ("专家调整后等级", "Grade after expert override"),
    "pd": ("违约概率", "PD"),
    "total": ("总分", "Total score"),
    "item": ("项目", "Item"),
    "value": ("内容", "Value"),
    "number": ("数值", "Value"),
    "appraised": ("评估价值", "Appraised value"),
    "category": ("类别", "Category"),
    "amount": ("金额", "Amount"),
    "current": ("本期", "Current"),
    "previous": ("上期", "Previous"),
    "change": ("变动", "Change"),
    "indicator": ("指标", "Indicator"),
    "status": ("状态", "Status"),
    "inputs": ("输入", "Inputs"),
    "expression": ("计算公式", "Expression"),
    "location": ("规则位置", "Rulebook line"),
    "factor": ("因子", "Factor"),
    "group": ("分组", "Group"),
    "weight": ("权重", "Weight"),
    "points": ("得分", "Points"),
    "contribution": ("贡献", "Contribution"),
    "basis": ("依据", "Basis"),
    "subtotal": ("小计", "Subtotal"),
    "assessor": ("评估人", "Assessor"),
    "level": ("等级", "Level"),
    "levels": ("评估等级", "Levels"),
    "date": ("日期", "Date"),
    "comment": ("评语", "Comment"),
    "override": ("调整规则", "Override"),
    "condition": ("触发条件", "Condition"),
    "matched_values": ("实际值", "Values"),
    "action": ("调整", "Action"),
    "reason": ("原因", "Reason"),
    "applied": ("是否生效", "Applied"),
    "time": ("时间", "Time"),
    "reviewer": ("调整人", "Reviewer"),
    "old_new": ("原等级 → 新等级", "Old → new"),
    "approved_by": ("审批人", "Approved by"),
    "rank": ("序号", "Rank"),
    "points_lost": ("损失分数", "Points lost"),
    "measure": ("措施", "Measure"),
    "seq": ("序号", "Seq"),
    "rule": ("规则", "Rule"),
    "kind": ("类型", "Kind"),
    "at": ("位置", "At"),
    "matched": ("匹配", "Matched"),
    "asserted": ("断言", "Asserted"),
    "note": ("说明", "Note"),
    "type": ("类型", "Type"),
    "description": ("说明", "Description"),
    "haircut": ("折扣率", "Haircut"),
    "net_value": ("折后价值", "Net value"),
    "valuation_date": ("评估日期", "Valuation date"),
    "lien_rank": ("抵押顺位", "Lien rank"),
    "guarantor": ("保证人", "Guarantor"),
    "strength": ("保证能力", "Strength"),
    "joint": ("连带责任", "Joint and several"),
    "total_row": ("合计", "Total"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "ok": ("正常", "ok"),
    "missing": ("缺失", "missing"),
    "undefined": ("无定义", "undefined"),
    "array": ("数组", "array"),
    "not_provided": ("未提供", "not provided"),
    "none": ("无", "none"),
    "path": ("字段", "Field"),
    "rulebook_id": ("规则编号", "Rulebook id"),
    "rulebook_title": ("规则名称", "Rulebook title"),
    "version": ("版本", "Version"),
    "hash": ("内容哈希 (SHA-256)", "Content hash (SHA-256)"),
    "file": ("规则文件", "Rulebook file"),
    "engine": ("引擎版本", "Engine version"),
    "facts_hash": ("事实数据哈希 (SHA-256)", "Facts hash (SHA-256)"),
    "customer_id": ("客户编号", "Customer id"),
    "name": ("客户名称", "Name"),
    "customer_type": ("客户类型", "Customer type"),
    "as_of": ("数据日期", "Facts as of"),
    "exposure": ("授信金额", "Exposure"),
    "combination": ("组合规则", "How overrides combined"),
    "defined_at": ("等级定义位置", "Grade defined at"),
    "unsecured": ("无抵质押（信用方式）", "none (unsecured)"),
}

_NOTES: dict[str, Pair] = {
    "unit_corporate": ("金额单位：千元人民币。", "Amounts in CNY thousands."),
    "unit_retail": ("金额单位：元人民币。", "Amounts in CNY."),
    "no_assessments": ("无定性评估记录。", "No qualitative assessments on file."),
    "no_qual_factors": ("本规则无定性评分因子。", "This rulebook has no qualitatively assessed factors."),
    "no_metrics": ("无指标计算记录。", "No indicators were computed."),
    "no_statements": ("事实数据中无财务报表数据。", "The facts hold no financial statement data."),
    "no_solvency": ("无偿债类指标。", "No solvency indicators."),
    "no_security": ("事实数据中无抵质押或保证信息。", "The facts hold no collateral or guarantee data."),
    "no_guarantees": ("无第三方保证。", "No third-party guarantees."),
    "no_factors": ("无因子评分记录。", "No factor scores recorded."),
    "no_overrides": ("本次评级未触发任何规则调整。", "No override condition was met."),
    "overrides_scope": ("仅列出条件成立的调整规则；未触发的规则见评级规则文件。",
                        "Only overrides whose condition was met are listed; the rest are in the rulebook."),
    "no_expert": ("无专家调整。", "No expert override."),
    "no_reasons": ("无失分因子。", "No factor lost points."),
    "no_trace": ("无轨迹记录。", "No trace recorded."),
    "measures_disclaimer": (
        "以下为参考性指引文字，由等级和主要失分因子自动生成，不构成评级结论或授信决定；"
        "具体授信方案以信贷政策和审批意见为准。",
        "Guidance text only, generated from the grade and the top reason codes: not a rating or "
        "credit decision. Credit terms follow the credit policy and the approval.",
    ),
    "measures_grade": ("按等级", "By grade"),
    "measures_reasons": ("按主要失分因子", "By top reason codes"),
    "no_grade_guidance": ("该等级无预设指引文字，请依据信贷政策。",
                          "No guidance text for this grade; follow the credit policy."),
    "expert_basis": ("以下措施依据专家调整后的等级。", "Measures follow the grade after expert override."),
    "expert_unmapped": ("专家调整后的等级无法对应到三级等级，以下措施依据规则评定等级。",
                        "The expert grade does not map to a coarse grade; measures follow the rulebook grade."),
    "trace_intro": ("按触发顺序列出每条规则：位置为评级规则文件的行号，匹配为其读取的值，断言为其得出的事实。",
                    "Every rule in firing order: At is its rulebook line, Matched the values it read, "
                    "Asserted what it concluded."),
}

_ENUMS: dict[str, dict[str, Pair]] = {
    "customer_type": {"corporate": ("企业", "Corporate"), "individual": ("个人", "Individual"),
                      "small_business": ("个体工商户", "Small business")},
    "size": {"micro": ("微型", "Micro"), "small": ("小型", "Small"), "medium": ("中型", "Medium"),
             "large": ("大型", "Large")},
    "ownership": {"state": ("国有", "State-owned"), "private": ("民营", "Private"), "foreign": ("外资", "Foreign"),
                  "collective": ("集体", "Collective"), "mixed": ("混合所有制", "Mixed ownership")},
    "employment_type": {"civil_servant": ("公务员/事业单位", "Civil servant / public institution"),
                        "employee": ("企业员工", "Employee"), "self_employed": ("自雇/个体", "Self-employed"),
                        "retired": ("退休", "Retired"), "unemployed": ("无业", "Unemployed"),
                        "other": ("其他", "Other")},
    "marital_status": {"single": ("未婚", "Single"), "married": ("已婚", "Married"),
                       "divorced": ("离异", "Divorced"), "widowed": ("丧偶", "Widowed")},
    "housing": {"owned": ("自有", "Owned"), "mortgaged": ("按揭", "Mortgaged"), "rented": ("租住", "Rented"),
                "family": ("与家人同住", "With family"), "other": ("其他", "Other")},
    "education": {"below_high_school": ("高中以下", "Below high school"), "high_school": ("高中/中专", "High school"),
                  "college": ("大专", "College"), "bachelor": ("本科", "Bachelor"),
                  "postgraduate": ("研究生", "Postgraduate")},
    "premises": {"owned": ("自有", "Owned"), "rented": ("租赁", "Rented"), "market_stall": ("市场摊位", "Market stall"),
                 "online": ("网店", "Online"), "other": ("其他", "Other")},
    "collateral_type": {"real_estate": ("房产", "Real estate"), "equipment": ("机器设备", "Equipment"),
                        "receivables": ("应收账款质押", "Receivables"), "deposit": ("存单/保证金", "Deposit"),
                        "securities": ("有价证券", "Securities"), "inventory": ("存货", "Inventory"),
                        "land_use_right": ("土地使用权", "Land-use right"), "vehicle": ("车辆", "Vehicle")},
    "guarantee_type": {"corporate": ("企业", "Corporate"), "individual": ("自然人", "Individual"),
                       "guarantee_company": ("融资担保公司", "Guarantee company"), "bank": ("银行保函", "Bank")},
    "strength": {"strong": ("强", "Strong"), "adequate": ("一般", "Adequate"), "weak": ("弱", "Weak")},
    "purpose": {"mortgage": ("住房按揭", "Mortgage"), "car": ("汽车", "Car"), "consumer": ("消费", "Consumer"),
                "business": ("经营", "Business"), "working_capital": ("流动资金", "Working capital"),
                "equipment": ("设备", "Equipment"), "premises": ("经营场所", "Premises"), "other": ("其他", "Other")},
}

# GB/T 4754-2017 sections.
_INDUSTRY_SECTIONS: dict[str, Pair] = {
    "A": ("农、林、牧、渔业", "Agriculture, forestry, animal husbandry and fishery"),
    "B": ("采矿业", "Mining"),
    "C": ("制造业", "Manufacturing"),
    "D": ("电力、热力、燃气及水生产和供应业", "Electricity, heat, gas and water supply"),
    "E": ("建筑业", "Construction"),
    "F": ("批发和零售业", "Wholesale and retail"),
    "G": ("交通运输、仓储和邮政业", "Transport, storage and post"),
    "H": ("住宿和餐饮业", "Accommodation and catering"),
    "I": ("信息传输、软件和信息技术服务业", "Information transmission, software and IT services"),
    "J": ("金融业", "Finance"),
    "K": ("房地产业", "Real estate"),
    "L": ("租赁和商务服务业", "Leasing and business services"),
    "M": ("科学研究和技术服务业", "Scientific research and technical services"),
    "N": ("水利、环境和公共设施管理业", "Water, environment and public facilities"),
    "O": ("居民服务、修理和其他服务业", "Resident services, repair and other services"),
    "P": ("教育", "Education"),
    "Q": ("卫生和社会工作", "Health and social work"),
    "R": ("文化、体育和娱乐业", "Culture, sports and entertainment"),
    "S": ("公共管理、社会保障和社会组织", "Public administration and social organisations"),
    "T": ("国际组织", "International organisations"),
}

# Field labels by leaf name; sections by top-level key.
_FIELDS: dict[str, Pair] = {
    # corporate identity
    "registration": ("统一社会信用代码/执照号", "Registration code"),
    "industry.section": ("行业门类 (GB/T 4754)", "Industry section (GB/T 4754)"),
    "industry.division": ("行业大类", "Industry division"),
    "size": ("企业规模", "Size"),
    "years_in_business": ("经营年限（年）", "Years in business"),
    "employees": ("员工人数", "Employees"),
    "ownership": ("所有制", "Ownership"),
    "premises": ("经营场所", "Premises"),
    "licence_valid": ("执照及许可有效", "Licence valid"),
    # persons
    "id_number": ("身份证号", "ID number"),
    "age": ("年龄", "Age"),
    "occupation": ("职业", "Occupation"),
    "employment_type": ("就业类型", "Employment type"),
    "employer": ("工作单位", "Employer"),
    "employment_years": ("现职年限（年）", "Years in current job"),
    "marital_status": ("婚姻状况", "Marital status"),
    "dependants": ("供养人数", "Dependants"),
    "housing": ("居住状况", "Housing"),
    "residence_years": ("现址居住年限（年）", "Years at residence"),
    "education": ("学历", "Education"),
    # statements
    "statement_date": ("报表日期", "Statement date"),
    "audited": ("是否审计", "Audited"),
    "current_assets": ("流动资产合计", "Current assets"),
    "cash": ("货币资金", "Cash"),
    "receivables": ("应收账款及票据", "Receivables"),
    "inventory": ("存货", "Inventory"),
    "total_assets": ("资产总计", "Total assets"),
    "current_liabilities": ("流动负债合计", "Current liabilities"),
    "total_liabilities": ("负债合计", "Total liabilities"),
    "total_debt": ("有息负债", "Interest-bearing debt"),
    "short_term_debt": ("短期有息负债", "Short-term debt"),
    "advance_receipts": ("预收款项/合同负债", "Advance receipts"),
    "equity": ("所有者权益", "Equity"),
    "revenue": ("营业收入", "Revenue"),
    "cost_of_sales": ("营业成本", "Cost of sales"),
    "ebit": ("息税前利润", "EBIT"),
    "ebitda": ("息税折旧摊销前利润", "EBITDA"),
    "interest_expense": ("利息费用", "Interest expense"),
    "net_income": ("净利润", "Net income"),
    "operating_cash_flow": ("经营活动现金流量净额", "Operating cash flow"),
    "debt_service": ("未来12个月应还本息", "Debt service (next 12 months)"),
    # individuals and small businesses
    "monthly_income": ("月收入（税后）", "Monthly income (after tax)"),
    "other_monthly_income": ("其他月收入", "Other monthly income"),
    "income_verified": ("收入已核实", "Income verified"),
    "monthly_household_expenses": ("家庭月支出", "Monthly household expenses"),
    "monthly_expenses": ("家庭月支出", "Monthly expenses"),
    "deposits": ("存款及现金", "Deposits and cash"),
    "investments": ("投资", "Investments"),
    "real_estate": ("房产", "Real estate"),
    "vehicles": ("车辆", "Vehicles"),
    "other": ("其他", "Other"),
    "monthly_repayments": ("月还款额", "Monthly repayments"),
    "credit_card_limit": ("信用卡额度", "Credit card limit"),
    "credit_card_balance": ("信用卡已用额度", "Credit card balance"),
    "purpose": ("贷款用途", "Purpose"),
    "term_months": ("期限（月）", "Term (months)"),
    "monthly_repayment": ("新增贷款月供", "Monthly repayment of this loan"),
    "annual_revenue": ("近12个月销售额", "Annual revenue"),
    "previous_annual_revenue": ("前12个月销售额", "Previous annual revenue"),
    "annual_net_profit": ("近12个月净利润", "Annual net profit"),
    "fixed_assets": ("经营性固定资产", "Fixed assets"),
    "debt": ("负债余额", "Debt"),
    "assets": ("资产", "Assets"),
    "sales_verified": ("销售额已核实", "Sales verified"),
    # credit record
    "days_past_due": ("当前逾期天数", "Days past due"),
    "worst_days_past_due_24m": ("近24个月最长逾期天数", "Worst days past due (24 months)"),
    "late_payments_24m": ("近24个月逾期还款次数", "Late payments (24 months)"),
    "defaults_on_record": ("违约记录数", "Defaults on record"),
    "lawsuits": ("未决诉讼数（被告）", "Pending lawsuits"),
    "restructured_loans": ("观察期内重组贷款数", "Restructured loans"),
    "fraud_flag": ("欺诈记录", "Fraud on record"),
    "external_rating_downgrade": ("外部评级下调", "External rating downgrade"),
    "credit_history_months": ("信用历史（月）", "Credit history (months)"),
    "enquiries_6m": ("近6个月硬查询次数", "Hard enquiries (6 months)"),
    "strong_guarantee": ("有强担保", "Strong guarantee on file"),
    # where a leaf name means something else in its section
    "debts.total_debt": ("负债余额", "Total debt outstanding"),
    "business.debt": ("经营负债", "Business debt"),
    "household.debt": ("个人负债", "Personal debt"),
    "household.assets": ("家庭资产", "Household assets"),
}

_STATEMENT_SECTIONS: dict[str, Pair] = {
    "income": ("收入", "Income"), "expenses": ("支出", "Expenses"), "assets": ("资产", "Assets"),
    "debts": ("负债", "Debts"), "loan": ("本笔贷款", "This loan"), "business": ("经营数据", "Business"),
    "household": ("家庭", "Household"),
}
_STATEMENT_SECTIONS["loan"] = _STATEMENT_SECTIONS.pop("loan")  # the loan applied for comes last

# Numbers in these places are counts, periods or fractions, not amounts of money.
_NOT_MONEY = {"term_months", "years_in_business", "employees", "age", "employment_years", "dependants",
              "residence_years", "haircut", "lien_rank", "days_past_due", "worst_days_past_due_24m",
              "late_payments_24m", "defaults_on_record", "lawsuits", "restructured_loans",
              "credit_history_months", "enquiries_6m"}
_MONEY = {k for k in _FIELDS if k not in _NOT_MONEY and "." not in k} | {"exposure", "value", "amount"}

_CORE_CREDIT = ("days_past_due", "late_payments_24m", "defaults_on_record", "lawsuits")

_SOLVENCY_GROUP = re.compile(r"solv|capac|repay|debt|leverage|liquid|偿债|还款", re.IGNORECASE)
_SOLVENCY_METRIC = re.compile(r"current_ratio|quick|debt|coverage|dscr|dsr|leverage|gearing|ocf|cash_to|liquid",
                              re.IGNORECASE)

# --- guidance text (not a rating decision): measures by grade and by reason code --------------------
_GRADE_MEANING: dict[str, Pair] = {
    "A": ("优质：信用良好，还款能力强", "Good: sound credit, strong repayment capacity"),
    "B": ("一般：还款能力尚可，存在一定风险", "Fair: adequate repayment capacity, some risk"),
    "C": ("不良：信用较差，还款能力弱", "Poor: weak credit, weak repayment capacity"),
}

_GRADE_MEASURES: dict[str, list[Pair]] = {
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
_REASON_MEASURES: list[tuple[tuple[str, ...], Pair]] = [
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
_REASON_MISSING: Pair = ("补充该因子所需的缺失资料后复评。", "Obtain the missing data for this factor and re-rate.")
_REASON_UNDEFINED: Pair = ("核实数据：该指标无定义（如分母为零）。",
                           "Check the data: the indicator is undefined (e.g. a zero denominator).")
_REASON_DEFAULT: Pair = ("复核该因子及其输入数据。", "Review this factor and the data behind it.")
_TOP_REASONS = 3

_CN_NUMERALS = "一二三四五六七八九十"

# ------------------------------------------------------------------------------------------------
# Formatting and escaping
# ------------------------------------------------------------------------------------------------

_ENTITY_LIKE = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]#])")


def _esc(value: Any) -> str:
    """Plain text for a Markdown paragraph or table cell: no markup, no HTML, one line."""
    s = str(value)
    s = " ".join(s.split())  # newlines and tabs would break a table row
    s = _MD_SPECIAL.sub(r"\\\1", s)
    s = _ENTITY_LIKE.sub("&amp;", s)
    s = s.replace("<", "&lt;").replace("|", "\\|").replace("~", "&#126;")
    return s


def _code(value: Any) -> str:
    """A code span when that is safe (no backtick or pipe inside), else escaped plain text."""
    s = " ".join(str(value).split())
    if not s:
        return _DASH
    if "`" in s or "|" in s or "\\" in s:
        return _esc(s)
    return f"`{s}`"


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _decimal(v: int | float) -> Decimal | None:
    try:
        d = Decimal(v) if isinstance(v, int) else Decimal(repr(float(v)))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def _dec(v: Any) -> Decimal:
    """An int or float (already checked by `_is_number`) as the Decimal of its shortest repr."""
    return Decimal(v) if isinstance(v, int) else Decimal(repr(float(v)))


def fmt_fixed(v: Any, places: int) -> str:
    """A number rounded half-up (on its decimal representation) to `places`, with thousands separators."""
    if not _is_number(v):
        return _DASH if v is None else _esc(v)
    d = _decimal(v)
    if d is None:
        return _esc(v)
    places = max(0, int(places))
    q = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if q == 0:
        q = abs(q)  # no "-0.00"
    return f"{q:,f}"


def fmt_money(v: Any) -> str:
    """An amount: thousands separators, exactly two decimals, half-up: 1234.005 → 1,234.01."""
    return fmt_fixed(v, 2)


def fmt_number(v: Any) -> str:
    """A number as given (no rounding), with thousands separators: 2000 → 2,000; 0.0876 → 0.0876."""
    if not _is_number(v):
        return _DASH if v is None else _esc(v)
    d = _decimal(v)
    if d is None:
        return _esc(v)
    if d == d.to_integral_value() and abs(d) < Decimal(10) ** 15:
        return f"{int(d):,}"
    return f"{d.normalize():,f}"


def fmt_percent(v: Any) -> str:
    """A probability as a percentage, at least two decimals, more when the value has them: 0.005 → 0.50%."""
    if not _is_number(v):
        return _DASH
    d = _decimal(v)
    if d is None:
        return _DASH
    pct = (d * 100).normalize()
    exponent = pct.as_tuple().exponent
    places = max(2, min(6, -exponent if isinstance(exponent, int) else 2))
    return f"{pct.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):f}%"


def _as_map(v: Any) -> Mapping[str, Any]:
    return v if isinstance(v, Mapping) else {}


def _as_list(v: Any) -> list[Any]:
    return list(v) if isinstance(v, Sequence) and not isinstance(v, str | bytes) else []


def _compact_json(v: Any) -> str:
    try:
        return json.dumps(v, ensure_ascii=False, separators=(", ", ": "), default=str)
    except (TypeError, ValueError):
        return str(v)


# ------------------------------------------------------------------------------------------------
# The document being written
# ------------------------------------------------------------------------------------------------


class _Doc:
    """Markdown blocks in one language; every helper takes already-escaped cell text."""

    def __init__(self, lang: str):
        self.lang = lang
        self.blocks: list[str] = []
        self.section_no = 0
        self.sub_no = 0

    def t(self, pair: Pair) -> str:
        return pair[0] if self.lang == "zh" else pair[1]

    def w(self, key: str) -> str:
        return self.t(_WORDS[key])

    def note(self, key: str) -> str:
        return self.t(_NOTES[key])

    def pick(self, texts: Any, fallback: str = "") -> str:
        """The text in this language from a {zh, en} mapping, else the other one, else fallback."""
        if isinstance(texts, Mapping):
            other = "en" if self.lang == "zh" else "zh"
            for key in (self.lang, other):
                if texts.get(key):
                    return str(texts[key])
            return fallback
        return str(texts) if texts else fallback

    def heading_text(self, key: str) -> str:
        zh, en = _SECTIONS[key]
        return f"{zh} ({en})" if self.lang == "zh" else en

    def title(self, key: str) -> None:
        self.blocks.append(f"# {self.heading_text(key)}")

    def section(self, key: str) -> None:
        self.section_no += 1
        self.sub_no = 0
        n = self.section_no
        if self.lang == "zh":
            number = _CN_NUMERALS[n - 1] if n <= len(_CN_NUMERALS) else str(n)
            self.blocks.append(f"## {number}、{self.heading_text(key)}")
        else:
            self.blocks.append(f"## {n}. {self.heading_text(key)}")

    def appendix(self, key: str) -> None:
        self.blocks.append(f"## {self.heading_text(key)}")

    def subsection(self, key: str) -> None:
        self.sub_no += 1
        self.blocks.append(f"### {self.section_no}.{self.sub_no} {self.heading_text(key)}")

    def para(self, text: str) -> None:
        self.blocks.append(text)

    def bullets(self, items: list[str]) -> None:
        if items:
            self.blocks.append("\n".join(f"- {item}" for item in items))

    def table(self, headers: list[str], rows: list[list[str]], align: str = "") -> None:
        """A GFM table; `align` has one letter per column: l(eft) or r(ight)."""
        width = len(headers)
        seps = [("---:" if align[i:i + 1] == "r" else "---") for i in range(width)]
        lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(seps) + " |"]
        for row in rows:
            if len(row) != width:  # pragma: no cover - a programming error in this module
                raise ValueError(f"table row has {len(row)} cells; the header has {width}")
            lines.append("| " + " | ".join(cell if cell.strip() else _DASH for cell in row) + " |")
        self.blocks.append("\n".join(lines))

    def kv(self, rows: list[tuple[str, str]]) -> None:
        self.table([self.w("item"), self.w("value")], [[k, v] for k, v in rows])

    def text(self) -> str:
        return "\n\n".join(self.blocks) + "\n"


# ------------------------------------------------------------------------------------------------
# Reading the record
# ------------------------------------------------------------------------------------------------


class _View:
    """Lookups over a record that never fail: absent parts read as empty."""

    def __init__(self, record: Mapping[str, Any]):
        self.r = record
        self.facts = _as_map(record.get("facts"))
        self.factors = [f for f in _as_list(record.get("factors")) if isinstance(f, Mapping)]
        self.groups = [g for g in _as_list(record.get("groups")) if isinstance(g, Mapping)]
        self.metrics = _as_map(record.get("metrics"))
        self.trace = [row for row in _as_list(record.get("trace")) if isinstance(row, Mapping)]
        self.overrides = [o for o in _as_list(record.get("overrides")) if isinstance(o, Mapping)]
        experts = [e for e in _as_list(record.get("expert_overrides")) if isinstance(e, Mapping)]
        # chronological; ties keep their stored order
        self.experts = [e for _, e in sorted(enumerate(experts), key=lambda p: (str(p[1].get("at") or ""), p[0]))]
        self.group_of = {str(f.get("id")): str(f.get("group", "")) for f in self.factors}
        self.metric_factor = self._metric_factors()

    def _metric_factors(self) -> dict[str, str]:
        """metric id → the factor scored on it (from the factor dict when it says, else the trace)."""
        out: dict[str, str] = {}
        for f in self.factors:
            if f.get("metric"):
                out.setdefault(str(f["metric"]), str(f.get("id")))
        for row in self.trace:
            if row.get("kind") in ("band", "undefined"):
                matched, asserted = _as_map(row.get("matched")), _as_map(row.get("asserted"))
                if matched.get("metric") and asserted.get("factor"):
                    out.setdefault(str(matched["metric"]), str(asserted["factor"]))
        for f in self.factors:
            fid = str(f.get("id"))
            if fid in self.metrics:
                out.setdefault(fid, fid)
        return out

    def is_qualitative(self, f: Mapping[str, Any]) -> bool:
        kind = f.get("kind")
        if kind is not None:
            return kind == "assessed"
        if f.get("assessed") or f.get("assessments"):
            return True
        rule = str(f.get("rule", ""))
        if rule.endswith(".aggregate") or ".level" in rule:
            return True
        if rule.endswith(".missing"):  # a factor without input: qualitative unless a metric feeds it
            fid = str(f.get("id"))
            return fid not in self.metric_factor.values() and fid not in self.metrics
        return False

    def group_title(self, doc: _Doc, gid: str) -> str:
        for g in self.groups:
            if str(g.get("id")) == gid:
                return doc.pick(g.get("title"), gid)
        return gid

    def meaning_row(self) -> Mapping[str, Any]:
        for row in reversed(self.trace):
            if str(row.get("rule", "")).startswith("meaning."):
                return row
        return {}

    def combination_note(self) -> str:
        for row in reversed(self.trace):
            if row.get("kind") == "final" or row.get("rule") == "final":
                return str(row.get("note", ""))
        return ""

    def customer_type(self) -> str:
        return str(self.facts.get("customer_type") or "")

    def customer_id(self) -> str:
        return str(_as_map(self.r.get("customer")).get("id") or self.facts.get("id") or "")


# ------------------------------------------------------------------------------------------------
# Cells
# ------------------------------------------------------------------------------------------------


def _label(doc: _Doc, key: str) -> str:
    pair = _FIELDS.get(key) or _FIELDS.get(key.rsplit(".", 1)[-1])
    return _esc(doc.t(pair)) if pair else _code(key)


def _value(doc: _Doc, key: str, v: Any, money: bool | None = None) -> str:
    """One fact value: enums translated, booleans as yes/no, amounts as money, the rest as given."""
    leaf = key.rsplit(".", 1)[-1]
    if v is None:
        return doc.w("not_provided")
    if isinstance(v, bool):
        return doc.w("yes") if v else doc.w("no")
    if _is_number(v):
        as_money = (leaf in _MONEY) if money is None else money
        return fmt_money(v) if as_money and leaf not in _NOT_MONEY else fmt_number(v)
    if isinstance(v, str):
        table = _ENUMS.get(leaf)
        if table and v in table:
            return f"{_esc(doc.t(table[v]))} ({_code(v)})"
        return _esc(v)
    return _code(_compact_json(v))


def _factor_label(doc: _Doc, f: Mapping[str, Any]) -> str:
    fid = str(f.get("id") or f.get("factor") or "")
    title = doc.pick(f.get("title"), fid)
    if title and title != fid:
        return f"{_esc(title)} {_code(fid)}"
    return _code(fid)


def _metric_label(doc: _Doc, view: _View, mid: str, row: Mapping[str, Any]) -> str:
    title = doc.pick(row.get("title"))
    if not title:
        fid = view.metric_factor.get(mid)
        for f in view.factors:
            if str(f.get("id")) == fid:
                title = doc.pick(f.get("title"))
    if title and title != mid:
        return f"{_esc(title)} {_code(mid)}"
    return _code(mid)


def _status(doc: _Doc, status: Any) -> str:
    s = str(status or "")
    if s in ("ok", "missing", "undefined"):
        return doc.w(s) if doc.lang == "en" or s == "ok" else f"{doc.w(s)} ({s})"
    return _esc(s) if s else _DASH


def _input_value(doc: _Doc, name: str, v: Any) -> str:
    if isinstance(v, str) and v in ("missing", "undefined", "array"):
        return doc.w(v)
    return _value(doc, name, v)


def _mask_id(s: str) -> str:
    if len(s) <= 8:
        return "*" * len(s)
    return s[:4] + "*" * (len(s) - 8) + s[-4:]


def _action(doc: _Doc, action: Any, value: Any) -> str:
    a = str(action)
    v = _esc(value)
    if a == "grade":
        return f"设定等级 {v}（一票否决）" if doc.lang == "zh" else f"set grade {v} (knock-out)"
    if a == "cap":
        return f"等级上限 {v}" if doc.lang == "zh" else f"cap at {v}"
    if a == "floor":
        return f"等级下限 {v}" if doc.lang == "zh" else f"floor at {v}"
    if a == "notch" and _is_number(value):
        n = int(value)
        if doc.lang == "zh":
            return f"上调 {n} 级" if n >= 0 else f"下调 {-n} 级"
        return f"notch up {n}" if n >= 0 else f"notch down {-n}"
    return f"{_esc(a)} {v}"


# ------------------------------------------------------------------------------------------------
# Sections
# ------------------------------------------------------------------------------------------------

_PERSON_FIELDS = ("id_number", "age", "occupation", "employment_type", "employer", "employment_years",
                  "marital_status", "dependants", "housing", "residence_years", "education")
_IDENTITY_FIELDS = ("registration", "industry.section", "industry.division", "size", "years_in_business",
                    "employees", "ownership", "premises", "licence_valid")


def _flatten(m: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in m.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.extend(_flatten(v, key + "."))
        else:
            out.append((key, v))
    return out


def _identity_rows(doc: _Doc, section: Mapping[str, Any], known: Sequence[str], prefix: Pair | None = None
                   ) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    flat = dict(_flatten(section))
    pre = f"{_esc(doc.t(prefix))} · " if prefix else ""
    for key in list(known) + [k for k in flat if k not in known]:
        if key not in flat or flat[key] is None:
            continue
        v = flat[key]
        if key == "industry.section" and isinstance(v, str):
            name = _INDUSTRY_SECTIONS.get(v.upper())
            cell = f"{_esc(v)} {_esc(doc.t(name))}" if name else _esc(v)
        elif key == "id_number" and isinstance(v, str):
            cell = _esc(_mask_id(v))
        else:
            cell = _value(doc, key, v, money=False)
        rows.append((pre + _label(doc, key), cell))
    return rows


def _unit(doc: _Doc, view: _View) -> str:
    ctype = view.customer_type()
    if ctype == "corporate":
        return doc.note("unit_corporate")
    if ctype in ("individual", "small_business"):
        return doc.note("unit_retail")
    return ""


def _basics(doc: _Doc, view: _View) -> None:
    doc.section("basics")
    f = view.facts
    ctype = view.customer_type()
    rows: list[tuple[str, str]] = [
        (doc.w("customer_id"), _code(view.customer_id()) if view.customer_id() else doc.w("not_provided")),
        (doc.w("name"), _esc(f["name"]) if f.get("name") else doc.w("not_provided")),
        (doc.w("customer_type"), _value(doc, "customer_type", ctype) if ctype else doc.w("not_provided")),
    ]
    if f.get("as_of"):
        rows.append((doc.w("as_of"), _esc(f["as_of"])))
    if ctype == "small_business" or isinstance(f.get("owner"), Mapping):
        rows += _identity_rows(doc, _as_map(f.get("owner")), _PERSON_FIELDS, ("经营者", "Owner"))
    identity = _as_map(f.get("identity"))
    if ctype == "individual" or (ctype != "corporate" and "age" in identity):
        rows += _identity_rows(doc, identity, _PERSON_FIELDS)
    else:
        rows += _identity_rows(doc, identity, _IDENTITY_FIELDS)
    if f.get("exposure") is not None:
        rows.append((doc.w("exposure"), _value(doc, "exposure", f["exposure"])))
    doc.kv(rows)
    unit = _unit(doc, view)
    if unit and f.get("exposure") is not None:
        doc.para(_esc(unit))


def _operations(doc: _Doc, view: _View) -> None:
    doc.section("operations")
    doc.subsection("qual_scores")
    qual = [f for f in view.factors if view.is_qualitative(f)]
    if qual:
        rows = []
        for f in qual:
            levels = ", ".join(f"{_esc(a.get('level'))} ({_esc(a.get('assessor') or _DASH)})"
                               for a in _as_list(f.get("assessments")) if isinstance(a, Mapping))
            rows.append([_factor_label(doc, f), _esc(view.group_title(doc, str(f.get("group", "")))),
                         levels or doc.w("missing"), fmt_fixed(f.get("points"), 2), _code(f.get("basis", "")),
                         _code(f.get("at", ""))])
        doc.table([doc.w("factor"), doc.w("group"), doc.w("levels"), doc.w("points"), doc.w("basis"),
                   doc.w("location")], rows, "lllrll")
    else:
        doc.para(doc.note("no_qual_factors"))
    doc.subsection("assessments")
    entries = [a for a in _as_list(view.facts.get("assessments")) if isinstance(a, Mapping)]
    if entries:
        doc.table([doc.w("factor"), doc.w("assessor"), doc.w("level"), doc.w("date"), doc.w("comment")],
                  [[_code(a.get("factor", "")), _esc(a.get("assessor") or _DASH), _esc(a.get("level", _DASH)),
                    _esc(a.get("date") or _DASH), _esc(a.get("comment") or _DASH)] for a in entries], "llrll")
    else:
        doc.para(doc.note("no_assessments"))


def _financial(doc: _Doc, view: _View, shown: set[str]) -> None:
    doc.section("financial")
    doc.subsection("metrics")
    if view.metrics:
        rows = []
        for mid, row in view.metrics.items():
            row = _as_map(row)
            status = str(row.get("status") or "")
            value = fmt_fixed(row.get("value"), int(row.get("precision") or 0)) if status == "ok" else _DASH
            inputs = "; ".join(f"{_code(name)} = {_input_value(doc, name, v)}"
                               for name, v in _as_map(row.get("inputs")).items())
            rows.append([_metric_label(doc, view, str(mid), row), value, _status(doc, status), inputs or _DASH,
                         _code(row.get("expr", "")), _code(row.get("at", ""))])
        doc.table([doc.w("indicator"), doc.w("number"), doc.w("status"), doc.w("inputs"), doc.w("expression"),
                   doc.w("location")], rows, "lrllll")
    else:
        doc.para(doc.note("no_metrics"))

    doc.subsection("statements")
    f = view.facts
    unit = _unit(doc, view)
    wrote = False
    fin = _as_map(f.get("financials"))
    if fin:
        shown.add("financials")
        cur, prev = _as_map(fin.get("current")), _as_map(fin.get("previous"))
        keys = list(cur) + [k for k in prev if k not in cur]
        extra = [k for k in fin if k not in ("current", "previous")]
        rows = []
        for k in keys:
            a, b = cur.get(k), prev.get(k)
            change = _DASH
            if _is_number(a) and _is_number(b) and k not in ("statement_date", "audited"):
                change = fmt_money(float(_dec(a) - _dec(b)))
            cell_a = _value(doc, k, a, money=True) if k in cur else _DASH
            cell_b = _value(doc, k, b, money=True) if k in prev else _DASH
            rows.append([_label(doc, k), cell_a, cell_b, change])
        if rows:
            doc.table([doc.w("item"), doc.w("current"), doc.w("previous"), doc.w("change")], rows, "lrrr")
            wrote = True
        if extra:
            doc.kv([(_label(doc, k), _value(doc, k, v)) for k, v in _flatten({k: fin[k] for k in extra})])
            wrote = True
    rows2 = []
    for section, pair in _STATEMENT_SECTIONS.items():
        data = _as_map(f.get(section))
        if not data:
            continue
        shown.add(section)
        for key, v in _flatten(data):
            rows2.append([_esc(doc.t(pair)), _label(doc, f"{section}.{key}"), _value(doc, key, v)])
    if rows2:
        doc.table([doc.w("category"), doc.w("item"), doc.w("amount")], rows2, "llr")
        wrote = True
    if wrote:
        if unit:
            doc.para(_esc(unit))
    else:
        doc.para(doc.note("no_statements"))

    handled = {"customer_type", "id", "name", "as_of", "identity", "owner", "exposure", "assessments", "credit",
               "collateral", "guarantees", "support"} | shown
    leftover = {k: v for k, v in f.items() if k not in handled}
    if leftover:
        doc.subsection("other_facts")
        doc.table([doc.w("path"), doc.w("value")],
                  [[_code(k), _value(doc, k, v)] for k, v in _flatten(leftover)], "lr")


def _repayment(doc: _Doc, view: _View) -> None:
    doc.section("repayment")
    doc.subsection("solvency")
    solvent_groups = {str(g.get("id")) for g in view.groups
                      if _SOLVENCY_GROUP.search(f"{g.get('id')} {_compact_json(g.get('title'))}")}
    rows = []
    for mid, row in view.metrics.items():
        row = _as_map(row)
        fid = view.metric_factor.get(str(mid), "")
        if view.group_of.get(fid) in solvent_groups or (not solvent_groups and _SOLVENCY_METRIC.search(str(mid))):
            factor = next((f for f in view.factors if str(f.get("id")) == fid), {})
            status = str(row.get("status") or "")
            value = fmt_fixed(row.get("value"), int(row.get("precision") or 0)) if status == "ok" else _status(
                doc, status)
            rows.append([_metric_label(doc, view, str(mid), row), value,
                         fmt_fixed(factor.get("points"), 2) if factor else _DASH,
                         _code(factor.get("basis", "")) if factor else _DASH])
    if rows:
        doc.table([doc.w("indicator"), doc.w("number"), doc.w("points"), doc.w("basis")], rows, "lrrl")
    else:
        doc.para(doc.note("no_solvency"))

    doc.subsection("credit")
    credit = _as_map(view.facts.get("credit"))
    keys = list(_CORE_CREDIT) + [k for k in credit if k not in _CORE_CREDIT]
    doc.table([doc.w("item"), doc.w("value")],
              [[_label(doc, k), _value(doc, k, credit.get(k), money=False)] for k in keys], "lr")

    doc.subsection("security")
    f = view.facts
    if "collateral" not in f and "guarantees" not in f and "support" not in f:
        doc.para(doc.note("no_security"))
        return
    items = [c for c in _as_list(f.get("collateral")) if isinstance(c, Mapping)]
    if items:
        rows = []
        total_value, total_net = Decimal(0), Decimal(0)
        for c in items:
            amount, haircut = c.get("value"), c.get("haircut")
            net: Any = None
            if _is_number(amount):
                total_value += _dec(amount)
                h = _dec(haircut) if _is_number(haircut) else Decimal(0)
                net_d = _dec(amount) * (1 - h)
                total_net += net_d
                net = float(net_d)
            rows.append([_value(doc, "collateral_type", c.get("type")) if c.get("type") else _DASH,
                         _esc(c.get("description") or _DASH), fmt_money(amount),
                         fmt_percent(haircut) if _is_number(haircut) else _DASH, fmt_money(net),
                         _esc(c.get("valuation_date") or _DASH), fmt_number(c.get("lien_rank"))])
        rows.append([f"**{doc.w('total_row')}**", "", fmt_money(float(total_value)), "", fmt_money(float(total_net)),
                     "", ""])
        doc.table([doc.w("type"), doc.w("description"), doc.w("appraised"), doc.w("haircut"), doc.w("net_value"),
                   doc.w("valuation_date"), doc.w("lien_rank")], rows, "llrrrlr")
    elif "collateral" in f:
        doc.para(f"{_esc(_SECTIONS['security'][0 if doc.lang == 'zh' else 1])}: {doc.w('unsecured')}")
    guarantees = [g for g in _as_list(f.get("guarantees")) if isinstance(g, Mapping)]
    if guarantees:
        doc.table([doc.w("guarantor"), doc.w("type"), doc.w("strength"), doc.w("amount"), doc.w("joint")],
                  [[_esc(g.get("guarantor") or _DASH),
                    _value(doc, "guarantee_type", g.get("type")) if g.get("type") else _DASH,
                    _value(doc, "strength", g.get("strength")) if g.get("strength") else _DASH,
                    fmt_money(g.get("amount")),
                    _value(doc, "joint", g.get("joint_and_several")) if g.get("joint_and_several") is not None
                    else _DASH] for g in guarantees], "lllrl")
    elif "guarantees" in f:
        doc.para(doc.note("no_guarantees"))
    support = _as_map(f.get("support"))
    if support:
        doc.kv([(_label(doc, k), _value(doc, k, v)) for k, v in _flatten(support)])
    unit = _unit(doc, view)
    if unit and (items or guarantees):
        doc.para(_esc(unit))


def _scores(doc: _Doc, view: _View) -> None:
    doc.section("scores")
    if view.factors:
        rows = [[_factor_label(doc, f), _esc(view.group_title(doc, str(f.get("group", "")))),
                 fmt_number(f.get("weight")), fmt_fixed(f.get("points"), 2), fmt_fixed(f.get("contribution"), 4),
                 _code(f.get("basis", "")), _code(f.get("rule", "")), _code(f.get("at", ""))]
                for f in view.factors]
        doc.table([doc.w("factor"), doc.w("group"), doc.w("weight"), doc.w("points"), doc.w("contribution"),
                   doc.w("basis"), doc.w("rule"), doc.w("location")], rows, "llrrrlll")
    else:
        doc.para(doc.note("no_factors"))
    doc.subsection("groups")
    rows = [[f"{_esc(doc.pick(g.get('title'), str(g.get('id'))))} {_code(g.get('id'))}", fmt_number(g.get("weight")),
             fmt_fixed(g.get("subtotal"), 4), fmt_fixed(g.get("contribution"), 4)] for g in view.groups]
    rows.append([f"**{doc.w('total')}**", "", "", f"**{fmt_fixed(view.r.get('total'), 2)}**"])
    doc.table([doc.w("group"), doc.w("weight"), doc.w("subtotal"), doc.w("contribution")], rows, "lrrr")


def _overrides(doc: _Doc, view: _View) -> None:
    doc.section("overrides")
    if view.overrides:
        rows = []
        for o in view.overrides:
            values = "; ".join(f"{_code(k)} = {_input_value(doc, k, v)}" for k, v in _as_map(o.get("values")).items())
            applied = o.get("applied")
            rows.append([_code(o.get("id", "")), _code(o.get("when", "")), values or _DASH,
                         _action(doc, o.get("action"), o.get("value")), _esc(doc.pick(o.get("reason"), _DASH)),
                         _DASH if applied is None else (doc.w("yes") if applied else doc.w("no")),
                         _code(o.get("at", ""))])
        doc.table([doc.w("override"), doc.w("condition"), doc.w("matched_values"), doc.w("action"), doc.w("reason"),
                   doc.w("applied"), doc.w("location")], rows)
        note = view.combination_note()
        if note:
            doc.para(f"{doc.w('combination')}: {_code(note)}")
    else:
        doc.para(doc.note("no_overrides"))
    doc.para(doc.note("overrides_scope"))


def _experts(doc: _Doc, view: _View) -> None:
    doc.section("expert")
    if not view.experts:
        doc.para(doc.note("no_expert"))
        return
    doc.table([doc.w("time"), doc.w("reviewer"), doc.w("old_new"), doc.w("reason"), doc.w("approved_by")],
              [[_esc(e.get("at") or _DASH), _esc(e.get("reviewer") or _DASH),
                f"{_esc(e.get('old_grade') or _DASH)} → {_esc(e.get('new_grade') or _DASH)}",
                _esc(e.get("reason") or _DASH), _esc(e.get("approved_by") or _DASH)] for e in view.experts])


def _coarse_key(view: _View) -> str:
    """The A/B/C grade the meaning and the measures are keyed on: coarse grade if any, else the grade."""
    coarse = view.r.get("coarse_grade")
    return str(coarse) if coarse else str(view.r.get("final_grade") or "")


def _grade(doc: _Doc, view: _View) -> None:
    doc.section("grade")
    r = view.r
    meaning = view.meaning_row()
    title = doc.pick(_as_map(meaning.get("asserted")).get("title"))
    key = _coarse_key(view)
    rows = [
        (doc.w("final_grade"), f"**{_esc(r.get('final_grade') or _DASH)}**"),
        (doc.w("model_grade"), _esc(r.get("model_grade") or _DASH)),
        (doc.w("coarse_grade"), _esc(r.get("coarse_grade") or _DASH)),
        (doc.w("grade_title"), _esc(title) if title else _DASH),
        (doc.w("grade_meaning"), _esc(doc.t(_GRADE_MEANING[key])) if key in _GRADE_MEANING else _DASH),
        (doc.w("pd"), fmt_percent(r.get("pd"))),
        (doc.w("total"), fmt_fixed(r.get("total"), 2)),
    ]
    if meaning.get("at"):
        rows.append((doc.w("defined_at"), _code(meaning["at"])))
    if view.experts:
        last = view.experts[-1]
        rows.append((doc.w("expert_grade"), f"**{_esc(last.get('new_grade') or _DASH)}** "
                                            f"({_esc(last.get('at') or _DASH)}, {_esc(last.get('reviewer') or _DASH)})"))
    doc.kv(rows)
    doc.subsection("reasons")
    reasons = [c for c in _as_list(r.get("reason_codes")) if isinstance(c, Mapping)]
    if reasons:
        doc.table([doc.w("rank"), doc.w("factor"), doc.w("points"), doc.w("points_lost"), doc.w("basis")],
                  [[str(i), _factor_label(doc, c), fmt_fixed(c.get("points"), 2), fmt_fixed(c.get("points_lost"), 2),
                    _code(c.get("basis", ""))] for i, c in enumerate(reasons, 1)], "rlrrl")
    else:
        doc.para(doc.note("no_reasons"))


def _reason_measure(code: Mapping[str, Any]) -> Pair:
    basis = str(code.get("basis", ""))
    if basis.startswith("missing"):
        return _REASON_MISSING
    if basis.startswith("undefined"):
        return _REASON_UNDEFINED
    fid = str(code.get("factor", "")).lower()
    for keys, pair in _REASON_MEASURES:
        if any(k in fid for k in keys):
            return pair
    return _REASON_DEFAULT


def _measures(doc: _Doc, view: _View) -> None:
    doc.section("measures")
    doc.para(f"*{doc.note('measures_disclaimer')}*")
    key = _coarse_key(view)
    intro = ""
    if view.experts:
        expert = str(view.experts[-1].get("new_grade") or "")
        if expert in _GRADE_MEASURES:
            key, intro = expert, doc.note("expert_basis")
        elif expert != str(view.r.get("final_grade") or ""):
            intro = doc.note("expert_unmapped")
    if intro:
        doc.para(intro)
    items = [_esc(doc.t(m)) for m in _GRADE_MEASURES.get(key, [])] or [doc.note("no_grade_guidance")]
    grade_word = doc.w("level")
    doc.para(f"**{doc.note('measures_grade')}** ({grade_word} {_esc(key or _DASH)}):")
    doc.bullets(items)
    reasons = [c for c in _as_list(view.r.get("reason_codes")) if isinstance(c, Mapping)][:_TOP_REASONS]
    if reasons:
        doc.para(f"**{doc.note('measures_reasons')}**:")
        doc.table([doc.w("factor"), doc.w("points_lost"), doc.w("measure")],
                  [[_factor_label(doc, c), fmt_fixed(c.get("points_lost"), 2), _esc(doc.t(_reason_measure(c)))]
                   for c in reasons], "lrl")


def _provenance(doc: _Doc, view: _View) -> None:
    doc.section("provenance")
    r = view.r
    rb, eng, cust = _as_map(r.get("rulebook")), _as_map(r.get("engine")), _as_map(r.get("customer"))
    engine_text = ", ".join(_code(f"{k} {v}") for k, v in eng.items()) or _DASH
    doc.kv([
        (doc.w("rulebook_id"), _code(rb.get("id", ""))),
        (doc.w("rulebook_title"), _esc(doc.pick(rb.get("title"), _DASH))),
        (doc.w("version"), _code(rb.get("version", ""))),
        (doc.w("hash"), _code(rb.get("hash", ""))),
        (doc.w("file"), _code(rb.get("file", ""))),
        (doc.w("engine"), engine_text),
        (doc.w("customer_id"), _code(view.customer_id())),
        (doc.w("facts_hash"), _code(cust.get("facts_hash", ""))),
        (doc.w("evaluation"), _code(r.get("evaluation_id", ""))),
        (doc.w("evaluated_at"), _esc(r.get("evaluated_at") or _DASH)),
    ])
    doc.appendix("trace")
    if not view.trace:
        doc.para(doc.note("no_trace"))
        return
    doc.para(_esc(doc.note("trace_intro")))
    rows = [[_esc(row.get("seq", "")), _code(row.get("rule", "")), _esc(row.get("kind", "")), _code(row.get("at", "")),
             _code(_compact_json(row.get("matched"))), _code(_compact_json(row.get("asserted"))),
             _code(row.get("note", ""))] for row in view.trace]
    doc.table([doc.w("seq"), doc.w("rule"), doc.w("kind"), doc.w("at"), doc.w("matched"), doc.w("asserted"),
               doc.w("note")], rows, "rllllll")


def _header(doc: _Doc, view: _View) -> None:
    r = view.r
    doc.title("title")
    name = view.facts.get("name")
    cid = view.customer_id()
    who = f"{_esc(name)} ({_code(cid)})" if name else (_code(cid) if cid else _DASH)
    rb = _as_map(r.get("rulebook"))
    rb_text = f"{_esc(doc.pick(rb.get('title'), str(rb.get('id') or _DASH)))} ({_code(rb.get('id', ''))}, " \
              f"{'版本' if doc.lang == 'zh' else 'version'} {_code(rb.get('version', ''))})"
    doc.bullets([
        f"{doc.w('customer')}: {who}",
        f"{doc.w('evaluation')}: {_code(r.get('evaluation_id', ''))}",
        f"{doc.w('evaluated_at')}: {_esc(r.get('evaluated_at') or _DASH)}",
        f"{doc.w('rulebook')}: {rb_text}",
        f"**{doc.w('final_grade')}: {_esc(r.get('final_grade') or _DASH)}** · {doc.w('pd')} "
        f"{fmt_percent(r.get('pd'))} · {doc.w('total')} {fmt_fixed(r.get('total'), 2)}",
    ])


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}; got {lang!r}.")


def render_markdown(record: Mapping[str, Any], lang: str = "zh") -> str:
    """The justification report of a stored evaluation as GitHub-flavoured Markdown (deterministic)."""
    _check_lang(lang)
    if not isinstance(record, Mapping):
        raise TypeError(f"record must be a mapping; got {type(record).__name__}.")
    doc, view = _Doc(lang), _View(record)
    _header(doc, view)
    _basics(doc, view)
    _operations(doc, view)
    shown: set[str] = set()
    _financial(doc, view, shown)
    _repayment(doc, view)
    _scores(doc, view)
    _overrides(doc, view)
    _experts(doc, view)
    _grade(doc, view)
    _measures(doc, view)
    _provenance(doc, view)
    return doc.text()


# ------------------------------------------------------------------------------------------------
# HTML
# ------------------------------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light; }
body {
  font-family: "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC",
    "WenQuanYi Micro Hei", "Heiti SC", SimSun, "Helvetica Neue", Arial, sans-serif;
  font-size: 14px; line-height: 1.55; color: #111; background: #fff; margin: 0;
}
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px; }
h1 { font-size: 1.6em; border-bottom: 2px solid #333; padding-bottom: .3em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #999; padding-bottom: .2em; margin-top: 1.8em; }
h3 { font-size: 1.05em; margin-top: 1.3em; }
table { border-collapse: collapse; width: 100%; margin: .6em 0 1em; font-size: .92em; }
th, td { border: 1px solid #bbb; padding: 4px 7px; vertical-align: top; text-align: left; }
th { background: #eee; }
td { overflow-wrap: anywhere; }
tr:nth-child(even) td { background: #fafafa; }
code { font-family: "SFMono-Regular", Menlo, Consolas, "Liberation Mono", "Noto Sans Mono CJK SC", monospace;
  font-size: .9em; background: #f3f3f3; padding: 0 .2em; border-radius: 2px; }
em { color: #555; }
@page { size: A4; margin: 15mm 12mm; }
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  table { font-size: 8.5pt; }
  thead { display: table-header-group; }
  tr, td, th { break-inside: avoid; page-break-inside: avoid; }
  tr:nth-child(even) td { background: none; }
  code { background: none; }
}
""".strip()


def render_html(record: Mapping[str, Any], lang: str = "zh") -> str:
    """The same report as one self-contained HTML5 page: inline CSS, no scripts, no external resources."""
    text = render_markdown(record, lang)
    body = _markdown.markdown(text, extensions=["tables", "fenced_code"], output_format="html")
    facts = _as_map(record.get("facts"))
    cid = str(_as_map(record.get("customer")).get("id") or facts.get("id") or "")
    heading = _SECTIONS["title"][0 if lang == "zh" else 1]
    who = " ".join(str(x) for x in (facts.get("name"), cid) if x)
    page_title = " — ".join(str(p) for p in (heading, who, record.get("final_grade")) if p)
    return html_page(body, page_title, lang)


def html_page(body: str, title: str, lang: str) -> str:
    """One self-contained HTML5 page around a body made by `markdown`: inline CSS, no scripts."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n"
        f"<style>\n{_CSS}\n</style>\n"
        "</head>\n"
        "<body>\n"
        '<main class="report">\n'
        f"{body}\n"
        "</main>\n"
        "</body>\n"
        "</html>\n"
    )
