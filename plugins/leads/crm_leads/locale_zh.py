"""The leads plugin's messages in Chinese: English message id → translation (slots kept)."""

MESSAGES: dict[str, str] = {
    # record checks
    "a referral lead needs the referring customer's id": "转介绍线索需要填写转介绍客户的编号",
    "give at least one of phone, email or company": "电话、邮箱、公司至少填写一项",
    "cannot be cleared while the lead is {stage}": "线索处于 {stage} 阶段时不能清除",
    # the qualification panel
    "[b]Score {score}[/b] = budget {budget} + source {source} ({name}) + follow-ups {touches} "
    "({n} of {max})": (
        "[b]评分 {score}[/b] = 预算 {budget} + 来源 {source}（{name}）+ 跟进 {touches}（{n}/{max}）"
    ),
    "To qualify: {checks}": "评估条件：{checks}",
    "budget of {budget:,}": "预算达到 {budget:,}",
    "a call logged": "已记录电话跟进",
    "region": "地区",
    "Referred by": "转介绍人",
    "Converted to": "已转化为",
    "none": "无",
    # the conversion card
    "(none)": "（无）",
    "{source:<14} {converted:>4} of {leads:<5} [b]{rate:>4}[/b]": (
        "{source:<14} {converted:>4} / {leads:<5} [b]{rate:>4}[/b]"
    ),
    "leads": "线索",
}
